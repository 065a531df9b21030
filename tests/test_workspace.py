"""The index as a workspace, without models: its catalog (documents, skipped files and why),
builds that leave files still being written alone, removing an uploaded document, the folder
watcher, and the source viewer's page. Runs on the hashing stand-in embedder."""
from __future__ import annotations

import html
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from scoqa.answer import Assistant
from scoqa.app import cli
from scoqa.app.views import documents_html, viewer_html
from scoqa.app.workspace import Workspace
from scoqa.index.build import build_index, reindex
from scoqa.index.catalog import catalog
from scoqa.index.folder import FolderStore
from scoqa.index.uploads import CannotRemove
from scoqa.index.watch import WatchSettings
from scoqa.records import Document
from scoqa.retrieve import Retriever

FAST = WatchSettings(quiet_ms=250, max_wait_ms=5000, settle_s=0.15, retry_ms=150)
DEADLINE = 60  # seconds a watched change may take to show, on a busy machine


class NoReader:
    """The workspace never reads; the Assistant only needs a threshold."""

    no_answer_threshold = 0.5


def wait_for(condition, what: str, deadline: float = DEADLINE):
    """Poll `condition` until it returns something truthy, or fail naming `what`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if result := condition():
            return result
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {deadline} s")


@pytest.fixture
def index_folder(corpus_copy, hashing_embedder, tmp_path) -> Path:
    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    os.utime(corpus_copy / "broken.pdf", (time.time() - 3600, time.time() - 3600))  # long settled
    folder = tmp_path / "index"
    build_index([corpus_copy], folder, hashing_embedder, progress=False)
    return folder


@pytest.fixture
def assistant(index_folder, hashing_embedder) -> Assistant:
    return Assistant(Retriever(FolderStore.open(index_folder), hashing_embedder), NoReader())


def snapshot(index) -> tuple[dict, set]:
    """An index's documents (source -> hash) and passages (source, start, end)."""
    documents = {d.source: d.sha256 for d in index.documents}
    passages = {(c.chunk.source, c.chunk.start, c.chunk.end) for c in index.chunks(index.ids).values()}
    return documents, passages


def test_the_catalog_lists_documents_and_keeps_skip_reasons(index_folder, corpus_copy, capsys):
    listing = catalog(FolderStore.open(index_folder))
    assert [d.source for d in listing.documents] == sorted(p.name for p in corpus_copy.glob("*.txt"))
    first = listing.documents[0]
    assert first.passages > 0 and first.indexed and first.pages is None and not first.removable
    assert [(s.source, s.reason.split(":")[0]) for s in listing.skipped] == [("broken.pdf", "broken PDF")]

    assert cli.main(["documents", "--index", str(index_folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == listing.to_json()
    assert cli.main(["documents", "--index", str(index_folder)]) == 0
    out = capsys.readouterr().out
    assert f"{first.source}  ({first.passages} passages)" in out and "broken.pdf: broken PDF" in out
    assert listing.matching("BROKEN").documents == () and len(listing.matching("003_").documents) == 1


def test_a_rebuild_keeps_when_unchanged_documents_were_indexed(index_folder, corpus_copy, hashing_embedder):
    before = catalog(FolderStore.open(index_folder))
    (corpus_copy / "new.md").write_text("# New\n\nThe Zorblax depot stands in Narvik.\n", encoding="utf-8")
    embedded = hashing_embedder.embedded
    report = reindex(FolderStore.open(index_folder), hashing_embedder)
    assert report.added == ["new.md"] and report.changes() == "1 added: new.md"
    assert hashing_embedder.embedded - embedded == 1  # only the new file's passage
    after = {d.source: d for d in catalog(FolderStore.open(index_folder)).documents}
    assert all(after[d.source].indexed == d.indexed for d in before.documents)
    assert [s.source for s in catalog(FolderStore.open(index_folder)).skipped] == ["broken.pdf"]


def test_a_file_still_being_written_is_left_for_the_next_build(index_folder, corpus_copy, hashing_embedder):
    fresh = corpus_copy / "fresh.txt"
    fresh.write_text("Half of a sentence", encoding="utf-8")
    changed = corpus_copy / sorted(p.name for p in corpus_copy.glob("00*.txt"))[0]
    old_hash = FolderStore.open(index_folder).by_source[changed.name].sha256
    changed.write_text("Rewritten right now.\n", encoding="utf-8")
    report = reindex(FolderStore.open(index_folder), hashing_embedder, settle=30)
    assert sorted(report.settling) == sorted(["fresh.txt", changed.name]) and not report.committed
    index = FolderStore.open(index_folder)
    assert "fresh.txt" not in index.by_source and index.by_source[changed.name].sha256 == old_hash
    past = time.time() - 60
    for path in (fresh, changed):
        os.utime(path, (past, past))
    report = reindex(FolderStore.open(index_folder), hashing_embedder, settle=30)
    assert report.added == ["fresh.txt"] and report.changed == [changed.name] and not report.settling


def test_removing_an_upload_touches_nothing_else(assistant, corpus_copy, tmp_path, hashing_embedder):
    note = tmp_path / "in" / "note.md"
    note.parent.mkdir()
    note.write_text("The Quillon Treaty was signed in Tromso.\n", encoding="utf-8")
    assistant.add_files([note])
    index = assistant.retriever.index
    documents, passages = snapshot(index)
    assert "uploads/note.md" in documents
    (corpus_copy / "unrelated.txt").write_text("Written after the upload, not yet indexed.\n", encoding="utf-8")

    workspace = Workspace.of(assistant, watch=False)
    with pytest.raises(CannotRemove, match="not an uploaded document"):
        workspace.remove(sorted(documents)[0])
    with pytest.raises(CannotRemove, match="not in the index"):
        workspace.remove("uploads/nothing.md")
    removal = workspace.remove("uploads/note.md")

    assert removal.to_json() == {"removed": "uploads/note.md", "documents": len(documents) - 1}
    assert not (corpus_copy / "uploads" / "note.md").exists() and (corpus_copy / "unrelated.txt").exists()
    assert [p.name for p in corpus_copy.iterdir() if p.name.startswith(".")] == []
    after_documents, after_passages = snapshot(assistant.retriever.index)
    assert after_documents == {s: h for s, h in documents.items() if s != "uploads/note.md"}
    assert after_passages == {p for p in passages if p[0] != "uploads/note.md"}
    assert "removed: uploads/note.md" in workspace.status().changes[0]
    assert [s.source for s in catalog(assistant.retriever.index).skipped] == ["broken.pdf"]


def test_the_watcher_indexes_added_changed_and_removed_files(assistant, corpus_copy, hashing_embedder, tmp_path,
                                                            monkeypatch):
    committed = []  # each build that changed the index, recorded before it is swapped in
    change_index = assistant.change_index
    monkeypatch.setattr(assistant, "change_index", lambda change: change_index(
        lambda index, embedder: (report := change(index, embedder), report.committed and committed.append(report))[0]))
    workspace = Workspace.of(assistant, watch=True, watch_settings=FAST)
    try:
        wait_for(lambda: workspace.watcher and workspace.watcher.watching.is_set(), "the watcher watching")
        first = sorted(p for p in corpus_copy.glob("00*.txt"))[0]
        (corpus_copy / "sub").mkdir()
        (corpus_copy / "sub" / "oslo.md").write_text("The delegation from Oslo was led by Ingrid Moe.\n", encoding="utf-8")
        first.unlink()
        wait_for(lambda: "sub/oslo.md" in assistant.documents and first.name not in assistant.documents,
                 "an added and a removed file")
        changes = " | ".join(wait_for(lambda: workspace.status().changes, "the page's list of changes"))
        assert "added" in changes and "sub/oslo.md" in changes  # one build or two on a busy machine
        (corpus_copy / "sub" / "oslo.md").write_text("The delegation from Oslo was led by Per Lund.\n", encoding="utf-8")
        wait_for(lambda: "Per Lund" in assistant.documents["sub/oslo.md"].text, "a changed file")

        burst = tmp_path / "burst"
        burst.mkdir()
        for n in range(200):
            (burst / f"note{n:03d}.txt").write_text(f"Note {n} says the depot number is {n}.\n", encoding="utf-8")
        shutil.move(burst, corpus_copy / "burst")  # 200 files appear at once
        for n in range(200, 205):  # and a few written one by one after
            (corpus_copy / "burst" / f"note{n:03d}.txt").write_text(f"Note {n}.\n", encoding="utf-8")
        wait_for(lambda: sum(s.startswith("burst/") for s in assistant.documents) == 205, "a burst of 205 files")
        burst_builds = [r for r in committed if any(s.startswith("burst/") for s in r.added)]
        assert [len(r.added) for r in burst_builds] == [205], "a burst is indexed once"
        fresh = tmp_path / "fresh-index"
        build_index([corpus_copy], fresh, hashing_embedder, progress=False)
        assert snapshot(assistant.retriever.index) == snapshot(FolderStore.open(fresh))
    finally:
        workspace.close()


def test_the_viewer_page_escapes_the_document_and_marks_the_quote():
    text = "Intro <script>alert(1)</script> & more.\n\nThe <b>quote</b> here.\n\nPage two."
    doc = Document("evil<x>.txt", text, "abc123", title="T <i>", date="2020-01-01")
    start, end = text.index("The <b>"), text.index(" here.") + len(" here.")
    page = viewer_html(doc, start, end, version="abc")
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page and "evil<x>" not in page
    assert "<mark id='quote'>The &lt;b&gt;quote&lt;/b&gt; here.</mark>" in page and "changed since" not in page
    assert "changed since it was cited" in viewer_html(doc, start, end, version="fff")
    pdf = Document("a.pdf", "Page one text.\n\nPage two holds the quote.\n\nPage three.", "0", pages=(0, 16, 43))
    at = pdf.text.index("holds")
    shown = viewer_html(pdf, at, at + 5)
    assert "page 2 of 3" in shown and "Page one" not in shown and "Page three" not in shown
    assert "page=1" in shown and "page=3" in shown and "<mark id='quote'>holds</mark>" in shown
    with pytest.raises(ValueError):
        viewer_html(doc, 0, len(text) + 1)
    listing = documents_html(catalog_of([doc]))
    assert "evil&lt;x&gt;.txt" in listing and "T &lt;i&gt;" in listing and "<i>" not in listing
    assert html.escape("view?source=evil%3Cx%3E.txt", quote=True) in listing


def catalog_of(documents):
    from scoqa.index.catalog import Catalog, IndexedDocument

    return Catalog(tuple(IndexedDocument(d.source, d.title, d.date, None, 1, None, None, False) for d in documents), ())


def test_the_catalog_and_removal_work_in_either_store(store_location, corpus_copy, hashing_embedder, tmp_path):
    from scoqa.index.registry import open_store

    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    build_index([corpus_copy], tmp_path / "index", hashing_embedder, progress=False, store=store_location)
    assistant = Assistant(Retriever(open_store(tmp_path / "index"), hashing_embedder), NoReader())
    note = tmp_path / "in" / "note.md"
    note.parent.mkdir()
    note.write_text("The Quillon Treaty was signed in Tromso.\n", encoding="utf-8")
    assistant.add_files([note])
    listing = catalog(open_store(tmp_path / "index"))
    assert [d.source for d in listing.documents if d.removable] == ["uploads/note.md"] and len(listing.documents) == 6
    assert all(d.passages > 0 and d.indexed for d in listing.documents)
    assert [s.source for s in listing.skipped] == ["broken.pdf"]
    Workspace.of(assistant, watch=False).remove("uploads/note.md")
    listing = catalog(open_store(tmp_path / "index"))
    assert len(listing.documents) == 5 and [s.source for s in listing.skipped] == ["broken.pdf"]
