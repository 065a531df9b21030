"""Build or update an index from files: ingest -> chunk -> embed -> commit to its store.

Only new or changed documents (by content hash) are chunked and embedded again; documents no
longer among the files are dropped. The store (a folder, or Milvus) applies the changes.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Collection, Sequence

import numpy as np
from tqdm import tqdm

from ..analysis import Embeds, search_text
from ..ingest.chunk import Chunker, ChunkSettings
from ..ingest.formats import READING_VERSION, SUFFIXES, UnreadableFile, discover, read_document
from ..records import Chunk, Document
from .protocol import (BM25_PARAMS, Changes, ChunkStore, DenseSpec, IndexMissing, IndexUnavailable, NewChunk, chunk_id,
                       fingerprints, writing)
from .registry import create_store, index_exists, location_of, open_store, point_to

# Only a web page can clean down to nothing: every non-blank line of a user's own text is content.
NOTHING_SEARCHABLE = "nothing searchable: only web page furniture (menus, link lists, widgets), no article text"
Progress = Callable[[str, int, int], None]  # (stage, done, total): "Reading" files, "Embedding" chunks


@dataclass
class BuildReport:
    """What a build did: counts after it (`documents`, `chunks`), the chunks it embedded, the
    sources added, changed and removed (sorted), the files skipped or read with a warning (with
    why), why everything was rebuilt if it was, and the seconds it took."""

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
    settling: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    other_types: dict[str, int] = field(default_factory=dict)
    rebuilt_because: str | None = None
    seconds: float = 0.0
    committed: bool = False

    @property
    def unchanged(self) -> int:
        return self.documents - len(self.added) - len(self.changed)

    def summary(self) -> str:
        parts = [f"{self.documents} documents, {self.chunks} chunks in {self.folder}",
                 f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                 f"{self.unchanged} unchanged; {self.embedded} chunks embedded in {self.seconds:.1f}s"]
        if self.skipped:
            files = "; ".join(f"{source} ({reason})" for source, reason in self.skipped)
            parts.append(f"{len(self.skipped)} skipped: {files}")
        if self.other_types:
            count = sum(self.other_types.values())
            kinds = ", ".join(f"{suffix} {n}" for suffix, n in sorted(self.other_types.items()))
            parts.append(f"not read: {count} file{'s' if count > 1 else ''} of other types ({kinds}; scoqa reads "
                         f"{', '.join(sorted(SUFFIXES))})")
        if self.hidden:
            parts.append(f"not read, hidden: {', '.join(self.hidden)}")
        if self.settling:
            parts.append(f"{len(self.settling)} files still being written, left as they were: {', '.join(self.settling)}")
        return "; ".join(parts)

    def changes(self) -> str:
        """What this build changed in the index, for a person: "2 added, 1 removed: a.md, b.md; c.txt"
        (empty when nothing changed)."""
        counts = [f"{len(names)} {what}" for what, names in (("added", self.added), ("changed", self.changed),
                                                              ("removed", self.removed)) if names]
        names = "; ".join(", ".join(group) for group in (self.added, self.changed, self.removed) if group)
        return f"{', '.join(counts)}: {names}" if counts else ""


def _previous(folder: Path, location: str, model: str, settings: ChunkSettings, rebuild: bool,
              notify: Callable[[str], None]) -> tuple[ChunkStore | None, str | None]:
    """The existing index if its chunks and vectors can be reused, else why not."""
    try:
        current, exists = location_of(folder), index_exists(folder)
    except IndexUnavailable:  # `STORE` unreadable or its location unreachable: nothing there is reused
        current, exists = None, True
    if current != location:
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
                notify: Callable[[str], None] = lambda message: None, on_progress: Progress | None = None,
                settle: float = 0.0, complete: Collection[Path] = ()) -> BuildReport:
    """Index exactly the readable files under `paths` into the index at `folder`, and report it.

    Only new or changed files (by content hash) are chunked and embedded; the rest keep their
    chunks and vectors, unless the model, the chunker settings or the way files are read
    changed, or `rebuild`, which re-embed everything. `store` says where the data lives (a
    location `scoqa.index.registry.normalise_location` returned); None keeps the index's present
    store (a new index: the folder); another moves the index there, embedding everything.
    `dense`: "auto", "flat" or "ivf" (`DenseSpec.choose`). Sources are named relative to `base`
    (default: the paths' common folder). A file whose bytes are those already indexed is not
    read again; a file that cannot be read is skipped with its reason, and the build goes on.
    With `settle` > 0 (seconds), a file modified more recently than that, or while it was read,
    is taken to be still being written: it stays as it was indexed (or out, if new) and is
    named in `report.settling`, for the next build to take; files in `complete` (placed whole
    by one atomic rename) are exempt. The index records the paths, when each document was
    indexed and each skipped file with its reason (`scoqa.index.catalog`). Readers of the index
    see the old one until the new one is complete.

    Raises FileNotFoundError for a missing path, ValueError for a path outside `base` or an
    unknown `dense`, and IndexUnavailable if another process holds the folder's write lock or
    the store cannot be reached or written."""
    started = time.perf_counter()
    folder = Path(folder)
    found = discover(paths, base)
    base, files = found.base, found.files
    report = BuildReport(folder=folder, base=base, hidden=[_relative(p, base) for p in found.hidden],
                         other_types=dict(found.other_types))
    for path, reason in found.skipped:
        report.skipped.append((_relative(path, base), reason))
        notify(f"skipped {_relative(path, base)}: {reason}")
    complete = {Path(p).resolve() for p in complete}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with writing(folder):
        location = store or location_of(folder)
        old, report.rebuilt_because = _previous(folder, location, embedder.model, settings, rebuild, notify)
        reusable = {doc.source: doc for doc in old.documents} if old is not None else {}
        old_catalog = old.catalog if old is not None else {}
        old_entries, old_skipped = old_catalog.get("documents", {}), old_catalog.get("skipped", {})

        chunker = Chunker(settings, window_tokens=embedder.count_tokens, window=embedder.window)
        documents: list[Document] = []
        entries: dict[str, dict] = {}
        skipped: dict[str, dict] = {source: {"reason": reason, "sha256": None} for source, reason in report.skipped}
        new_chunks: list[Chunk] = []
        for n, path in enumerate(tqdm(files, desc="Reading", unit="file", disable=not progress, leave=False)):
            if on_progress is not None:
                on_progress("Reading", n, len(files))
            source = path.relative_to(base).as_posix()
            previous, was_skipped = reusable.get(source), old_skipped.get(source)
            data = _settled_bytes(path, settle) if settle > 0 and path not in complete else _bytes(path)
            if data is None:
                report.settling.append(source)
                if previous is not None:
                    documents.append(previous)
                    entries[source] = dict(old_entries.get(source, {}))
                elif was_skipped is not None:
                    skipped[source] = was_skipped
                continue
            doc, warning, reason = None, None, None
            digest = hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else None
            if isinstance(data, UnreadableFile):
                reason = str(data)
            elif previous is not None and previous.sha256 == digest:
                documents.append(previous)  # the same bytes: not read again
                entries[source] = dict(old_entries.get(source) or {"indexed": None})
                if warning := entries[source].get("warning"):
                    report.warnings.append((source, warning))
                continue
            elif was_skipped is not None and was_skipped.get("sha256") == digest:
                reason = was_skipped["reason"]
            else:
                try:
                    doc, warning = read_document(path, base, data)
                except UnreadableFile as err:
                    reason = str(err)
            chunks = chunker.chunk(doc) if doc is not None else []
            if doc is not None and not chunks:
                reason = NOTHING_SEARCHABLE
            if reason is not None:
                report.skipped.append((source, reason))
                skipped[source] = {"reason": reason, "sha256": digest}
                notify(f"skipped {source}: {reason}")
                continue
            if warning:
                report.warnings.append((doc.source, warning))
                notify(f"warning {doc.source}: {warning}")
            (report.changed if previous is not None else report.added).append(doc.source)
            documents.append(doc)
            entries[doc.source] = {"indexed": now, "passages": len(chunks), **({"warning": warning} if warning else {})}
            new_chunks += chunks
        if on_progress is not None:
            on_progress("Reading", len(files), len(files))
        kept = {doc.source for doc in documents}
        report.removed = sorted(source for source in reusable if source not in kept)
        n_rows = len(new_chunks) + (len(old) - old.count(set(report.changed) | set(report.removed))
                                    if old is not None else 0)
        spec = DenseSpec.choose(dense, n_rows)
        catalog = {"paths": [str(Path(p).resolve()) for p in paths], "documents": entries, "skipped": skipped}
        unchanged = old is not None and not (report.added or report.changed or report.removed)
        if (unchanged and old.manifest["dense"] == spec.__dict__ and old.manifest.get("bm25") == BM25_PARAMS
                and _same_catalog(old_catalog, catalog)):
            report.documents, report.chunks = len(documents), len(old)
            report.seconds = time.perf_counter() - started
            return report

        texts = [search_text(c) for c in new_chunks]
        new_vectors = _embed(embedder, texts, progress, on_progress)
        report.embedded = len(new_chunks)
        model = old.manifest["model"] if old is not None else {
            "name": embedder.model, "dimension": embedder.dimension, "window": embedder.window}
        added = tuple(NewChunk(chunk_id(c.document, c.start, c.end), c, vector, tuple(fingerprints(c.text).tolist()), text)
                      for c, vector, text in zip(new_chunks, new_vectors, texts))
        target = old if old is not None else create_store(folder, location)
        for doc in documents:  # an index written before the catalog: passages counted once
            if "passages" not in entries[doc.source] and old is not None:
                entries[doc.source]["passages"] = old.count({doc.source})
        target.commit(Changes({"model": model, "chunker": settings.to_dict(), "reading": READING_VERSION,
                                       "root": str(base)},
                              tuple(documents), added, spec, replace=old is None, catalog=catalog))
        point_to(folder, location)
        report.committed = True
    report.documents, report.chunks = len(documents), n_rows
    report.seconds = time.perf_counter() - started
    return report


def indexed_paths(index: ChunkStore) -> list[Path]:
    """The files and folders the index was built from (an index built before they were
    recorded: its root folder)."""
    return [Path(p) for p in index.catalog.get("paths") or [index.manifest["root"]]]


def reindex(index: ChunkStore, embedder: Embeds, *, extra: Sequence[Path] = (), settle: float = 0.0,
            complete: Collection[Path] = (), notify: Callable[[str], None] = lambda message: None,
            on_progress: Progress | None = None) -> BuildReport:
    """Build the index again from the paths it was built from, plus `extra` ones (an uploads
    folder), as `scoqa index` would: only what changed is read and embedded. A recorded path
    that no longer exists is left out (its documents are dropped)."""
    root = Path(index.manifest["root"])
    paths = [p for p in indexed_paths(index) if p.exists()]
    paths += [p for p in map(Path, extra) if not any(p.resolve().is_relative_to(q) for q in paths)]
    return build_index(paths, index.folder, embedder, base=root, progress=False, notify=notify,
                       on_progress=on_progress, settle=settle, complete=complete)


def _same_catalog(old: dict, new: dict) -> bool:
    """Whether a build changes nothing a catalog shows (times of unchanged documents are kept)."""
    return (old.get("paths") == new["paths"] and old.get("skipped") == new["skipped"]
            and {s: e.get("warning") for s, e in old.get("documents", {}).items()}
            == {s: e.get("warning") for s, e in new["documents"].items()}
            and all("passages" in e for e in new["documents"].values()))


def _bytes(path: Path) -> bytes | UnreadableFile:
    try:
        return path.read_bytes()
    except OSError as err:
        return UnreadableFile(f"cannot read: {err.strerror or err}")


def _settled_bytes(path: Path, settle: float) -> bytes | UnreadableFile | None:
    """The file's bytes, or None while it is still being written: modified less than `settle`
    seconds ago, or changed while it was read."""
    try:
        before = path.stat()
    except OSError as err:
        return UnreadableFile(f"cannot read: {err.strerror or err}")
    if time.time() - before.st_mtime < settle:
        return None
    data = _bytes(path)
    try:
        after = path.stat()
    except OSError:
        return None
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return None
    return data


def _relative(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _embed(embedder: Embeds, texts: list[str], progress: bool, on_progress: Progress | None = None,
           batch: int = 256) -> np.ndarray:
    """Embed in slices under one progress bar (the model's own bar restarts every call)."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc="Embedding", unit="chunk", disable=not progress or not texts) as bar:
        for start in range(0, len(texts), batch):
            if on_progress is not None:
                on_progress("Embedding", start, len(texts))
            out[start : start + batch] = embedder.embed(texts[start : start + batch])
            bar.update(min(batch, len(texts) - start))
    return out
