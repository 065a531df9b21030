"""Retrieval modes, fusion kinds, and the fusion rule itself: one pure function over the dense
and keyword scores of the same candidates, shared by every store so that they rank alike."""
from __future__ import annotations

from enum import Enum
from typing import Mapping, TypeVar

from ..userinput import BadInput

K = TypeVar("K")
RRF_K = 60  # the constant of Cormack, Clarke and Büttcher's reciprocal-rank fusion (SIGIR 2009)


class Mode(str, Enum):
    """Which scores rank the passages."""

    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"


class Fusion(str, Enum):
    """How a hybrid search combines its two rankings."""

    WEIGHTED = "weighted"
    RRF = "rrf"


def names(choices: type[Enum]) -> list[str]:
    """The spelled-out values of an Enum, for argument parsers and radio buttons."""
    return [member.value for member in choices]


def mode_named(mode: str | Mode) -> Mode:
    """The Mode a name spells; raises BadInput naming the modes for any other value."""
    try:
        return Mode(mode)
    except ValueError:
        raise BadInput(f"unknown mode {mode!r} (choose from {', '.join(names(Mode))})"[:200]) from None


def fusion_named(fusion: str | Fusion) -> Fusion:
    """The Fusion a name spells; raises BadInput naming the kinds for any other value."""
    try:
        return Fusion(fusion)
    except ValueError:
        raise BadInput(f"unknown fusion {fusion!r} (choose from {', '.join(names(Fusion))})"[:200]) from None


def _ranks(scores: Mapping[K, float]) -> dict[K, int]:
    return {key: r for r, key in enumerate(sorted(scores, key=lambda key: (-scores[key], key)))}


def fuse(dense: Mapping[K, float], keyword: Mapping[K, float], fusion: Fusion, dense_weight: float) -> dict[K, float]:
    """One score per candidate, higher is better. Both mappings hold every candidate (else
    ValueError). "weighted": `dense_weight` * cosine + (1 - `dense_weight`) * BM25 divided by the
    best BM25 score (by 1 when none is above 0); "rrf": the sum of 1 / (RRF_K + rank) over both
    rankings, ranks from 0, ties broken by key."""
    if dense.keys() != keyword.keys():
        raise ValueError("dense and keyword scores must cover the same candidates")
    if Fusion(fusion) is Fusion.RRF:
        rank_dense, rank_keyword = _ranks(dense), _ranks(keyword)
        return {key: 1 / (RRF_K + rank_dense[key]) + 1 / (RRF_K + rank_keyword[key]) for key in dense}
    top = max(keyword.values(), default=0.0) or 1.0
    return {key: dense_weight * dense[key] + (1 - dense_weight) * keyword[key] / top for key in dense}
