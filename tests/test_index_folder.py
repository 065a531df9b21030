"""What only the folder store has, with a hashing stand-in for the model: its generation files
written atomically, damage to them, the approximate (IVF) index, the write lock. The behaviour
both stores share (incremental builds, interruption, model changes) is in test_index_stores.py."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore, IndexUnavailable, current_generation
from scoqa.retrieve import Retriever


def build(docs: Path, folder: Path, embedder, **kw):
    return build_index([docs], folder, embedder, progress=False, **kw)


def test_crash_while_writing_is_harmless(corpus_copy, tmp_path, hashing_embedder, monkeypatch):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder)
    generation = current_generation(folder)

    import scoqa.index.folder as index_module

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index_module.np, "save", crash)
    (corpus_copy / "extra.txt").write_text("The SCO held a summit of its member states in Qingdao in 2018.\n",
                                           encoding="utf-8")
    with pytest.raises(OSError):
        build(corpus_copy, folder, hashing_embedder)
    monkeypatch.undo()
    assert current_generation(folder) == generation
    assert not list(folder.glob("gen-*.tmp"))
    assert len(FolderStore.open(folder).documents) == 5

    # a leftover from a killed process is ignored, then cleared by the next build
    shutil.copytree(generation, folder / "gen-000099.tmp")
    assert len(FolderStore.open(folder).documents) == 5
    report = build(corpus_copy, folder, hashing_embedder)
    assert report.added == ["extra.txt"] and not list(folder.glob("gen-*.tmp"))


@pytest.mark.parametrize("damage", ["truncate vectors", "garbage manifest", "missing bm25", "bad pointer",
                                    "wrong format"])
def test_damaged_index_gives_a_clear_error_and_is_rebuilt(corpus_copy, tmp_path, hashing_embedder, damage):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder)
    generation = current_generation(folder)
    if damage == "truncate vectors":
        data = (generation / "vectors.npy").read_bytes()
        (generation / "vectors.npy").write_bytes(data[: len(data) // 2])
    elif damage == "garbage manifest":
        (generation / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "missing bm25":
        shutil.rmtree(generation / "bm25")
    elif damage == "bad pointer":
        (folder / "CURRENT").write_text("../../etc", encoding="utf-8")
    else:
        manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
        manifest["format"] = 999
        (generation / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="scoqa index --rebuild"):
        FolderStore.open(folder)
    notes = []
    report = build(corpus_copy, folder, hashing_embedder, notify=notes.append)
    assert report.rebuilt_because == "existing index unusable" and notes
    assert len(FolderStore.open(folder).documents) == 5


def test_approximate_index_finds_what_exact_finds(corpus_copy, tmp_path, hashing_embedder):
    exact = Retriever(FolderStore.open(build(corpus_copy, tmp_path / "flat", hashing_embedder).folder), hashing_embedder)
    approx_index = FolderStore.open(build(corpus_copy, tmp_path / "ivf", hashing_embedder, dense="ivf").folder)
    assert approx_index.manifest["dense"]["kind"] == "ivf"
    approx_index.dense.nprobe = approx_index.manifest["dense"]["nlist"]  # every list: must equal exact
    approx = Retriever(approx_index, hashing_embedder)
    query = "Who signed the memorandum in Astana?"
    assert [(h.chunk.source, h.chunk.start) for h in exact.search(query, k=3, mode="dense")] == \
           [(h.chunk.source, h.chunk.start) for h in approx.search(query, k=3, mode="dense")]


def test_changing_the_dense_index_kind_reuses_the_vectors(corpus_copy, tmp_path, hashing_embedder):
    folder = tmp_path / "index"
    first = build(corpus_copy, folder, hashing_embedder)
    second = build(corpus_copy, folder, hashing_embedder, dense="ivf")
    assert second.embedded == 0 and second.chunks == first.chunks
    assert FolderStore.open(folder).manifest["dense"]["kind"] == "ivf"


def test_second_writer_is_refused(corpus_copy, tmp_path, hashing_embedder):
    from scoqa.index.protocol import writing

    folder = tmp_path / "index"
    with writing(folder):
        with pytest.raises(IndexUnavailable, match="another scoqa process"):
            build(corpus_copy, folder, hashing_embedder)


def test_missing_index(tmp_path):
    with pytest.raises(IndexUnavailable, match="no index at"):
        FolderStore.open(tmp_path / "nothing")


def test_a_memory_error_is_not_reported_as_a_damaged_index(corpus_copy, tmp_path, hashing_embedder, monkeypatch):
    import scoqa.index.folder as folder_store

    folder = tmp_path / "index"
    build_index([corpus_copy], folder, hashing_embedder, progress=False)

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(folder_store.np, "load", out_of_memory)
    with pytest.raises(MemoryError):
        FolderStore.open(folder)
