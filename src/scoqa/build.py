"""Build or update an index folder from files: ingest -> chunk -> embed -> write.

Only new or changed documents (by content hash) are chunked and embedded again; documents no
longer among the files are dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from .chunk import Chunker, ChunkSettings, search_text
from .embed import Embeds
from .index import BM25_PARAMS, DenseSpec, Index, IndexUnavailable, fingerprints, write_generation, writing
from .ingest import READING_VERSION, UnreadableFile, discover, read_document
from .records import Chunk, Document

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


def _previous(folder: Path, model: str, settings: ChunkSettings, rebuild: bool,
              notify: Callable[[str], None]) -> tuple[Index | None, str | None]:
    """The existing index if its chunks and vectors can be reused, else why not."""
    if rebuild:
        return None, "rebuild requested" if (folder / "CURRENT").exists() else None
    try:
        old = Index.open(folder)
    except IndexUnavailable as err:
        if not (folder / "CURRENT").exists():
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
                base: Path | None = None, progress: bool = True,
                notify: Callable[[str], None] = lambda message: None) -> BuildReport:
    """Index exactly the readable files under `paths` into `folder`.

    Sources are named relative to `base` (default: the paths' common folder). Raises
    FileNotFoundError for a missing path and IndexUnavailable if another process holds
    the folder's write lock."""
    started = time.perf_counter()
    folder = Path(folder)
    base, files = discover(paths, base)
    report = BuildReport(folder=folder, base=base)
    with writing(folder):
        old, report.rebuilt_because = _previous(folder, embedder.model, settings, rebuild, notify)
        reusable: dict[str, tuple[Document, list[int]]] = {}
        if old is not None:
            by_doc: dict[int, list[int]] = {}
            for i, doc in enumerate(old.chunk_rows[:, 0]):
                by_doc.setdefault(int(doc), []).append(i)
            for d, doc in enumerate(old.documents):
                reusable[doc.source] = (doc, by_doc.get(d, []))

        chunker = Chunker(settings, window_tokens=embedder.count_tokens, window=embedder.window)
        documents: list[Document] = []
        doc_chunks: list[list[Chunk] | list[int]] = []  # new Chunks, or row numbers in `old`
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
            if previous is not None and previous[0].sha256 == doc.sha256:
                documents.append(previous[0])
                doc_chunks.append(previous[1])
                continue
            chunks = chunker.chunk(doc)
            if not chunks:
                report.skipped.append((doc.source, NOTHING_SEARCHABLE))
                notify(f"skipped {doc.source}: {NOTHING_SEARCHABLE}")
                continue
            (report.changed if previous is not None else report.added).append(doc.source)
            documents.append(doc)
            doc_chunks.append(chunks)
        kept = {doc.source for doc in documents}
        report.removed = sorted(source for source in reusable if source not in kept)
        n_rows = sum(len(group) for group in doc_chunks)
        spec = DenseSpec.choose(dense, n_rows)
        unchanged = old is not None and not (report.added or report.changed or report.removed)
        if unchanged and old.manifest["dense"] == spec.__dict__ and old.manifest.get("bm25") == BM25_PARAMS:
            report.documents, report.chunks = len(documents), len(old)
            report.seconds = time.perf_counter() - started
            return report

        new_chunks = [c for group in doc_chunks if group and isinstance(group[0], Chunk) for c in group]
        new_vectors = _embed(embedder, [search_text(c) for c in new_chunks], progress)
        report.embedded = len(new_chunks)
        model = old.manifest["model"] if old is not None else {
            "name": embedder.model, "dimension": embedder.dimension, "window": embedder.window}

        rows, prints, texts = [], [], []
        matrix = np.zeros((n_rows, model["dimension"]), dtype=np.float32)
        next_new = 0
        for d, group in enumerate(doc_chunks):
            for item in group:
                if isinstance(item, Chunk):
                    chunk, matrix[len(rows)] = item, new_vectors[next_new]
                    next_new += 1
                    fp = fingerprints(chunk.text)
                else:
                    chunk, matrix[len(rows)], fp = old.chunk(item), old.vectors[item], old.fingerprint(item)
                rows.append((d, chunk.start, chunk.end))
                prints.append(fp)
                texts.append(search_text(chunk))
        manifest = {"model": model, "chunker": settings.to_dict(), "reading": READING_VERSION, "root": str(base),
                    "documents": {doc.source: doc.sha256 for doc in documents}}
        write_generation(folder, manifest, documents, np.array(rows, dtype=np.int64).reshape(-1, 3), matrix,
                         prints, spec, texts)
    report.documents, report.chunks = len(documents), len(rows)
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
