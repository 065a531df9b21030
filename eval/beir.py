"""Retrieval benchmark on a BEIR dataset, through scoqa's own pipeline.

The corpus is written out as one text file per document (title line, then the text), indexed
with `scoqa.build.build_index`, and searched with `scoqa.retrieve.Retriever`; chunk scores are
pooled back to documents by their best chunk. Prints nDCG@10 and Recall@100 over the chosen
qrels split, index build time and queries per second, and writes a TREC run.

    python eval/beir.py --data ../shared/benchmarks/beir/scifact --mode hybrid --run runs/scifact-hybrid.trec
    python eval/beir.py --data ../shared/benchmarks/beir/scifact --tune      # fusion weights on train
    python eval/beir.py --data ../shared/benchmarks/beir/scifact --store milvus:runs/scifact.db

Chunk vectors are cached in runs/embeddings-MODEL.npz, keyed by the embedded text's sha256, so
the folder and Milvus runs embed once.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scoqa.index import normalise_location, open_store
from scoqa.index.build import build_index
from scoqa.ingest.chunk import ChunkSettings
from scoqa.retrieve import Retriever, RetrievalSettings
from scoqa.retrieve.embed import DEFAULT_MODEL, Embedder
from scoqa.retrieve.fusion import Fusion, Mode, names


class CachedEmbedder:
    """The embedder with a file of vectors it already made: (model, text sha256) -> vector."""

    def __init__(self, embedder: Embedder, path: Path):
        self.inner, self.path, self.model = embedder, path, embedder.model
        self.dimension, self.window, self.count_tokens = embedder.dimension, embedder.window, embedder.count_tokens
        self.cache: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                self.cache = dict(zip(data["keys"].tolist(), data["vectors"]))

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\0{text}".encode()).hexdigest()

    def embed(self, texts, progress=False):
        keys = [self._key(t) for t in texts]
        missing = [t for t, k in zip(texts, keys) if k not in self.cache]
        if missing:
            self.cache.update(zip([self._key(t) for t in missing], self.inner.embed(missing, progress)))
            if len(missing) > 1:  # chunks, not a query: keep them
                self.save()
        return np.stack([self.cache[k] for k in keys]) if keys else self.inner.embed([])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path.with_suffix(".tmp.npz"), keys=np.array(list(self.cache)),
                 vectors=np.stack(list(self.cache.values())))
        self.path.with_suffix(".tmp.npz").replace(self.path)


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def write_corpus(data: Path, folder: Path) -> int:
    """One file per BEIR document, named by its id; unchanged files are left alone so that
    re-indexing is incremental."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(data / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = "\n\n".join(part.strip() for part in (row.get("title", ""), row.get("text", "")) if part.strip())
            path = folder / f"{row['_id']}.txt"
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            n += 1
    return n


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranking[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def rank_documents(retriever: Retriever, query: str, mode: str, depth: int) -> list[tuple[str, float]]:
    """Documents by their best chunk's score."""
    best: dict[str, float] = {}
    for hit in retriever.search(query, k=depth, mode=mode):
        doc = Path(hit.chunk.source).stem
        best[doc] = max(best.get(doc, float("-inf")), hit.score)
    return sorted(best.items(), key=lambda item: -item[1])


def evaluate(retriever: Retriever, queries: dict[str, str], qrels: dict[str, dict[str, int]], mode: str,
             depth: int, progress: bool = True) -> tuple[dict[str, list[tuple[str, float]]], float, float, float]:
    runs, started = {}, time.perf_counter()
    for qid in tqdm(sorted(qrels), desc=f"Searching ({mode})", unit="query", disable=not progress, leave=False):
        runs[qid] = rank_documents(retriever, queries[qid], mode, depth)[:100]
    seconds = time.perf_counter() - started
    ndcg = sum(ndcg_at([d for d, _ in runs[q]], qrels[q]) for q in qrels) / len(qrels)
    recall = sum(recall_at([d for d, _ in runs[q]], qrels[q]) for q in qrels) / len(qrels)
    return runs, ndcg, recall, len(qrels) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--mode", choices=names(Mode), default=Mode.HYBRID.value)
    parser.add_argument("--fusion", choices=names(Fusion), default=RetrievalSettings.fusion.value)
    parser.add_argument("--store", default="folder", help="folder, milvus:PATH.db or milvus://HOST:PORT/COLLECTION")
    parser.add_argument("--cache", type=Path, help="embedding cache (default runs/embeddings-MODEL.npz)")
    parser.add_argument("--dense-weight", type=float, default=RetrievalSettings.dense_weight)
    parser.add_argument("--split", default="test", help="qrels split to score (default test)")
    parser.add_argument("--run", type=Path, help="write the TREC run here")
    parser.add_argument("--workdir", type=Path, default=Path(".scoqa/beir"), help="corpus files and index cache")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-tokens", type=int, default=ChunkSettings.max_tokens)
    parser.add_argument("--overlap-tokens", type=int, default=ChunkSettings.overlap_tokens)
    parser.add_argument("--depth", type=int, default=300, help="chunks retrieved per query before pooling")
    parser.add_argument("--tune", action="store_true",
                        help="compare fusions and dense weights on the train split, then score --split with the best")
    args = parser.parse_args()

    name = args.data.resolve().name
    docs_dir = args.workdir / name / "docs"
    settings = ChunkSettings(args.max_tokens, args.overlap_tokens)
    store = normalise_location(args.store)
    kind = "folder" if store == "folder" else "milvus"
    index_dir = args.workdir / name / f"index-{kind}-{Path(args.model).name}-{settings.max_tokens}-{settings.overlap_tokens}"
    n_docs = write_corpus(args.data, docs_dir)
    embedder = CachedEmbedder(Embedder(args.model), args.cache or Path("runs") / f"embeddings-{Path(args.model).name}.npz")
    report = build_index([docs_dir], index_dir, embedder, settings=settings, store=store,
                         notify=lambda m: tqdm.write(m, file=sys.stderr))
    index = open_store(index_dir)
    print(f"corpus: {n_docs} documents -> {len(index)} chunks ({report.embedded} embedded now, "
          f"build {report.seconds:.1f}s"
          + (f", {report.embedded / report.seconds:.1f} chunks/s)" if report.embedded else ", cached)"))

    queries = {}
    with open(args.data / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    retrieval = RetrievalSettings(fusion=args.fusion, dense_weight=args.dense_weight)
    if args.tune:
        train = load_qrels(args.data / "qrels" / "train.tsv")
        results = []
        for fusion, weight in [("rrf", 0.5)] + [("weighted", w / 100) for w in range(50, 95, 5)]:
            tuned = Retriever(index, embedder, replace(retrieval, fusion=fusion, dense_weight=weight))
            _, ndcg, recall, _ = evaluate(tuned, queries, train, "hybrid", args.depth, progress=False)
            results.append((ndcg, fusion, weight))
            print(f"train  fusion={fusion:8s} dense_weight={weight:.2f}  nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}")
        _, fusion, weight = max(results)
        print(f"best on train: fusion={fusion} dense_weight={weight:.2f}")
        retrieval = replace(retrieval, fusion=fusion, dense_weight=weight)

    qrels = load_qrels(args.data / "qrels" / f"{args.split}.tsv")
    retriever = Retriever(index, embedder, retrieval)
    runs, ndcg, recall, qps = evaluate(retriever, queries, qrels, args.mode, args.depth)
    if args.run:
        args.run.parent.mkdir(parents=True, exist_ok=True)
        with open(args.run, "w", encoding="utf-8") as fh:
            for qid, ranking in runs.items():
                for rank, (doc, score) in enumerate(ranking, 1):
                    fh.write(f"{qid} Q0 {doc} {rank} {score:.6f} scoqa-{args.mode}\n")
    fusion = f" fusion={Fusion(retrieval.fusion).value} dense_weight={retrieval.dense_weight}" if args.mode == "hybrid" else ""
    print(f"{name} {args.split} store={kind} mode={args.mode}{fusion} chunks={settings.max_tokens}/{settings.overlap_tokens}: "
          f"nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}  queries/s {qps:.1f}  ({len(qrels)} queries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
