"""The declared interface of an index, whatever holds it: a folder (FAISS + bm25s files,
`scoqa.index.folder`) or a Milvus collection (`scoqa.index.milvus`). Which one an index folder
uses is `scoqa.index.registry`'s to say.

Chunks are named by content (`chunk_id`), so an incremental build adds and removes only what
changed, in either store. A build hands the store one `Changes` and the store applies it
atomically: readers see the old index or the new one, never a mixture.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from ..errors import ScoqaError
from ..records import Chunk, Document
from ..text import as_read, sentences

EXACT_LIMIT = 200_000  # above this many chunks, "auto" chooses an approximate (IVF) index
DEFAULT_NPROBE = 128  # IVF recall@10 >= 0.95 at 1M chunks (eval/scale.py); 0.94 at 32
REBUILD_HINT = "rebuild it with: scoqa index --rebuild"
# Anserini's BM25 settings; on SciFact's train queries they beat bm25s's defaults (k1 1.5, b 0.75)
# inside the hybrid (nDCG@10 0.738 against 0.734; eval/beir.py).
BM25_PARAMS = {"k1": 0.9, "b": 0.4}
CATALOG = "catalog.json"  # a folder index's generation holds it; a Milvus index's folder
FORMAT_VERSION = 1
# What reading a damaged index raises (a truncated or garbled file, a missing part); anything
# else, a MemoryError say, is not damage and is not reported as such.
DAMAGE = (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError, EOFError)


class IndexUnavailable(ScoqaError):
    """The index cannot be used as it is; the message says why and how to fix it."""


class IndexMissing(IndexUnavailable):
    """There is no index yet where one was looked for."""


@dataclass(frozen=True)
class DenseSpec:
    """How the dense index is built: "flat" (exact) or "ivf" (approximate)."""

    kind: str
    nlist: int = 0
    nprobe: int = DEFAULT_NPROBE

    @staticmethod
    def choose(kind: str, n: int) -> "DenseSpec":
        if kind == "auto":
            kind = "flat" if n <= EXACT_LIMIT else "ivf"
        if kind == "flat":
            return DenseSpec("flat")
        if kind == "ivf":
            return DenseSpec("ivf", nlist=max(1, min(int(4 * np.sqrt(n)), n // 39)))
        raise ValueError(f"unknown dense index kind {kind!r} (auto, flat, ivf)")


def chunk_id(doc: Document, start: int, end: int) -> str:
    """A chunk's name from its content: the same passage of the same file keeps its id across
    builds; a changed file gets new ids. The source is part of it, so two copies of one file
    stay two chunks."""
    key = f"{doc.source}\0{doc.sha256}\0{start}\0{end}".encode()
    return hashlib.blake2b(key, digest_size=12).hexdigest()


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as a store holds it, with the sentence hashes that find its copies."""

    id: str
    chunk: Chunk
    fingerprint: tuple[int, ...]


@dataclass(frozen=True)
class NewChunk:
    """A chunk to add, with its vector and the text BM25 indexes."""

    id: str
    chunk: Chunk
    vector: np.ndarray
    fingerprint: tuple[int, ...]
    search_text: str


@dataclass(frozen=True)
class Changes:
    """One build's outcome. The store keeps its chunks of the `documents` whose content is
    unchanged (same source and hash), drops every other chunk, and adds `added`; with
    `replace`, it drops every old chunk. `catalog` is what the index tells a person about its
    files (`scoqa.index.catalog`): the paths it was built from, per document when it was indexed,
    its passages and any warning, and each skipped file with its reason."""

    manifest: dict  # model, chunker, root
    documents: tuple[Document, ...]
    added: tuple[NewChunk, ...]
    dense: DenseSpec
    replace: bool = False
    catalog: dict = field(default_factory=dict)


class ChunkStore(Protocol):
    """What retrieval, building and answering need of an index. Scores: cosine for dense,
    BM25 for keywords (the query as analysed terms, `keyword_tokens`)."""

    folder: Path  # the index folder the user names
    manifest: dict
    catalog: dict  # the last commit's `Changes.catalog` ({} for an index written before it)
    documents: list[Document]
    by_source: dict[str, Document]

    @property
    def model(self) -> str: ...

    def __len__(self) -> int: ...

    def count(self, sources: set[str]) -> int:
        """How many chunks the store holds for these documents."""
        ...

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def keyword_search(self, terms: Sequence[str], k: int) -> list[tuple[str, float]]: ...

    def dense_scores(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]: ...

    def keyword_scores(self, terms: Sequence[str], ids: Sequence[str]) -> dict[str, float]: ...

    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]: ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def commit(self, changes: Changes) -> None: ...


_STEMMERS = threading.local()


def _stemmer():
    """The English Snowball stemmer of this thread: a PyStemmer object may not be shared
    between threads, and the chat asks from several."""
    if not hasattr(_STEMMERS, "english"):
        import Stemmer

        _STEMMERS.english = Stemmer.Stemmer("english")
    return _STEMMERS.english


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """BM25 terms: lower-cased words without English stop words, Snowball-stemmed."""
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False,
                          show_progress=False)


def _normalise(sentence: str) -> str:
    text = unicodedata.normalize("NFKC", as_read(sentence)).lower()
    return " ".join(re.findall(r"\w+", text))


def fingerprints(text: str) -> np.ndarray:
    """64-bit hashes of the normalised sentences of text: equal sentences in two documents
    (a copied article) give equal hashes, whatever the whitespace or punctuation."""
    hashes = []
    for start, end in sentences(text):
        norm = _normalise(text[start:end])
        if len(norm) >= 20:
            hashes.append(int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "little"))
    return np.array(sorted(set(hashes)), dtype=np.uint64)


def document_from_json(row: dict) -> Document:
    return Document(source=row["source"], text=row["text"], sha256=row["sha256"], date=row["date"],
                    title=row["title"], content=tuple(tuple(span) for span in row["content"]),
                    sections=tuple(tuple(section) for section in row.get("sections", ())),
                    pages=tuple(row.get("pages", ())), encoding=row.get("encoding"))


def document_to_json(doc: Document) -> str:
    return json.dumps({"source": doc.source, "sha256": doc.sha256, "date": doc.date, "title": doc.title,
                       "content": doc.content, "sections": doc.sections, "pages": doc.pages,
                       "encoding": doc.encoding, "text": doc.text},
                      ensure_ascii=False)


def write_json(path: Path, value) -> None:
    """Write JSON to `path` whole or not at all (a temporary file, then one atomic rename)."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def read_json(path: Path, default):
    """The JSON at `path`, or `default` if there is none or it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


@contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Hold the index folder's write lock; a second writer is refused rather than interleaved."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexUnavailable(f"another scoqa process is writing the index at {folder}") from None
        yield
