"""Adding uploaded files to a live index without ever losing a document, and taking one out.

Each file is staged in a temporary folder beside `uploads/` and judged on its own (type, size,
readable text, something searchable) before anything indexed is touched; only files that pass
replace their namesakes in `uploads/`, each with one atomic rename, and the index is rebuilt
incrementally from the paths it was built from (`scoqa.index.build.reindex`). A refused file never
replaces or removes an existing one. Removing an uploaded document moves its file aside, commits
the index without it, and only then deletes the file (or puts it back if the commit fails).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..analysis import Embeds
from ..errors import ScoqaError
from ..ingest.formats import SUFFIXES, UnreadableFile, read_document
from .build import NOTHING_SEARCHABLE, Progress, reindex
from .protocol import Changes, ChunkStore, DenseSpec, writing
from .registry import open_store

# An upload larger than this is refused: a bound, chosen rather than measured, on what one chat
# request makes the server read and hold.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOADS = "uploads"
STAGING_PREFIX = ".uploads-staging-"  # hidden, so `scoqa index` on the folder never picks it up
REMOVING_PREFIX = ".uploads-removing-"


class CannotRemove(ScoqaError):
    """A document that cannot be removed here (not indexed, or not uploaded)."""


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

    @property
    def committed(self) -> bool:
        """Whether the index changed (some file was added or replaced)."""
        return any(o.status in ("added", "replaced") for o in self.outcomes)

    def to_json(self) -> dict:
        return {"files": [o.__dict__ for o in self.outcomes], "documents": self.documents}


@dataclass(frozen=True)
class Removal:
    """The removed document's source and how many documents remain searchable."""

    source: str
    documents: int
    committed: bool = True

    def to_json(self) -> dict:
        return {"removed": self.source, "documents": self.documents}


def add_uploads(index: ChunkStore, embedder: Embeds, files: Sequence[Path], names: Sequence[str] | None = None,
                notify: Callable[[str], None] = lambda message: None, on_progress: Progress | None = None,
                settle: float = 0.0) -> UploadReport:
    """Stage, check and index `files` (named `names`, default their own names) into `uploads/`
    of the indexed folder (`index.manifest["root"]`); the build re-reads the index's paths as
    `scoqa index` would (`settle`: see `scoqa.index.build.build_index`). Returns one outcome per
    file, in order (a refused file, with its reason, replaces nothing), and how many documents
    the index then holds; `index` itself is not changed: open the index again to search the new
    files. The staging folder is removed whatever happens; the caller's own copies are left to
    the caller. Raises IndexUnavailable if another process holds the index."""
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
            report = reindex(index, embedder, extra=[uploads], settle=settle, complete=[root / s for s in moving],
                             notify=notify, on_progress=on_progress)
            documents = report.documents
        return UploadReport(tuple(judged), documents)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_upload(index: ChunkStore, source: str) -> Removal:
    """Take the uploaded document `source` out of `uploads/` and out of the index, touching no
    other document: its file is moved aside, the index is committed without it (nothing read
    or embedded), then the file is deleted; if the commit fails the file is put back. Raises
    CannotRemove for a source that is not an indexed upload, IndexUnavailable if another
    process holds the index."""
    if not is_upload(source):
        raise CannotRemove(f"{source} is not an uploaded document; only files in {UPLOADS}/ can be removed here "
                           "(delete a file from the indexed folder to take it out)")
    root = Path(index.manifest["root"])
    file = root / source
    aside = Path(tempfile.mkdtemp(prefix=REMOVING_PREFIX, dir=root))
    try:
        with writing(index.folder):
            index = open_store(index.folder)  # as it is now, should another process have written it
            if source not in index.by_source:
                raise CannotRemove(f"{source} is not in the index")
            moved = file.is_file()
            if moved:
                os.replace(file, aside / file.name)
            documents = tuple(doc for doc in index.documents if doc.source != source)
            catalog = dict(index.catalog, documents={s: e for s, e in index.catalog.get("documents", {}).items()
                                                     if s != source})
            manifest = {key: index.manifest.get(key) for key in ("model", "chunker", "reading", "root")}
            try:
                index.commit(Changes(manifest, documents, (), DenseSpec(**index.manifest["dense"]), catalog=catalog))
            except BaseException:
                if moved:
                    os.replace(aside / file.name, file)
                raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    return Removal(source, len(documents))


def is_upload(source: str) -> bool:
    """Whether a document came in through the chat's upload (it lives in `uploads/`)."""
    return source.startswith(f"{UPLOADS}/")


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
