"""Hybrid retrieval over any store: dense and BM25 candidates, their scores fused
(`scoqa.retrieve.fusion.fuse`), duplicates collapsed."""
from __future__ import annotations

from dataclasses import dataclass

from ..analysis import Embeds, keyword_tokens
from ..index.protocol import REBUILD_HINT, ChunkStore, IndexUnavailable, StoredChunk
from ..records import Hit, Location
from ..text import as_read
from .fusion import Fusion, Mode, fuse, fusion_named, mode_named


@dataclass(frozen=True)
class RetrievalSettings:
    """`dense_weight` weighs cosine against max-normalised BM25 in "weighted" fusion. Weighted
    fusion and its weight were chosen on SciFact's train queries (eval/beir.py --tune):
    nDCG@10 0.738 at 0.75, against 0.717 for reciprocal-rank fusion."""

    mode: Mode = Mode.HYBRID
    fusion: Fusion = Fusion.WEIGHTED
    dense_weight: float = 0.75
    # Candidates each side (dense, BM25) before fusion: 100 is where SciFact's Recall@100 is
    # measured (0.9627, eval/beir.py); a deeper list costs a Milvus store a longer round trip.
    candidates: int = 100
    # A chunk is a copy of a kept one when this share of its sentences stands there: half keeps
    # a lightly edited copy together, and a passage quoting one sentence of another apart.
    duplicate_overlap: float = 0.5


class Retriever:
    """Ranked passages for a query from one store, with the embedding model that built it.
    Thread-safe as long as the store and the embedder are (both of scoqa's are)."""

    def __init__(self, index: ChunkStore, embedder: Embeds, settings: RetrievalSettings = RetrievalSettings()):
        """Raises IndexUnavailable when `embedder` is not the model the index was built with,
        and BadInput for an unknown mode or fusion in `settings`."""
        if embedder.model != index.model:
            raise IndexUnavailable(
                f"the index at {index.folder} was built with model {index.model!r}, not {embedder.model!r}; "
                f"{REBUILD_HINT} (or use the index's model)"
            )
        mode_named(settings.mode)
        fusion_named(settings.fusion)
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int = 5, mode: str | Mode | None = None) -> list[Hit]:
        """At most k hits for `query`, best first (by fused score, ties by chunk id), one per
        passage: a passage copied into several documents is returned once, where it ranks best,
        with its other places in `Hit.also_in`. `mode` (default: the settings') picks the scores
        that rank: "hybrid" fuses cosine and BM25 over the `candidates` best of each, "dense"
        and "bm25" use one. `Hit.dense` and `Hit.bm25` hold the scores that were computed
        (None when a mode computed none). Chunk offsets count code points of the document text.

        An empty index or a blank query gives no hits, as does a query of stop words only in
        "bm25" mode. k >= 1. The query is matched as a reader reads it, as the chunks are
        (`scoqa.analysis.search_text`). Raises BadInput for an unknown mode."""
        mode = mode_named(mode or self.settings.mode)
        n = len(self.index)
        query = as_read(query)
        if n == 0 or not query.strip():
            return []
        depth = min(n, max(self.settings.candidates, 2 * k))
        vector = self.embedder.embed([query])[0] if mode is not Mode.BM25 else None
        terms = keyword_tokens([query])[0] if mode is not Mode.DENSE else []
        dense = dict(self.index.dense_search(vector, depth)) if vector is not None else {}
        if mode is Mode.HYBRID:
            # One BM25 pass gives both the keyword candidates and the scores of the dense ones.
            bm25 = self.index.keyword_search(terms, depth, sorted(dense))
            dense.update(self.index.dense_scores(vector, sorted(set(bm25) - set(dense))))
            scores = fuse(dense, bm25, self.settings.fusion, self.settings.dense_weight)
        elif mode is Mode.BM25:
            bm25 = scores = self.index.keyword_search(terms, depth) if terms else {}
        else:
            bm25, scores = {}, dense
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
