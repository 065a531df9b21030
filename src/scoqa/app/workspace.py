"""The served index as one live workspace: the Assistant, loaded in the background so the page
is usable at once; the folder watcher; and the log of what changed, for the page to show.

Every change to the index (a watched folder's build, an upload, a removal, a re-index asked
for) goes through `Assistant.change_index`, one at a time, and bumps `version`, so each page
knows when to redraw its documents list.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from ..answer.assistant import Assistant
from ..errors import ScoqaError
from ..index.build import BuildReport, Progress, indexed_paths, reindex
from ..index.catalog import Catalog, catalog
from ..index.uploads import UPLOADS, Removal, UploadReport, add_uploads, remove_upload
from ..index.watch import FolderWatcher, WatchSettings

MAX_LOG = 20


class StillLoading(ScoqaError):
    """The models and the index are still loading; the message says for how long so far."""


@dataclass(frozen=True)
class Status:
    """What the page shows above the chat: `state` is loading, failed or ready; `message`
    says it in words; `changes` are the latest index changes, newest first, with their time."""

    state: str
    message: str
    changes: tuple[str, ...] = ()


class Workspace:
    """Thread-safe. `load(note)` returns the Assistant (building a missing index first) and may
    `note` what it is doing; it runs in a background thread from construction on. With `watch`,
    the index's paths are watched once it is loaded (`scoqa.index.watch`)."""

    def __init__(self, load: Callable[[Callable[[str], None]], Assistant], watch: bool = True,
                 watch_settings: WatchSettings = WatchSettings()):
        self.version = 0
        self.watcher: FolderWatcher | None = None
        self._assistant: Assistant | None = None
        self._error: str | None = None
        self._doing = "loading the models and the index"
        self._started = time.monotonic()
        self._log: list[str] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watch, self._watch_settings = watch, watch_settings
        self._loader = threading.Thread(target=self._load, args=(load,), name="scoqa-load", daemon=True)
        self._loader.start()

    @classmethod
    def of(cls, assistant: Assistant, watch: bool = True, watch_settings: WatchSettings = WatchSettings()) -> "Workspace":
        """A workspace over an Assistant already loaded."""
        return cls(lambda note: assistant, watch, watch_settings)

    def _load(self, load: Callable[[Callable[[str], None]], Assistant]) -> None:
        try:
            assistant = load(self._note)
        except Exception as err:  # noqa: BLE001 - shown on the page and on stderr; the server stays up
            self._error = str(err) if isinstance(err, ScoqaError) else f"{type(err).__name__}: {err}"
            print(f"scoqa: error: {self._error}", file=sys.stderr, flush=True)
            return
        self._assistant = assistant
        if self._watch and not self._closed.is_set():
            index = assistant.retriever.index
            paths, uploads = indexed_paths(index), Path(index.manifest["root"]) / UPLOADS
            if not any(uploads.is_relative_to(p) for p in paths):
                paths.append(uploads)
            self.watcher = FolderWatcher(paths, self._rebuild, self._built, ignore=[index.folder],
                                         settings=self._watch_settings).start()

    def _note(self, message: str) -> None:
        self._doing = message

    def wait_loaded(self, timeout: float) -> Assistant:
        """The Assistant once loaded (for tests and scripts); raises what `assistant` raises."""
        self._loader.join(timeout)
        return self.assistant()

    def assistant(self) -> Assistant:
        """The loaded Assistant. Raises StillLoading while it loads, ScoqaError if loading failed."""
        if self._assistant is not None:
            return self._assistant
        if self._error is not None:
            raise ScoqaError(f"scoqa could not start: {self._error}")
        raise StillLoading(f"scoqa is still starting ({self._doing}, {time.monotonic() - self._started:.0f} s so far); "
                           "ask again in a few seconds")

    def status(self) -> Status:
        if self._error is not None:
            return Status("failed", f"scoqa could not start: {self._error}")
        if self._assistant is None:
            return Status("loading", f"Starting: {self._doing} ({time.monotonic() - self._started:.0f} s)…")
        documents = len(self._assistant.documents)
        watching = ("; the folder is watched: files added, changed or removed there are indexed within seconds"
                    if self.watcher is not None else "")
        with self._lock:
            return Status("ready", f"Ready: {documents} documents{watching}.", tuple(reversed(self._log)))

    def catalog(self) -> Catalog:
        return catalog(self.assistant().retriever.index)

    def _record(self, what: str, text: str) -> None:
        with self._lock:
            self.version += 1
            if text:
                self._log = [*self._log, f"{datetime.now():%H:%M:%S} {what}: {text}"][-MAX_LOG:]

    def _rebuild(self, settle: float) -> BuildReport:
        return self.assistant().change_index(lambda index, embedder: reindex(index, embedder, settle=settle))

    def _built(self, report: BuildReport) -> None:
        if report.committed:
            self._record("folder changed", report.changes() or "index updated")

    def reindex(self, on_progress: Progress | None = None) -> BuildReport:
        """Build the index again from its paths now (what the watcher does on a change)."""
        settle = self._watch_settings.settle_s
        report = self.assistant().change_index(
            lambda index, embedder: reindex(index, embedder, settle=settle, on_progress=on_progress))
        if report.committed:
            self._record("re-indexed", report.changes() or "index updated")
        return report

    def add_files(self, files: Sequence[Path], names: Sequence[str] | None = None,
                  notify: Callable[[str], None] = lambda message: None,
                  on_progress: Progress | None = None) -> UploadReport:
        settle = self._watch_settings.settle_s
        report = self.assistant().change_index(
            lambda index, embedder: add_uploads(index, embedder, files, names, notify, on_progress, settle))
        if report.committed:
            self._record("uploaded", ", ".join(f"{o.source} {o.status}" for o in report.outcomes
                                               if o.status in ("added", "replaced")))
        return report

    def remove(self, source: str) -> Removal:
        """Take an uploaded document out (`scoqa.index.uploads.remove_upload`)."""
        removal = self.assistant().change_index(lambda index, embedder: remove_upload(index, source))
        self._record("removed", removal.source)
        return removal

    def close(self) -> None:
        self._closed.set()
        if self.watcher is not None:
            self.watcher.stop()
