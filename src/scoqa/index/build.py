"""Build or update an index from files: ingest -> chunk -> embed -> commit to its store.

Only new or changed documents (by content hash) are chunked and embedded again; documents no
longer among the files are dropped. The store (a folder, or Milvus) applies the changes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from ..ingest.chunk import Chunker, ChunkSettings, search_text
from ..ingest.formats import READING_VERSION, UnreadableFile, discover, read_document
from ..records import Chunk, Document
from ..retrieve.embed import Embeds
from .folder import FolderStore
from .protocol import (BM25_PARAMS, Changes, ChunkStore, DenseSpec, IndexMissing, IndexUnavailable, NewChunk, chunk_id,
                       fingerprints, writing)
from .registry import POINTER, open_store, point_to, store_location

# Only a web page can clean down to nothing: every non-blank line of a user's own text is content.
NOTHING_SEARCHABLE = "nothing searchable: only web page furniture (menus, link lists, widgets), no article text"


@dataclass
class BuildReport:
    folder: Path
    base: Path
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    rebuilt_because: str | None = None
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.documents - len(self.added) - len(self.changed)

    def summary(self) -> str:
        parts = [f"{self.documents} documents, {self.chunks} chunks in {self.folder}",
                 f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                 f"{self.unchanged} unchanged; {self.embedded} chunks embedded in {self.seconds:.1f}s"]
        if self.skipped:
            files = "; ".join(f"{source} ({reason})" for source, reason in self.skipped)
            parts.append(f"{len(self.skipped)} files skipped: {files}")
        return "; ".join(parts)


def _empty(folder: Path, location: str) -> ChunkStore:
    if location == "folder":
        return FolderStore.empty(folder)
    from .milvus import MilvusStore

    return MilvusStore.create(folder, location)


def _previous(folder: Path, location: str, model: str, settings: ChunkSettings, rebuild: bool,
              notify: Callable[[str], None]) -> tuple[ChunkStore | None, str | None]:
    """The existing index if its chunks and vectors can be reused, else why not."""
    exists = (folder / "CURRENT").exists() or (folder / POINTER).exists()
    if (store_location(folder) or "folder") != location:
        if exists:
            notify(f"moving the index to {location}; embedding everything")
        return None, "store changed" if exists else None
    if rebuild:
        return None, "rebuild requested" if exists else None
    try:
        old = open_store(folder)
    except IndexUnavailable as err:
        if not exists or isinstance(err, IndexMissing):
            return None, None
        notify(f"existing index unusable, rebuilding from scratch: {err}")
        return None, "existing index unusable"
    if old.model != model:
        notify(f"existing index was built with model {old.model!r}; re-embedding everything with {model!r}")
        return None, "model changed"
    if old.manifest.get("chunker") != settings.to_dict():
        notify("chunker settings changed; re-chunking and re-embedding everything")
        return None, "chunker settings changed"
    if old.manifest.get("reading", 1) != READING_VERSION:
        notify("files are read differently since this index was built; re-reading and re-embedding everything")
        return None, "reading changed"
    return old, None


def build_index(paths: Sequence[Path], folder: Path, embedder: Embeds, *,
                settings: ChunkSettings = ChunkSettings(), dense: str = "auto", rebuild: bool = False,
                base: Path | None = None, progress: bool = True, store: str | None = None,
                notify: Callable[[str], None] = lambda message: None) -> BuildReport:
    """Index exactly the readable files under `paths` into the index at `folder`.

    `store` says where the data lives (`scoqa.index.registry.normalise_location`); None keeps the
    index's present store (a new index: the folder). Sources are named relative to `base`
    (default: the paths' common folder). Raises FileNotFoundError for a missing path and
    IndexUnavailable if another process holds the folder's write lock."""
    started = time.perf_counter()
    folder = Path(folder)
    base, files = discover(paths, base)
    report = BuildReport(folder=folder, base=base)
    with writing(folder):
        location = store or store_location(folder) or "folder"
        old, report.rebuilt_because = _previous(folder, location, embedder.model, settings, rebuild, notify)
        reusable = {doc.source: doc for doc in old.documents} if old is not None else {}

        chunker = Chunker(settings, window_tokens=embedder.count_tokens, window=embedder.window)
        documents: list[Document] = []
        new_chunks: list[Chunk] = []
        for path in tqdm(files, desc="Reading", unit="file", disable=not progress, leave=False):
            try:
                doc, warning = read_document(path, base)
            except UnreadableFile as err:
                source = path.relative_to(base).as_posix()
                report.skipped.append((source, str(err)))
                notify(f"skipped {source}: {err}")
                continue
            if warning:
                report.warnings.append((doc.source, warning))
                notify(f"warning {doc.source}: {warning}")
            previous = reusable.get(doc.source)
            if previous is not None and previous.sha256 == doc.sha256:
                documents.append(previous)
                continue
            chunks = chunker.chunk(doc)
            if not chunks:
                report.skipped.append((doc.source, NOTHING_SEARCHABLE))
                notify(f"skipped {doc.source}: {NOTHING_SEARCHABLE}")
                continue
            (report.changed if previous is not None else report.added).append(doc.source)
            documents.append(doc)
            new_chunks += chunks
        kept = {doc.source for doc in documents}
        report.removed = sorted(source for source in reusable if source not in kept)
        n_rows = len(new_chunks) + (len(old) - old.count(set(report.changed) | set(report.removed))
                                    if old is not None else 0)
        spec = DenseSpec.choose(dense, n_rows)
        unchanged = old is not None and not (report.added or report.changed or report.removed)
        if unchanged and old.manifest["dense"] == spec.__dict__ and old.manifest.get("bm25") == BM25_PARAMS:
            report.documents, report.chunks = len(documents), len(old)
            report.seconds = time.perf_counter() - started
            return report

        texts = [search_text(c) for c in new_chunks]
        new_vectors = _embed(embedder, texts, progress)
        report.embedded = len(new_chunks)
        model = old.manifest["model"] if old is not None else {
            "name": embedder.model, "dimension": embedder.dimension, "window": embedder.window}
        added = tuple(NewChunk(chunk_id(c.document, c.start, c.end), c, vector, tuple(fingerprints(c.text).tolist()), text)
                      for c, vector, text in zip(new_chunks, new_vectors, texts))
        target = old if old is not None else _empty(folder, location)
        target.commit(Changes({"model": model, "chunker": settings.to_dict(), "reading": READING_VERSION,
                                       "root": str(base)},
                              tuple(documents), added, spec, replace=old is None))
        point_to(folder, None if location == "folder" else location)
    report.documents, report.chunks = len(documents), n_rows
    report.seconds = time.perf_counter() - started
    return report


def _embed(embedder: Embeds, texts: list[str], progress: bool, batch: int = 256) -> np.ndarray:
    """Embed in slices under one progress bar (the model's own bar restarts every call)."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc="Embedding", unit="chunk", disable=not progress or not texts) as bar:
        for start in range(0, len(texts), batch):
            out[start : start + batch] = embedder.embed(texts[start : start + batch])
            bar.update(min(batch, len(texts) - start))
    return out
