"""The folder store: documents, chunks, vectors, a FAISS index and a BM25 index in one folder.

Layout: `INDEX/CURRENT` names a generation folder `gen-NNNNNN/` holding `manifest.json` and the
data files. A build writes a new generation beside the old one and then replaces `CURRENT` with
one atomic rename, so a crash or Ctrl-C mid-build leaves the previous index whole.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..analysis import keyword_tokens, search_text
from ..records import Chunk, Document
from .protocol import (BM25_PARAMS, CATALOG, DAMAGE, FORMAT_VERSION, REBUILD_HINT, Backend, Changes, DenseSpec,
                       IndexMissing, IndexUnavailable, StoredChunk, chunk_id, document_from_json, document_to_json,
                       read_json)

SCHEME = "folder"
POINTER_FILE = "CURRENT"  # names the generation readers see
WRITE_ROWS = 100_000  # vectors handed to FAISS at once: bounds the float32 copy (150 MB at 384-d)


def build_dense(vectors: np.ndarray, spec: DenseSpec):
    """A FAISS inner-product index over unit vectors (inner product = cosine)."""
    import faiss

    dim = vectors.shape[1]
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, spec.nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        # 64 training vectors a list: within FAISS's 39 to 256 (it warns below and samples down
        # above); more would only cost time.
        sample = vectors if len(vectors) <= 64 * spec.nlist else vectors[np.sort(rng.choice(len(vectors), 64 * spec.nlist, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = spec.nprobe
    for start in range(0, len(vectors), WRITE_ROWS):
        index.add(np.ascontiguousarray(vectors[start : start + WRITE_ROWS], dtype=np.float32))
    return index


@contextmanager
def _faiss_on_one_thread() -> Iterator[None]:
    """One query at a time is faster on one OpenMP thread: the barrier costs more than it saves,
    badly so when the other core is busy (measured: 0.3 ms against 28 ms for one query over 10k
    vectors). The setting is put back after the search: torch shares faiss's OpenMP runtime when
    it is imported first, and left at one thread the reader read on one core (measured on the
    gold set: `scoqa eval` latency p50 646 / p95 2,826 ms, against 362 / 1,571 ms on both)."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


class FolderStore:
    """A read-only view of one generation of an index folder; `commit` writes the next one.
    Implements `scoqa.index.protocol.ChunkStore`; rows are FAISS and BM25 positions, ids name chunks."""

    def __init__(self, folder: Path, manifest: dict, documents: list[Document], chunk_rows: np.ndarray,
                 vectors: np.ndarray, dense, bm25, fp_offsets: np.ndarray, fp_values: np.ndarray,
                 catalog: dict | None = None):
        self.folder = folder
        self.manifest = manifest
        self.catalog = catalog or {}
        self.documents = documents
        self.chunk_rows = chunk_rows
        self.matrix = vectors
        self.dense = dense
        self.bm25 = bm25
        self.fp_offsets = fp_offsets
        self.fp_values = fp_values
        self.by_source = {doc.source: doc for doc in documents}
        self.ids = [chunk_id(documents[d], int(start), int(end)) for d, start, end in chunk_rows]
        self.rows = {name: i for i, name in enumerate(self.ids)}

    @staticmethod
    def empty(folder: Path) -> "FolderStore":
        """No chunks yet: what the first build commits to."""
        return FolderStore(Path(folder), {}, [], np.zeros((0, 3), np.int64), np.zeros((0, 0), np.float32), None, None,
                     np.zeros(1, np.int64), np.zeros(0, np.uint64))

    def __len__(self) -> int:
        return len(self.chunk_rows)

    @property
    def model(self) -> str:
        return self.manifest["model"]["name"]

    def chunk(self, i: int) -> Chunk:
        """The chunk at row i (0 <= i < len(self)); raises IndexError beyond."""
        doc, start, end = self.chunk_rows[i]
        return Chunk(self.documents[doc], int(start), int(end))

    def fingerprint(self, i: int) -> np.ndarray:
        """The sorted sentence hashes (uint64) of the chunk at row i."""
        return self.fp_values[self.fp_offsets[i] : self.fp_offsets[i + 1]]

    def count(self, sources: set[str]) -> int:
        """`ChunkStore.count`."""
        wanted = [d for d, doc in enumerate(self.documents) if doc.source in sources]
        return int(np.isin(self.chunk_rows[:, 0], wanted).sum()) if wanted else 0

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """`ChunkStore.dense_search`: FAISS over every row, exact ("flat") or IVF with the
        manifest's nprobe."""
        with _faiss_on_one_thread():
            scores, rows = self.dense.search(vector[None, :].astype(np.float32), min(k, len(self)))
        return [(self.ids[i], float(s)) for i, s in zip(rows[0], scores[0]) if i >= 0]

    def _bm25_all(self, terms: Sequence[str]) -> np.ndarray:
        """The BM25 score of every chunk, by row: bm25s scores the whole vector at once."""
        known = self.bm25.get_tokens_ids(list(terms)) if terms and self.bm25 is not None else []
        return self.bm25.get_scores_from_ids(known) if known else np.zeros(len(self), dtype=np.float32)

    def keyword_search(self, terms: Sequence[str], k: int, ids: Sequence[str] = ()) -> dict[str, float]:
        """`ChunkStore.keyword_search`: bm25s scores every row once; the k best are taken from
        that vector unordered (argpartition), and the named ids read from it."""
        scores = self._bm25_all(terms)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(self) else np.arange(len(self))
        found = {self.ids[i]: float(scores[i]) for i in top if scores[i] > 0}
        found.update((name, float(scores[row]) if (row := self.rows.get(name)) is not None else 0.0) for name in ids)
        return found

    def dense_scores(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """`ChunkStore.dense_scores`, from the stored vectors (KeyError for an unknown id)."""
        rows = [self.rows[name] for name in ids]
        return dict(zip(ids, (np.asarray(self.matrix[rows]) @ vector).tolist()))

    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """`ChunkStore.chunks`: unknown ids are left out."""
        return {name: StoredChunk(name, self.chunk(i), tuple(self.fingerprint(i).tolist()))
                for name in ids if (i := self.rows.get(name)) is not None}

    def commit(self, changes: Changes) -> None:
        """Write the next generation: the kept rows with their vectors, then the added ones,
        document by document. Call inside `writing(folder)`."""
        old_rows: dict[str, list[int]] = {}
        for i, (d, _, _) in enumerate(self.chunk_rows):
            old_rows.setdefault(self.documents[d].source, []).append(i)
        added: dict[str, list] = {}
        for new in changes.added:
            added.setdefault(new.chunk.source, []).append(new)
        rows, prints, texts, matrix = [], [], [], []
        for d, doc in enumerate(changes.documents):
            held = self.by_source.get(doc.source)
            if not changes.replace and held is not None and held.sha256 == doc.sha256:
                for i in old_rows.get(doc.source, []):
                    chunk = self.chunk(i)
                    rows.append((d, chunk.start, chunk.end))
                    prints.append(self.fingerprint(i))
                    texts.append(search_text(chunk))
                    matrix.append(np.asarray(self.matrix[i], dtype=np.float32))
            else:
                for new in added.get(doc.source, []):
                    rows.append((d, new.chunk.start, new.chunk.end))
                    prints.append(np.array(new.fingerprint, dtype=np.uint64))
                    texts.append(new.search_text)
                    matrix.append(np.asarray(new.vector, dtype=np.float32))
        dimension = changes.manifest["model"]["dimension"]
        vectors = np.stack(matrix) if matrix else np.zeros((0, dimension), np.float32)
        manifest = dict(changes.manifest, documents={doc.source: doc.sha256 for doc in changes.documents})
        write_generation(self.folder, manifest, changes.documents, np.array(rows, dtype=np.int64).reshape(-1, 3),
                         vectors, prints, changes.dense, texts, changes.catalog)

    @staticmethod
    def open(folder: Path, location: str = SCHEME) -> "FolderStore":
        """The index at `folder` as `CURRENT` names it. Raises IndexMissing when there is none,
        IndexUnavailable when it is damaged or of another format."""
        folder = Path(folder)
        generation = current_generation(folder)
        if generation is None:
            raise IndexMissing(f"no index at {folder}; build one with: scoqa index [PATH ...]")
        try:
            return _load(generation)
        except IndexUnavailable:
            raise
        except DAMAGE as err:
            raise IndexUnavailable(f"the index at {folder} is damaged ({type(err).__name__}: {err}); {REBUILD_HINT}") from None


def current_generation(folder: Path) -> Path | None:
    """The generation folder `CURRENT` names; None without one. Raises IndexUnavailable when it
    names something else."""
    pointer = folder / POINTER_FILE
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not re.fullmatch(r"gen-\d{6}", name):
        raise IndexUnavailable(f"the index at {folder} is damaged (CURRENT names {name!r}); {REBUILD_HINT}")
    return folder / name


def _built_with(folder: Path, location: str) -> str | None:
    generation = current_generation(folder)
    return read_manifest(generation)["model"]["name"] if generation else None


def read_manifest(generation: Path) -> dict:
    """The manifest of a generation, after checking its format and every file's size. Raises
    IndexUnavailable when it is unreadable, of another format, or a file is missing or cut."""
    try:
        manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise IndexUnavailable(f"the index at {generation.parent} is damaged (manifest: {err}); {REBUILD_HINT}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexUnavailable(
            f"the index at {generation.parent} has format {manifest.get('format')!r}, this scoqa reads "
            f"format {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    for name, size in manifest["files"].items():
        path = generation / name
        if not path.is_file() or path.stat().st_size != size:
            raise IndexUnavailable(f"the index at {generation.parent} is damaged ({name} is missing or truncated); {REBUILD_HINT}")
    return manifest


def _load(generation: Path) -> FolderStore:
    import bm25s
    import faiss

    manifest = read_manifest(generation)
    with open(generation / "documents.jsonl", encoding="utf-8") as fh:
        documents = [document_from_json(json.loads(line)) for line in fh]
    chunk_rows = np.load(generation / "chunks.npy")
    vectors = np.load(generation / "vectors.npy", mmap_mode="r")
    fp_offsets = np.load(generation / "fingerprint_offsets.npy")
    fp_values = np.load(generation / "fingerprints.npy")
    n = manifest["chunks"]
    if not (len(chunk_rows) == len(vectors) == n == len(fp_offsets) - 1) or vectors.shape[1] != manifest["model"]["dimension"]:
        raise IndexUnavailable(f"the index at {generation.parent} is damaged (part sizes disagree); {REBUILD_HINT}")
    spec = DenseSpec(**manifest["dense"])
    if spec.kind == "flat":
        dense = build_dense(vectors, spec)
    else:
        dense = faiss.read_index(str(generation / "dense.faiss"))
        dense.nprobe = spec.nprobe
    bm25 = bm25s.BM25.load(str(generation / "bm25"), mmap=False) if n else None
    if bm25 is not None and bm25.scores["num_docs"] != n:
        raise IndexUnavailable(f"the index at {generation.parent} is damaged (BM25 size disagrees); {REBUILD_HINT}")
    catalog = read_json(generation / CATALOG, {})
    return FolderStore(generation.parent, manifest, documents, chunk_rows, vectors, dense, bm25, fp_offsets, fp_values,
                       catalog)


def write_generation(folder: Path, manifest: dict, documents: Sequence[Document], chunk_rows: np.ndarray,
                     vectors: np.ndarray, fingerprint_list: Sequence[np.ndarray], spec: DenseSpec,
                     search_texts: Sequence[str], catalog: dict | None = None) -> Path:
    """Write a complete new generation, then switch CURRENT to it and remove older ones.
    Call inside `writing(folder)`."""
    import bm25s
    import faiss

    numbers = [int(m.group(1)) for p in folder.glob("gen-*") if (m := re.fullmatch(r"gen-(\d{6})(?:\.tmp)?", p.name))]
    number = max(numbers, default=0) + 1
    final = folder / f"gen-{number:06d}"
    tmp = folder / f"gen-{number:06d}.tmp"
    for leftover in folder.glob("gen-*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as fh:
            for doc in documents:
                fh.write(document_to_json(doc) + "\n")
        np.save(tmp / "chunks.npy", chunk_rows.astype(np.int64))
        np.save(tmp / "vectors.npy", vectors.astype(np.float32))
        offsets = np.zeros(len(fingerprint_list) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(f) for f in fingerprint_list])
        np.save(tmp / "fingerprint_offsets.npy", offsets)
        values = np.concatenate(fingerprint_list) if fingerprint_list else np.zeros(0, np.uint64)
        np.save(tmp / "fingerprints.npy", values.astype(np.uint64))
        if spec.kind != "flat":
            faiss.write_index(build_dense(vectors, spec), str(tmp / "dense.faiss"))
        if catalog:
            (tmp / CATALOG).write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
        if len(search_texts):
            bm25 = bm25s.BM25(**BM25_PARAMS)
            bm25.index(keyword_tokens(search_texts), show_progress=False)
            bm25.save(str(tmp / "bm25"))
        manifest = dict(manifest, format=FORMAT_VERSION, chunks=len(chunk_rows), dense=spec.__dict__, bm25=BM25_PARAMS,
                        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        manifest["files"] = {
            p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        tmp.rename(final)
        pointer = folder / f"{POINTER_FILE}.tmp"
        pointer.write_text(final.name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, folder / POINTER_FILE)
        _fsync(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for stale in folder.glob("gen-*"):
        if stale != final:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync(path)
    _fsync(folder)


BACKEND = Backend(
    scheme=SCHEME,
    forms=("folder (in --index)",),
    normalise=lambda location: location if location == SCHEME else None,
    exists=lambda folder, location: (folder / POINTER_FILE).is_file(),
    built_with=_built_with,
    open=FolderStore.open,
    create=lambda folder, location: FolderStore.empty(folder),
)
