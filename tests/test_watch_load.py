"""The watched folder under load: while files are added, rewritten and deleted, each written in
two halves with a pause between, two clients keep asking over loopback. No question may fail,
no answer may cite a half-written file, the index never holds one, and once the writing stops
the index equals a fresh `scoqa index` of the folder (documents and passages).

The watcher here ends a burst after 0.2 s without a change, shorter than the writer's pause
in mid-file, so builds do start while a file is half written: only the settle rule keeps it out
(with `settle_s=0` this test fails).

Bounded: 10 rounds of writing, 1.3 s apart (so most rounds are indexed on their own, some while
the next round is being written), at most 60 questions, and a deadline on each wait.
"""
from __future__ import annotations

import hashlib
import shutil
import threading
import time

import pytest
from gradio_client import Client

from scoqa.answer import Assistant
from scoqa.app.serve import serve
from scoqa.app.workspace import Workspace
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.index.watch import WatchSettings

from conftest import CORPUS, free_port

# It runs the chat server (gradio) with the real models: a service, never imported by the unit lane.
pytestmark = [pytest.mark.service, pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")]
ROUNDS = 10
MAX_QUESTIONS = 60
MIN_QUESTIONS = 4  # the writer goes on rewriting until this many were answered while it wrote
WRITING_LIMIT = 240.0  # seconds: the writer stops by then whatever was asked
DEADLINE = 120  # seconds for the folder's last change to be indexed, on a busy machine
HURRIED = WatchSettings(quiet_ms=200, max_wait_ms=2000, settle_s=1.0, retry_ms=500)
MID_FILE_PAUSE = 0.3  # seconds between a file's two halves: longer than a burst's end, shorter than settling
CITIES = ["Narvik", "Bergen", "Tromso", "Bodo", "Alta", "Molde", "Hamar", "Skien"]


def fact(n: int, version: int) -> str:
    """A document whose second half holds the fact: its first half alone answers nothing."""
    return (f"# Depot {n}\n\nThis note describes the supply depot number {n} of the northern network.\n\n"
            f"The depot number {n} is run from {CITIES[(n + version) % len(CITIES)]} (version {version}).\n")


def snapshot(index) -> tuple[dict, set]:
    documents = {d.source: d.sha256 for d in index.documents}
    passages = {(c.chunk.source, c.chunk.start, c.chunk.end) for c in index.chunks(index.ids).values()}
    return documents, passages


def test_changes_under_load_never_show_a_half_written_file(tmp_path, embedder, reader):
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    (docs / "depots").mkdir()
    build_index([docs], tmp_path / "index", embedder, progress=False)
    assistant = Assistant.open(tmp_path / "index", reader=reader, embedder=embedder)
    served = serve(Workspace.of(assistant, watch_settings=HURRIED), port=free_port(), block=False)

    whole: dict[str, set[str]] = {}  # source -> hashes of its complete versions
    texts: dict[tuple[str, str], str] = {}  # (source, hash) -> text
    for path in docs.rglob("*.txt"):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        whole.setdefault(path.relative_to(docs).as_posix(), set()).add(digest)
        texts[path.relative_to(docs).as_posix(), digest] = data.decode("utf-8")
    writing = threading.Event()
    writing.set()
    problems: list[str] = []

    def write(n: int, version: int) -> None:
        source, text = f"depots/depot{n}.md", fact(n, version)
        digest = hashlib.sha256(text.encode()).hexdigest()
        whole.setdefault(source, set()).add(digest)
        texts[source, digest] = text
        half = len(text) // 2
        with open(docs / source, "w", encoding="utf-8") as out:
            out.write(text[:half])
            out.flush()
            time.sleep(MID_FILE_PAUSE)  # a slow writer: the first half lies on disk alone for a while
            out.write(text[half:])

    def writer() -> None:
        """Adds, rewrites and deletes for ROUNDS rounds, then rewrites the last depot until the
        askers have had MIN_QUESTIONS answered during the writing (however slow an answer is)."""
        deadline = time.monotonic() + WRITING_LIMIT
        try:
            for r in range(ROUNDS):
                write(r, 0)  # add
                if r >= 2:
                    write(r - 2, 1)  # rewrite
                if r >= 4 and r % 2 == 0:
                    (docs / f"depots/depot{r - 4}.md").unlink()  # delete
                time.sleep(1.3)
            version = 2
            while len(asked) < MIN_QUESTIONS and time.monotonic() < deadline:
                write(ROUNDS - 1, version)
                version += 1
                time.sleep(1.3)
        finally:
            writing.clear()

    def check_index() -> None:
        """Every document the live index holds is a complete version of its file."""
        while writing.is_set():
            for doc in list(assistant.documents.values()):
                if doc.sha256 not in whole.get(doc.source, ()):
                    problems.append(f"the index held a version of {doc.source} never written whole")
            time.sleep(0.05)

    asked = []

    def asker(offset: int) -> None:
        client = Client(served.url, verbose=False)
        n = offset
        while writing.is_set() and len(asked) < MAX_QUESTIONS:
            question = f"From which city is the depot number {n % ROUNDS} run?"
            try:
                payload = client.predict(question, api_name="/ask")
            except Exception as err:  # noqa: BLE001 - any failure is the finding
                problems.append(f"{question!r} failed: {err}")
                return
            asked.append(payload)
            for c in payload["citations"] + payload["related"]:
                if not any(texts.get((c["source"], h), "")[c["start"]:c["end"]] == c["quote"]
                           for h in tuple(whole.get(c["source"], ()))):
                    problems.append(f"{question!r} cited {c['source']} [{c['start']}:{c['end']}], "
                                    f"which no complete version of the file holds")
            n += 2

    threads = [threading.Thread(target=writer), threading.Thread(target=check_index),
               threading.Thread(target=asker, args=(0,)), threading.Thread(target=asker, args=(1,))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads)
        assert problems == []
        assert len(asked) >= MIN_QUESTIONS, "questions were asked throughout"
        assert any(c["source"].startswith("depots/") for p in asked for c in p["citations"] + p["related"])

        fresh = tmp_path / "fresh"
        build_index([docs], fresh, embedder, progress=False)
        expected = snapshot(FolderStore.open(fresh))
        end = time.monotonic() + DEADLINE
        while snapshot(assistant.retriever.index) != expected and time.monotonic() < end:
            time.sleep(0.2)
        assert snapshot(assistant.retriever.index) == expected
    finally:
        served.close()
