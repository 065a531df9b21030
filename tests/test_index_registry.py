"""The registry picks the store behind an index folder by the location's scheme; building, the
CLI and answering know no backend's files. A new backend is one module and one registration:
here a stand-in registered in a test is built, found, opened and offered by `--store` without
a change anywhere else."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scoqa.index import registry
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.index.protocol import Backend, IndexMissing, IndexUnavailable



@pytest.mark.parametrize("location, expected", [
    ("folder", "folder"),
    ("milvus://db.example:19530/docs", "milvus://db.example:19530/docs"),
    ("milvus:~/scoqa.db", "milvus:" + str(Path("~/scoqa.db").expanduser().resolve())),
])
def test_locations_are_normalised_by_their_backend(location, expected):
    assert registry.normalise_location(location) == expected


@pytest.mark.parametrize("location, message", [
    ("s3://bucket/index", "unknown store 's3://bucket/index': use folder (in --index), milvus:PATH.db"),
    ("milvus:nothing.txt", "unknown store 'milvus:nothing.txt'"),
    ("folder:x", "unknown store 'folder:x'"),
    ("milvus://db.example/docs", "bad Milvus address"),
])
def test_a_location_no_backend_takes_names_every_form(location, message):
    with pytest.raises(IndexUnavailable, match=re.escape(message)) as err:
        registry.normalise_location(location)
    assert "\n" not in str(err.value)  # one line, as the CLI prints it


def test_the_pointer_names_the_store_and_a_damaged_one_says_how_to_fix_it(tmp_path):
    assert registry.location_of(tmp_path) == registry.DEFAULT
    registry.point_to(tmp_path, "milvus:/data/scoqa.db")
    assert registry.location_of(tmp_path) == "milvus:/data/scoqa.db"
    registry.point_to(tmp_path, registry.DEFAULT)
    assert not (tmp_path / registry.POINTER).exists()
    (tmp_path / registry.POINTER).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="scoqa index --store LOCATION"):
        registry.location_of(tmp_path)


def test_existence_and_model_are_asked_of_the_backend(corpus_copy, tmp_path, hashing_embedder):
    folder = tmp_path / "index"
    assert not registry.index_exists(folder) and registry.indexed_model(folder) is None
    with pytest.raises(IndexMissing):
        registry.open_store(folder)
    build_index([corpus_copy], folder, hashing_embedder, progress=False)
    assert registry.index_exists(folder) and registry.indexed_model(folder) == "test-hashing"
    (folder / "CURRENT").write_text("gen-999999\n", encoding="utf-8")  # damaged, but there
    assert registry.index_exists(folder) and registry.indexed_model(folder) is None


@pytest.fixture
def shelf(monkeypatch) -> list[str]:
    """A backend made in the test, `shelf:NAME`: a folder store kept in a subfolder NAME of the
    index folder. It is registered, and nothing else is told of it. Returns the calls made."""
    calls: list[str] = []

    def data(folder: Path, location: str) -> Path:
        return Path(folder) / location.split(":", 1)[1]

    def called(name, function):
        def call(*args):
            calls.append(name)
            return function(*args)
        return call

    backend = Backend(
        scheme="shelf", forms=("shelf:NAME (a test's)",),
        normalise=lambda location: location if location.startswith("shelf:") and len(location) > 6 else None,
        exists=called("exists", lambda folder, location: (data(folder, location) / "CURRENT").is_file()),
        built_with=called("built_with", lambda folder, location: FolderStore.open(data(folder, location)).model),
        open=called("open", lambda folder, location: FolderStore.open(data(folder, location))),
        create=called("create", lambda folder, location: FolderStore.empty(data(folder, location))))
    monkeypatch.setitem(registry.BACKENDS, "shelf", backend)
    return calls


def test_a_new_backend_is_one_module_and_one_registration(shelf, corpus_copy, tmp_path, hashing_embedder, capsys):
    from scoqa.app import cli
    from scoqa.retrieve import Retriever

    folder = tmp_path / "index"
    location = registry.normalise_location("shelf:books")
    report = build_index([corpus_copy], folder, hashing_embedder, progress=False, store=location)
    assert report.documents == 5 and "create" in shelf
    assert json.loads((folder / registry.POINTER).read_text(encoding="utf-8")) == {"store": "shelf:books"}
    assert not (folder / "CURRENT").exists() and (folder / "books" / "CURRENT").is_file()
    assert registry.index_exists(folder) and registry.indexed_model(folder) == "test-hashing"
    hits = Retriever(registry.open_store(folder), hashing_embedder).search("Who signed the memorandum?", k=2)
    assert len(hits) == 2
    again = build_index([corpus_copy], folder, hashing_embedder, progress=False)  # stays where it is
    assert again.embedded == 0 and again.unchanged == 5
    assert cli._ensure_index(folder) is None  # the CLI finds the index without knowing its files
    with pytest.raises(SystemExit):
        cli.main(["index", "--help"])
    assert "shelf:NAME (a test's)" in " ".join(capsys.readouterr().out.split())
