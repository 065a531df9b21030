"""Hybrid retrieval over any store: dense and BM25 candidates, their scores fused
(`scoqa.retrieve.fusion.fuse`), duplicates collapsed."""
from __future__ import annotations

from dataclasses import dataclass

from ..index.protocol import REBUILD_HINT, ChunkStore, IndexUnavailable, StoredChunk, keyword_tokens
from ..records import Hit, Location
from ..text import as_read
from .embed import Embeds
from .fusion import Fusion, Mode, fuse, names


@dataclass(frozen=True)
class RetrievalSettings:
    """`dense_weight` weighs cosine against max-normalised BM25 in "weighted" fusion. Weighted
    fusion and its weight were chosen on SciFact's train queries (eval/beir.py --tune):
    nDCG@10 0.738 at 0.75, against 0.717 for reciprocal-rank fusion."""

    mode: Mode = Mode.HYBRID
    fusion: Fusion = Fusion.WEIGHTED
    dense_weight: float = 0.75
    candidates: int = 100
    duplicate_overlap: float = 0.5


def _mode(mode: str | Mode) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(names(Mode))})") from None


class Retriever:
    def __init__(self, index: ChunkStore, embedder: Embeds, settings: RetrievalSettings = RetrievalSettings()):
        if embedder.model != index.model:
            raise IndexUnavailable(
                f"the index at {index.folder} was built with model {index.model!r}, not {embedder.model!r}; "
                f"{REBUILD_HINT} (or use the index's model)"
            )
        _mode(settings.mode)
        Fusion(settings.fusion)
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int = 5, mode: str | Mode | None = None) -> list[Hit]:
        """The k best chunks for query, best first; the query is matched as a reader reads it,
        as the chunks are (`chunk.search_text`)."""
        mode = _mode(mode or self.settings.mode)
        n = len(self.index)
        query = as_read(query)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(self.settings.candidates, 2 * k))
        vector = self.embedder.embed([query])[0] if mode is not Mode.BM25 else None
        terms = keyword_tokens([query])[0] if mode is not Mode.DENSE else []
        dense = dict(self.index.dense_search(vector, depth)) if vector is not None else {}
        bm25 = {i: s for i, s in self.index.keyword_search(terms, depth) if s > 0} if terms else {}
        if mode is Mode.HYBRID:
            ids = set(dense) | set(bm25)
            dense.update(self.index.dense_scores(vector, sorted(ids - set(dense))))
            missing = sorted(ids - set(bm25))
            bm25.update(self.index.keyword_scores(terms, missing) if terms else dict.fromkeys(missing, 0.0))
            scores = fuse(dense, bm25, self.settings.fusion, self.settings.dense_weight)
        else:
            scores = dense if mode is Mode.DENSE else bm25
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        return self._collapse(ranked, scores, dense, bm25, k)

    def _collapse(self, ranked: list[str], scores: dict[str, float], dense: dict[str, float],
                  bm25: dict[str, float], k: int) -> list[Hit]:
        """Keep the best-ranked copy of a passage that appears in several documents, and say
        where else it stands. A chunk is a copy when most of its sentences stand in a kept
        chunk of another document."""
        stored: dict[str, StoredChunk] = self.index.chunks(ranked)
        kept: list[str] = []
        owners: dict[int, list[str]] = {}  # sentence hash -> kept chunks holding it
        copies: dict[str, list[Location]] = {}
        for i in ranked:
            chunk, fp = stored[i].chunk, stored[i].fingerprint
            shared: dict[str, int] = {}
            for h in fp:
                for j in owners.get(h, ()):
                    shared[j] = shared.get(j, 0) + 1
            matches = [j for j, count in shared.items()
                       if count >= self.settings.duplicate_overlap * len(fp) and stored[j].chunk.source != chunk.source]
            original = min(matches, key=kept.index) if matches else None
            if original is not None:
                copies.setdefault(original, []).append(Location(chunk.source, chunk.start, chunk.end))
            elif len(kept) < k:
                kept.append(i)
                for h in fp:
                    owners.setdefault(h, []).append(i)
        return [Hit(stored[i].chunk, scores[i], dense.get(i), bm25.get(i), tuple(copies.get(i, ())))
                for i in kept]
