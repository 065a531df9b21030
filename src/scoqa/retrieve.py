"""Hybrid retrieval: dense (FAISS) and BM25 scores fused, duplicates collapsed."""
from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from .embed import Embeds
from .index import REBUILD_HINT, Index, IndexUnavailable, keyword_tokens
from .records import Hit, Passage

MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("weighted", "rrf")
RRF_K = 60


@dataclass(frozen=True)
class RetrievalSettings:
    """`dense_weight` weighs cosine against max-normalised BM25 in "weighted" fusion. Weighted
    fusion and its weight were chosen on SciFact's train queries (eval/beir.py --tune):
    nDCG@10 0.738 at 0.75, against 0.717 for reciprocal-rank fusion."""

    mode: str = "hybrid"
    fusion: str = "weighted"
    dense_weight: float = 0.75
    candidates: int = 100
    duplicate_overlap: float = 0.5


class Retriever:
    def __init__(self, index: Index, embedder: Embeds, settings: RetrievalSettings = RetrievalSettings()):
        if embedder.model != index.model:
            raise IndexUnavailable(
                f"the index at {index.folder} was built with model {index.model!r}, not {embedder.model!r}; "
                f"{REBUILD_HINT} (or use the index's model)"
            )
        if settings.mode not in MODES or settings.fusion not in FUSIONS:
            raise ValueError(f"mode must be one of {MODES}, fusion one of {FUSIONS}")
        self.index = index
        self.embedder = embedder
        self.settings = settings
        # One query at a time is faster on one thread: OpenMP's barrier costs more than it saves,
        # badly so when the other core is busy (measured: 0.3 ms against 28 ms for one query
        # over 10k vectors).
        faiss.omp_set_num_threads(1)

    def search(self, query: str, k: int = 5, mode: str | None = None) -> list[Hit]:
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        n = len(self.index)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(self.settings.candidates, 2 * k))
        vector = self.embedder.embed([query])[0] if mode != "bm25" else None
        dense = self._dense_scores(vector, depth) if vector is not None else {}
        bm25_all = self._bm25_scores(query) if mode != "dense" else None
        if bm25_all is not None:
            top = np.argpartition(-bm25_all, depth - 1)[:depth] if depth < n else np.arange(n)
            bm25 = {int(i): float(bm25_all[i]) for i in top if bm25_all[i] > 0}
        else:
            bm25 = {}
        if mode == "hybrid":
            ids = set(dense) | set(bm25)
            for i in ids - set(dense):
                dense[i] = float(self.index.vectors[i] @ vector)
            for i in ids - set(bm25):
                bm25[i] = float(bm25_all[i])
            scores = self._fuse(ids, dense, bm25)
        else:
            scores = dense if mode == "dense" else bm25
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        return self._collapse(ranked, scores, dense, bm25, k)

    def _dense_scores(self, vector: np.ndarray, depth: int) -> dict[int, float]:
        scores, ids = self.index.dense.search(vector[None, :].astype(np.float32), depth)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}

    def _bm25_scores(self, query: str) -> np.ndarray:
        tokens = keyword_tokens([query])[0]
        known = self.index.bm25.get_tokens_ids(tokens) if tokens else []
        if not known:
            return np.zeros(len(self.index), dtype=np.float32)
        return self.index.bm25.get_scores_from_ids(known)

    def _fuse(self, ids: set[int], dense: dict[int, float], bm25: dict[int, float]) -> dict[int, float]:
        if self.settings.fusion == "rrf":
            rank_dense = {i: r for r, i in enumerate(sorted(ids, key=lambda i: -dense[i]))}
            rank_bm25 = {i: r for r, i in enumerate(sorted(ids, key=lambda i: -bm25[i]))}
            return {i: 1 / (RRF_K + rank_dense[i]) + 1 / (RRF_K + rank_bm25[i]) for i in ids}
        top = max(bm25.values(), default=0.0) or 1.0
        w = self.settings.dense_weight
        return {i: w * dense[i] + (1 - w) * bm25[i] / top for i in ids}

    def _collapse(self, ranked: list[int], scores: dict[int, float], dense: dict[int, float],
                  bm25: dict[int, float], k: int) -> list[Hit]:
        """Keep the best-ranked copy of a passage that appears in several documents, and say
        where else it stands. A chunk is a copy when most of its sentences stand in a kept
        chunk of another document."""
        kept: list[int] = []
        owners: dict[int, list[int]] = {}  # sentence hash -> kept chunks holding it
        copies: dict[int, list[Passage]] = {}
        for i in ranked:
            chunk, fp = self.index.chunk(i), self.index.fingerprint(i)
            shared: dict[int, int] = {}
            for h in fp.tolist():
                for j in owners.get(h, ()):
                    shared[j] = shared.get(j, 0) + 1
            matches = [j for j, count in shared.items()
                       if count >= self.settings.duplicate_overlap * len(fp) and self.index.chunk(j).source != chunk.source]
            original = min(matches, key=kept.index) if matches else None
            if original is not None:
                copies.setdefault(original, []).append(Passage(chunk.source, chunk.start, chunk.end))
            elif len(kept) < k:
                kept.append(i)
                for h in fp.tolist():
                    owners.setdefault(h, []).append(i)
        return [Hit(self.index.chunk(i), scores[i], dense.get(i), bm25.get(i), tuple(copies.get(i, ())))
                for i in kept]
