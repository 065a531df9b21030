"""How the index scales: build throughput, memory, and search latency at 10k, 100k and 1M chunks.

Vectors are synthetic (unit vectors drawn around random cluster centres, as real embeddings
cluster by topic) and chunk texts are synthetic (Zipf-distributed words), so that sizes beyond
any corpus on this machine can be measured; the embedding model's own throughput is measured
separately on real text. For each size this writes a real index generation with
`scoqa.index.folder.write_generation` (FAISS + BM25 + files), opens it, and times single-query search:
exact (flat) against approximate (IVF), with the approximate index's recall@10 against exact,
and the full hybrid retriever (BM25 over every chunk + dense) with a fixed query vector.

With `--store milvus:PATH.db` (Milvus Lite) or `--store milvus://HOST:PORT/COLLECTION` the same
chunks go into Milvus through `scoqa.index.milvus.MilvusStore` instead: build rate (a full
`commit`), dense search p50/p95 and recall@10 of its IVF_FLAT index against exact search, and
the hybrid retriever over it (Milvus's own BM25 + dense).

    python eval/scale.py --sizes 10000 100000 1000000
    python eval/scale.py --sizes 10000 100000 --store milvus:/tmp/scale.db --skip-embedding
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from scoqa.index.folder import FolderStore, build_dense, write_generation
from scoqa.index.protocol import Changes, DenseSpec, NewChunk, chunk_id
from scoqa.ingest.chunk import ChunkSettings
from scoqa.records import Chunk, Document
from scoqa.retrieve import Retriever

DIM = 384
CHUNKS_PER_DOC = 10


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray, spread: float = 1.5) -> np.ndarray:
    """Unit vectors scattered around unit centres (cosine to their centre about 0.55, as topic
    neighbours in a real embedding space), in blocks to bound memory."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picks = rng.integers(0, len(centres), m)
        block = centres[picks] + spread * rng.standard_normal((m, DIM), dtype=np.float32) / np.sqrt(DIM)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_texts(n: int, rng: np.random.Generator, words: int = 40) -> list[str]:
    vocab = np.array([f"w{i}" for i in range(50_000)])
    ranks = np.minimum(rng.zipf(1.2, size=(n, words)) - 1, len(vocab) - 1)
    return [" ".join(row) + "." for row in vocab[ranks]]


class FixedVector:
    """Stands in for the embedding model so that search latency excludes query encoding."""

    model = "synthetic"

    def __init__(self) -> None:
        self.vector = None

    def embed(self, texts, progress=False):
        return self.vector[None, :]


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50) * 1000), float(np.percentile(samples, 95) * 1000)


def time_search(index, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - started)
        found.append(ids[0])
    return times, np.array(found)


def time_hybrid(store, queries: np.ndarray) -> list[float]:
    """Seconds per whole `Retriever.search` (BM25 over every chunk + dense), one query vector each."""
    stub = FixedVector()
    retriever = Retriever(store, stub)
    times = []
    for q in queries:
        stub.vector = q
        started = time.perf_counter()
        retriever.search("w1 w7 w42 w310 w2000", k=10)
        times.append(time.perf_counter() - started)
    return times


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def measure(n: int, queries_n: int, workdir: Path, rng: np.random.Generator) -> dict:
    vectors, queries, texts = synthetic_collection(n, queries_n, rng)
    split = synthetic_documents(texts)
    documents = [doc for doc, _ in split]
    rows = [(d, a, b) for d, (_, spans) in enumerate(split) for a, b in spans]
    prints = [np.zeros(0, np.uint64)] * len(rows)
    folder = workdir / f"index-{n}"
    spec = DenseSpec.choose("auto", n)
    manifest = synthetic_manifest(workdir) | {"documents": {}}
    gc.collect()
    started = time.perf_counter()
    write_generation(folder, manifest, documents, np.array(rows, dtype=np.int64), vectors, prints, spec, texts)
    build_s = time.perf_counter() - started
    del split, documents, texts, prints
    gc.collect()

    before = rss_mib()
    started = time.perf_counter()
    index = FolderStore.open(folder)
    load_s = time.perf_counter() - started
    loaded_mib = rss_mib() - before

    faiss.omp_set_num_threads(1)  # as FolderStore.dense_search searches: one query at a time
    exact = build_dense(vectors, DenseSpec("flat"))
    exact_t, truth = time_search(exact, queries)
    started = time.perf_counter()
    approx = build_dense(vectors, DenseSpec.choose("ivf", n))
    approx_build_s = time.perf_counter() - started
    sweep = {}
    for nprobe in (8, 16, 32, 64, 128):
        approx.nprobe = nprobe
        t, found = time_search(approx, queries)
        sweep[nprobe] = (recall(found, truth), *percentiles(t))

    hybrid_t = time_hybrid(index, queries[:100])
    shutil.rmtree(folder, ignore_errors=True)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return {"n": n, "dense": spec.kind, "build_s": build_s, "chunks_per_s": n / build_s, "load_s": load_s,
            "loaded_mib": loaded_mib, "exact": percentiles(exact_t), "approx_build_s": approx_build_s,
            "nlist": DenseSpec.choose("ivf", n).nlist, "sweep": sweep, "hybrid": percentiles(hybrid_t)}


def synthetic_documents(texts: list[str]) -> list[tuple[Document, list[tuple[int, int]]]]:
    """Ten texts a document, one per line, with each text's offsets: the chunks."""
    out = []
    for d in range(0, len(texts), CHUNKS_PER_DOC):
        parts = texts[d : d + CHUNKS_PER_DOC]
        text = "\n".join(parts)
        spans, offset = [], 0
        for part in parts:
            spans.append((offset, offset + len(part)))
            offset += len(part) + 1
        out.append((Document(f"doc{d // CHUNKS_PER_DOC}.txt", text, sha256=f"{d}", content=((0, len(text)),)), spans))
    return out


def synthetic_manifest(workdir: Path) -> dict:
    return {"model": {"name": "synthetic", "dimension": DIM, "window": 254},
            "chunker": ChunkSettings().to_dict(), "root": str(workdir)}


def synthetic_collection(n: int, queries_n: int, rng: np.random.Generator):
    """Clustered vectors, queries from the same clusters, and Zipf texts, ten chunks a document."""
    centres = rng.standard_normal((max(100, n // 200), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return clustered(n, rng, centres), clustered(queries_n, rng, centres), synthetic_texts(n, rng)


def milvus_location(location: str, n: int, workdir: Path) -> str:
    """A fresh place for each size: its own Lite file, or its own server collection."""
    if location.startswith("milvus://"):
        return f"{location.rstrip('/')}_{n}"
    path = Path(location[len("milvus:"):] or workdir / "scale.db")
    path = path.with_name(f"{path.stem}-{n}{path.suffix or '.db'}")
    shutil.rmtree(path, ignore_errors=True)  # Milvus Lite keeps a "file" as a folder
    path.unlink(missing_ok=True)
    return f"milvus:{path}"


def measure_milvus(n: int, queries_n: int, location: str, workdir: Path, rng: np.random.Generator) -> dict:
    from scoqa.index.milvus import MilvusStore

    vectors, queries, texts = synthetic_collection(n, queries_n, rng)
    split = synthetic_documents(texts)
    documents = [doc for doc, _ in split]
    chunks = [(doc, a, b) for doc, spans in split for a, b in spans]
    added = [NewChunk(chunk_id(doc, a, b), Chunk(doc, a, b), vector, (), doc.text[a:b])
             for (doc, a, b), vector in zip(chunks, vectors)]
    spec = DenseSpec.choose("ivf", n)
    manifest = synthetic_manifest(workdir)
    where = milvus_location(location, n, workdir)
    started = time.perf_counter()
    store = MilvusStore.create(workdir, where)
    store.commit(Changes(manifest, tuple(documents), tuple(added), spec, replace=True))
    build_s = time.perf_counter() - started
    store = MilvusStore.open(workdir, where)
    ids = [c.id for c in added]

    exact = build_dense(vectors, DenseSpec("flat"))
    _, truth = exact.search(queries, 10)
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        hits = store.dense_search(q, 10)
        times.append(time.perf_counter() - started)
        found.append([h for h, _ in hits])
    rec = float(np.mean([len(set(f) & {ids[i] for i in t}) / 10 for f, t in zip(found, truth)]))

    hybrid_t = time_hybrid(store, queries[:100])
    return {"n": n, "where": where, "build_s": build_s, "chunks_per_s": n / build_s, "nlist": spec.nlist,
            "nprobe": spec.nprobe, "dense": percentiles(times), "recall": rec, "hybrid": percentiles(hybrid_t)}


def real_recall(folder: Path, queries_n: int, rng: np.random.Generator) -> tuple[int, int, dict]:
    """IVF recall@10 against exact on a real index's vectors (synthetic clusters are easier than
    real embeddings). Queries are chunk vectors; each query's own chunk is left out."""
    vectors = np.ascontiguousarray(FolderStore.open(folder).matrix, dtype=np.float32)
    picks = rng.choice(len(vectors), min(queries_n, len(vectors)), replace=False)
    faiss.omp_set_num_threads(1)
    _, exact = build_dense(vectors, DenseSpec("flat")).search(vectors[picks], 11)
    spec = DenseSpec.choose("ivf", len(vectors))
    approx = build_dense(vectors, spec)
    sweep = {}
    for nprobe in (8, 16, 32, 64, 128):
        approx.nprobe = nprobe
        times, found = time_search(approx, vectors[picks], k=11)
        truth = [[i for i in row if i != q][:10] for row, q in zip(exact, picks)]
        got = [[i for i in row if i != q][:10] for row, q in zip(found, picks)]
        sweep[nprobe] = (recall(np.array(got), np.array(truth)), *percentiles(times))
    return len(vectors), spec.nlist, sweep


def embedding_throughput(seconds: float = 60.0) -> float:
    """Chunks per second through the real model, on real text (the seed corpus's chunks)."""
    from scoqa.index.build import build_index
    from scoqa.retrieve import Embedder

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder()
        build_index([corpus], Path(tmp) / "index", embedder, progress=False)
        index = FolderStore.open(Path(tmp) / "index")
        texts = [index.chunk(i).text for i in range(len(index))]
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        embedder.embed(texts)
        done += len(texts)
    return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "scoqa-scale")
    parser.add_argument("--skip-embedding", action="store_true", help="do not time the embedding model")
    parser.add_argument("--real", type=Path, help="also measure IVF recall on this index folder's real vectors")
    parser.add_argument("--store", default="", help="milvus:PATH.db or milvus://HOST:PORT/COLLECTION: measure Milvus")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.store:
        print("| chunks | Milvus | build (commit) | IVF_FLAT nlist, nprobe | dense p50/p95 ms | recall@10 vs exact "
              "| hybrid p50/p95 ms |")
        print("|---|---|---|---|---|---|---|")
        for n in args.sizes:
            r = measure_milvus(n, args.queries, args.store, args.workdir, rng)
            print(f"| {n:,} | {r['where']} | {r['build_s']:.1f}s ({r['chunks_per_s']:,.0f} chunks/s) | "
                  f"{r['nlist']}, {r['nprobe']} | {r['dense'][0]:.2f}/{r['dense'][1]:.2f} | {r['recall']:.3f} | "
                  f"{r['hybrid'][0]:.2f}/{r['hybrid'][1]:.2f} |")
            sys.stdout.flush()
        return 0
    if args.real:
        n, nlist, sweep = real_recall(args.real, args.queries, rng)
        print(f"real vectors ({args.real}, {n:,} chunks, IVF nlist {nlist}): nprobe: recall@10, p50/p95 ms: "
              + "; ".join(f"{p}: {rec:.3f}, {p50:.2f}/{p95:.2f}" for p, (rec, p50, p95) in sweep.items()))
    if not args.skip_embedding:
        print(f"embedding model (all-MiniLM-L6-v2, real seed chunks): {embedding_throughput():.1f} chunks/s")
    print("| chunks | index | write (FAISS+BM25+files) | open, RSS | exact p50/p95 ms | "
          "IVF nlist, build | IVF nprobe: recall@10, p50/p95 ms | hybrid p50/p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = measure(n, args.queries, args.workdir, rng)
        sweep = "; ".join(f"{p}: {rec:.3f}, {p50:.2f}/{p95:.2f}" for p, (rec, p50, p95) in r["sweep"].items())
        print(f"| {n:,} | {r['dense']} | {r['build_s']:.1f}s ({r['chunks_per_s']:,.0f} chunks/s) | "
              f"{r['load_s']:.1f}s, +{r['loaded_mib']:,.0f} MiB | {r['exact'][0]:.2f}/{r['exact'][1]:.2f} | "
              f"{r['nlist']}, {r['approx_build_s']:.1f}s | {sweep} | {r['hybrid'][0]:.2f}/{r['hybrid'][1]:.2f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
