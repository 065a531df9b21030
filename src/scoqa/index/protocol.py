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
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence

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
# The folder's layout and the Milvus schema; an index of another format is refused with
# REBUILD_HINT. Raise it with any change that an older scoqa could not read.
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
        """The spec for `kind` ("auto", "flat" or "ivf") over n chunks; raises ValueError for
        another kind."""
        if kind == "auto":
            kind = "flat" if n <= EXACT_LIMIT else "ivf"
        if kind == "flat":
            return DenseSpec("flat")
        if kind == "ivf":
            # FAISS's guidelines: about 4 * sqrt(n) lists, and at least 39 training vectors a
            # list (fewer and its k-means warns); eval/scale.py measured the recall this gives.
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
    """What retrieval, building and answering need of an index; `scoqa.index.folder.FolderStore`
    and `scoqa.index.milvus.MilvusStore` implement it, and must rank alike (the tests run the
    same scenarios on both).

    Chunks are named by `chunk_id` (24 hex digits). An id passed in is one this store returned
    (from a search, or `chunks`); what an id it does not hold does is stated per method. Offsets
    (`Chunk.start`, `Chunk.end`) count Unicode code points of `Document.text`. Scores: cosine
    (inner product of unit vectors, in [-1, 1]) for dense, BM25 (Lucene's variant, `BM25_PARAMS`;
    0.0 for a chunk holding none of the terms) for keywords. A store opened before a commit
    keeps answering from the index as it was; `commit` makes the next one.

    - `folder`: the index folder the user names (`--index`), wherever the data lives.
    - `manifest`: what the index was built with: "model" (name, dimension, window), "chunker",
      "reading", "root" (the folder the sources are relative to), "dense", "bm25", "format".
    - `catalog`: the last commit's `Changes.catalog` ({} for an index written before it).
    - `documents`: every indexed document (in no promised order); `by_source` maps source to it.
    """

    folder: Path
    manifest: dict
    catalog: dict
    documents: list[Document]
    by_source: dict[str, Document]

    @property
    def model(self) -> str:
        """The name of the embedding model that made the index's vectors."""
        ...

    def __len__(self) -> int:
        """How many chunks the index holds."""
        ...

    def count(self, sources: set[str]) -> int:
        """How many chunks the store holds for the documents of these sources (unknown sources
        count 0)."""
        ...

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k chunks (all, if fewer) most similar to `vector` (a unit vector of the index's
        dimension, float32), as (id, cosine), best first. An approximate ("ivf") index may miss
        some of the true k (recall@10 >= 0.95 at `DEFAULT_NPROBE`). k >= 1."""
        ...

    def keyword_search(self, terms: Sequence[str], k: int, ids: Sequence[str] = ()) -> dict[str, float]:
        """BM25 scores for `terms` (`scoqa.analysis.keyword_tokens` of the query), scored once:
        the k best-scoring chunks that hold any of the terms, and every chunk named in `ids`
        whatever its score, in one mapping from id to score, in no particular order. Which of
        several chunks tied at the k-th score are kept is unspecified. No terms give 0.0 for each
        of `ids` and nothing else. An id in `ids` that the store does not hold gets 0.0, as a
        chunk without the terms does (a BM25 index cannot tell them apart). k >= 1."""
        ...

    def dense_scores(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """The cosine of `vector` with each chunk of `ids`, by id (exact, whatever the dense index
        kind). Raises KeyError for an id the store does not hold."""
        ...

    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The stored chunks of `ids`, by id; ids the store does not hold are left out."""
        ...

    def commit(self, changes: Changes) -> None:
        """Apply one build's `Changes` atomically: a reader sees the old index or the new one,
        never a mixture, even if the process dies midway. Call inside `writing(folder)`. Raises
        IndexUnavailable when the store cannot take them (a Milvus collection of another
        dimension); OSError and the backend's own errors pass through, the old index intact."""
        ...


@dataclass(frozen=True)
class Backend:
    """One kind of store, as `scoqa.index.registry` knows it: a new backend is a module that
    defines one of these and one line in the registry's `BACKENDS`.

    A location names where an index's data lives: `scheme` alone or `scheme:DETAILS`
    ("folder", "milvus:PATH.db", "milvus://HOST:PORT/COLLECTION").

    - `forms`: the location's spellings, each with a note, for help and error messages.
    - `normalise(location)`: the location in its one canonical spelling (a path made absolute),
      None when it is no form of this backend; raises IndexUnavailable for a form with bad
      details (an address without a port).
    - `exists(folder, location)`: whether an index, perhaps damaged, is there; may raise
      IndexUnavailable when the location cannot be reached.
    - `built_with(folder, location)`: the embedding model the index there was built with,
      cheaply (without loading the index); None when there is none.
    - `open(folder, location)`: the index; raises IndexMissing when there is none, and
      IndexUnavailable when it is damaged, of another format, or unreachable.
    - `create(folder, location)`: a store for a first build or a rebuild, which drops every
      old chunk when it commits (`Changes.replace`); what was there stays readable until then.
    """

    scheme: str
    forms: tuple[str, ...]
    normalise: Callable[[str], str | None]
    exists: Callable[[Path, str], bool]
    built_with: Callable[[Path, str], str | None]
    open: Callable[[Path, str], ChunkStore]
    create: Callable[[Path, str], ChunkStore]


# A sentence shorter than this, normalised, is too common to mark a copy ("Read more.").
_FINGERPRINT_MIN_CHARS = 20


def _normalise(sentence: str) -> str:
    text = unicodedata.normalize("NFKC", as_read(sentence)).lower()
    return " ".join(re.findall(r"\w+", text))


def fingerprints(text: str) -> np.ndarray:
    """64-bit hashes of the normalised sentences of text: equal sentences in two documents
    (a copied article) give equal hashes, whatever the whitespace or punctuation."""
    hashes = []
    for start, end in sentences(text):
        norm = _normalise(text[start:end])
        if len(norm) >= _FINGERPRINT_MIN_CHARS:
            hashes.append(int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "little"))
    return np.array(sorted(set(hashes)), dtype=np.uint64)


def document_from_json(row: dict) -> Document:
    """A document as `document_to_json` wrote it (an index's documents)."""
    return Document(source=row["source"], text=row["text"], sha256=row["sha256"], date=row["date"],
                    title=row["title"], content=tuple(tuple(span) for span in row["content"]),
                    sections=tuple(tuple(section) for section in row.get("sections", ())),
                    pages=tuple(row.get("pages", ())), encoding=row.get("encoding"))


def document_to_json(doc: Document) -> str:
    """One line of JSON holding the whole document, its text as extracted."""
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
