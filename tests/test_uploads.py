"""Uploads never lose a document: each file is staged and judged on its own before anything
indexed is touched, and only a good file replaces its namesake. Runs on the hashing stand-in
embedder, so what is tested is the staging and the index, not a model."""
from __future__ import annotations

from pathlib import Path

import pytest

from scoqa.answer import Assistant
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.index.uploads import MAX_UPLOAD_BYTES, safe_name
from scoqa.retrieve import Retriever


class NoReader:
    """Uploads never read; the Assistant only needs a threshold."""

    no_answer_threshold = 0.5


@pytest.fixture
def assistant(corpus_copy, hashing_embedder, tmp_path) -> Assistant:
    folder = tmp_path / "index"
    build_index([corpus_copy], folder, hashing_embedder, progress=False)
    return Assistant(Retriever(FolderStore.open(folder), hashing_embedder), NoReader())


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def statuses(report) -> list[tuple[str, str]]:
    return [(o.source, o.status) for o in report.outcomes]


def test_each_file_is_judged_on_its_own_and_good_ones_are_searchable(assistant, corpus_copy, tmp_path):
    incoming = tmp_path / "incoming"
    note = write(incoming, "note.txt", "The SCO Business Council is chaired by Jane Example since 2021.\n")
    exe = write(incoming, "tool.exe", b"MZ\x90\x00")
    pdf = write(incoming, "broken.pdf", b"not a pdf at all")
    report = assistant.add_files([note, exe, pdf], names=["../../note.txt", "tool.exe", "broken.pdf"])
    assert statuses(report) == [("uploads/note.txt", "added"), ("uploads/tool.exe", "refused"),
                                ("uploads/broken.pdf", "refused")]
    assert "not a file type" in report.outcomes[1].reason and "broken PDF" in report.outcomes[2].reason
    assert sorted(p.name for p in (corpus_copy / "uploads").iterdir()) == ["note.txt"]
    assert [p.name for p in corpus_copy.iterdir() if p.name.startswith(".")] == []  # staging removed
    assert report.documents == 6 == len(FolderStore.open(assistant.retriever.index.folder).documents)
    assert assistant.retriever.search("Who chairs the SCO Business Council?", k=1)[0].chunk.source == "uploads/note.txt"


@pytest.mark.parametrize("bad, reason", [(b"\x00\x01binary\x00" * 50, "binary file"), (b"", "empty"),
                                         (b"   \n\n", "empty")])
def test_a_refused_file_never_replaces_its_indexed_namesake(assistant, corpus_copy, tmp_path, bad, reason):
    good_text = "The Quillon Treaty was signed in Tromso on 5 May 2030.\n"
    good = write(tmp_path / "a", "inject.md", good_text)
    assert statuses(assistant.add_files([good])) == [("uploads/inject.md", "added")]
    report = assistant.add_files([write(tmp_path / "b", "inject.md", bad)])
    assert statuses(report) == [("uploads/inject.md", "refused")] and reason in report.outcomes[0].reason
    assert (corpus_copy / "uploads" / "inject.md").read_text(encoding="utf-8") == good_text
    assert report.documents == 6
    assert assistant.retriever.search("Quillon Treaty Tromso", k=1)[0].chunk.source == "uploads/inject.md"


def test_replaced_unchanged_and_same_named_files_each_get_a_status(assistant, corpus_copy, tmp_path):
    first = write(tmp_path / "a", "memo.txt", "Version one says the depot is in Narvik.\n")
    assistant.add_files([first])
    again = write(tmp_path / "b", "memo.txt", "Version one says the depot is in Narvik.\n")
    assert statuses(assistant.add_files([again])) == [("uploads/memo.txt", "unchanged")]
    newer = write(tmp_path / "c", "memo.txt", "Version two says the depot moved to Bergen.\n")
    twin = write(tmp_path / "d", "memo.txt", "A third text under the same name.\n")
    report = assistant.add_files([newer, twin])
    assert statuses(report) == [("uploads/memo.txt", "replaced"), ("uploads/memo.txt", "refused")]
    assert "same name" in report.outcomes[1].reason
    assert "Bergen" in (corpus_copy / "uploads" / "memo.txt").read_text(encoding="utf-8")
    index = FolderStore.open(assistant.retriever.index.folder)
    assert "Bergen" in index.by_source["uploads/memo.txt"].text and len(index.documents) == 6


def test_too_large_and_odd_names(assistant, tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as out:
        out.truncate(MAX_UPLOAD_BYTES + 1)
    report = assistant.add_files([big])
    assert statuses(report) == [("uploads/big.txt", "refused")] and "too large" in report.outcomes[0].reason
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("..\\..\\x.md") == "x.md"
    assert safe_name("...") == "upload" and safe_name("a<b>\udcff.txt") == "a_b_.txt"
