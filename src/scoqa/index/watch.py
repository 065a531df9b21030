"""Keeping an index in step with its folder while the chat runs, with `watchfiles`.

A change to the watched paths (a file added, changed, removed, a folder moved) starts a
rebuild once the burst it belongs to has ended: `quiet_ms` without a further change, or at the
latest `max_wait_ms` after its first change, so copying 200 files in costs one build. Each
rebuild is the incremental build of `scoqa index` (`scoqa.index.build.reindex`), told to leave files
modified in the last `settle_s` seconds as they were (`build_index(settle=...)`): a file still
being written is taken by a later round, looked at every `retry_ms` until it has settled. The
build commits a new index generation whole; the caller swaps it in.

Limits: a change is seen only while the server runs (the next start's build catches up on
the rest), a writer that pauses longer than `settle_s` mid-file has its partial file indexed
until its next write, and files on network mounts may send no events (watchfiles then needs
WATCHFILES_FORCE_POLLING=1).
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .build import BuildReport
from ..ingest.formats import SUFFIXES


@dataclass(frozen=True)
class WatchSettings:
    """Timings in milliseconds (seconds for `settle_s`). A burst ends after `quiet_ms` without a
    change: 1 s, so that files copied one after another by a program or a file manager go in
    together; `settle_s` below it, so that every file of a burst that has ended has settled."""

    quiet_ms: int = 1000
    max_wait_ms: int = 10_000
    settle_s: float = 0.5
    retry_ms: int = 1000


class FolderWatcher:
    """Watches `paths` in a daemon thread and calls `rebuild(settle_s)` after each burst of
    changes, and again while files are still settling; `on_build` gets each build's report.
    `ignore` names folders whose changes do not count (the index itself, if it lies inside).
    A failed rebuild (another process writing the index, say) is said once on stderr and
    tried again at the next retry. `watching` is set once the watches are in place (when the
    first wait ends): every change from then on is seen."""

    def __init__(self, paths: Sequence[Path], rebuild: Callable[[float], BuildReport],
                 on_build: Callable[[BuildReport], None] = lambda report: None, ignore: Sequence[Path] = (),
                 settings: WatchSettings = WatchSettings()):
        self.watched = [Path(p).resolve() for p in paths]
        self.paths = [p for p in self.watched if p.exists()]
        self.ignore = [Path(p).resolve() for p in ignore]
        self.rebuild = rebuild
        self.on_build = on_build
        self.settings = settings
        self.builds = 0  # rebuilds that changed the index
        self.watching = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scoqa-watch", daemon=True)

    def start(self) -> "FolderWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def counts(self, path: str) -> bool:
        """Whether a change at `path` can change the index: not hidden below a watched path,
        not in an ignored folder, and a readable kind of file or something without a suffix
        (a folder, whose move or removal takes its files along)."""
        changed = Path(path)
        if any(changed.is_relative_to(folder) for folder in self.ignore):
            return False
        for root in self.paths:
            if changed == root or changed.is_relative_to(root):
                if any(part.startswith(".") for part in changed.relative_to(root).parts):
                    return False
                return changed.suffix.lower() in SUFFIXES or not changed.suffix or changed.is_dir()
        return False

    def _run(self) -> None:
        from watchfiles import watch

        s, due, last_error = self.settings, False, None
        while not self._stop.is_set():
            if not self.paths:  # every watched path is gone: wait for one to come back
                self._stop.wait(s.retry_ms / 1000)
                self.paths = [p for p in self.watched if p.exists()]
                continue
            try:
                for changes in watch(*self.paths, watch_filter=lambda change, path: self.counts(path),
                                     debounce=s.max_wait_ms, step=s.quiet_ms, rust_timeout=s.retry_ms,
                                     yield_on_timeout=True, stop_event=self._stop, raise_interrupt=False):
                    self.watching.set()
                    due = due or bool(changes)
                    if not due or self._stop.is_set():
                        continue
                    try:
                        report = self.rebuild(s.settle_s)
                    except Exception as err:  # noqa: BLE001 - the watcher outlives a failed round
                        if str(err) != last_error:
                            print(f"scoqa: watching: index not updated, trying again: {err}", file=sys.stderr, flush=True)
                        last_error = str(err)
                        continue
                    last_error, due = None, bool(report.settling)
                    if report.committed:
                        self.builds += 1
                    self.on_build(report)
            except Exception as err:  # noqa: BLE001 - a watched folder removed or unreadable: look again
                print(f"scoqa: watching stopped, restarting: {err}", file=sys.stderr, flush=True)
                self._stop.wait(s.retry_ms / 1000)
                self.paths = [p for p in self.watched if p.exists()]
                due = True
