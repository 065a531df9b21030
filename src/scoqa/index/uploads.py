"""Adding uploaded files to a live index without ever losing a document.

Each file is staged in a temporary folder beside `uploads/` and judged on its own (type, size,
readable text, something searchable) before anything indexed is touched; only files that pass
replace their namesakes in `uploads/`, each with one atomic rename, and the index is rebuilt
incrementally. A refused file never replaces or removes an existing one.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..ingest.formats import SUFFIXES, UnreadableFile, read_document
from ..retrieve.embed import Embeds
from .build import NOTHING_SEARCHABLE, build_index
from .protocol import ChunkStore

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOADS = "uploads"
STAGING_PREFIX = ".uploads-staging-"  # hidden, so `scoqa index` on the folder never picks it up


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file: `status` is added, replaced, unchanged or refused
    (with `reason`); `warning` notes a readable file's oddity (such as a fallback decoding)."""

    source: str
    status: str
    reason: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class UploadReport:
    """One outcome per uploaded file, in upload order, and how many documents are searchable."""

    outcomes: tuple[UploadOutcome, ...]
    documents: int

    def to_json(self) -> dict:
        return {"files": [o.__dict__ for o in self.outcomes], "documents": self.documents}


def add_uploads(index: ChunkStore, embedder: Embeds, files: Sequence[Path], names: Sequence[str] | None = None,
                notify: Callable[[str], None] = lambda message: None) -> UploadReport:
    """Stage, check and index `files` (named `names`, default their own names) into `uploads/`
    of the indexed folder. The staging folder is removed whatever happens; the caller's own
    copies are left to the caller. Raises IndexUnavailable if another process holds the index."""
    root = Path(index.manifest["root"])
    uploads = root / UPLOADS
    uploads.mkdir(parents=True, exist_ok=True)
    names = list(names) if names is not None else [Path(f).name for f in files]
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    try:
        judged: list[UploadOutcome] = []
        moving: list[str] = []
        for file, name in zip(files, names):
            name = safe_name(name)
            source = f"{UPLOADS}/{name}"
            if any(o.source == source for o in judged):
                judged.append(UploadOutcome(source, "refused", "another file of this upload has the same name"))
                continue
            outcome, staged = _stage(Path(file), name, staging, index)
            judged.append(outcome)
            if staged is not None and (outcome.status != "unchanged" or not (root / source).is_file()):
                os.replace(staged, root / source)
                moving.append(source)
        documents = len(index.documents)
        if moving:
            kept = {root / doc.source for doc in index.documents if (root / doc.source).is_file()}
            report = build_index(sorted(kept | {root / s for s in moving}), index.folder, embedder,
                                 base=root, progress=False, notify=notify)
            documents = report.documents
        return UploadReport(tuple(judged), documents)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage(file: Path, name: str, staging: Path, index: ChunkStore) -> tuple[UploadOutcome, Path | None]:
    """Copy one file into the staging folder and judge it there: its outcome, and the staged
    copy if it may go into `uploads/`."""
    source = f"{UPLOADS}/{name}"
    if Path(name).suffix.lower() not in SUFFIXES:
        return UploadOutcome(source, "refused", f"not a file type scoqa reads ({', '.join(sorted(SUFFIXES))})"), None
    try:
        size = file.stat().st_size
    except OSError as err:
        return UploadOutcome(source, "refused", f"cannot read: {err.strerror or err}"), None
    if size > MAX_UPLOAD_BYTES:
        return UploadOutcome(source, "refused", f"too large ({size / 2**20:.1f} MB; "
                                                f"at most {MAX_UPLOAD_BYTES // 2**20} MB)"), None
    staged = staging / name
    shutil.copyfile(file, staged)
    try:
        doc, warning = read_document(staged, staging)
    except UnreadableFile as err:
        return UploadOutcome(source, "refused", str(err)), None
    if not doc.content:
        return UploadOutcome(source, "refused", NOTHING_SEARCHABLE), None
    previous = index.by_source.get(source)
    if previous is not None and previous.sha256 == doc.sha256:
        return UploadOutcome(source, "unchanged", warning=warning), staged
    status = "replaced" if previous is not None or (Path(index.manifest["root"]) / source).exists() else "added"
    return UploadOutcome(source, status, warning=warning), staged


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, no odd characters."""
    stem = re.sub(r"[^\w.\- ]+", "_", Path(name.replace("\\", "/")).name).strip(" .")
    return stem or "upload"
