"""Index mechanics with a hashing stand-in for the model: incremental builds, atomic writes,
damage, model changes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore, IndexUnavailable, current_generation
from scoqa.ingest.chunk import search_text
from scoqa.retrieve import Retriever


def build(docs: Path, folder: Path, embedder, **kw):
    return build_index([docs], folder, embedder, progress=False, **kw)


def test_incremental_build_embeds_only_new_or_changed_documents(corpus_copy, tmp_path, hashing_embedder):
    folder = tmp_path / "index"
    first = build(corpus_copy, folder, hashing_embedder)
    assert first.documents == 5 and len(first.added) == 5 and first.embedded == first.chunks > 5

    again = build(corpus_copy, folder, hashing_embedder)
    assert again.embedded == 0 and again.unchanged == 5

    (corpus_copy / "004_8703ce6526d76945.txt").write_text(
        "Uzbekistan took over the SCO chairmanship in 2021 and hosted the summit in Samarkand in 2022.\n",
        encoding="utf-8")
    (corpus_copy / "003_6e92cf0aa20c499b.txt").unlink()
    (corpus_copy / "sub").mkdir()
    (corpus_copy / "sub" / "new.md").write_text(
        "# Note\n\nThe SCO Secretariat is located in Beijing, the capital of the People's Republic of China.\n",
        encoding="utf-8")
    third = build(corpus_copy, folder, hashing_embedder)
    assert third.changed == ["004_8703ce6526d76945.txt"]
    assert third.added == ["sub/new.md"]
    assert third.removed == ["003_6e92cf0aa20c499b.txt"]
    assert third.embedded == 2  # one chunk each for the changed and the new document

    index = FolderStore.open(folder)
    assert sorted(d.source for d in index.documents) == sorted(
        ["000_8b84643337e2ca64.txt", "001_fc58cf3dceaf584f.txt", "002_7249c5024e0c0fdf.txt",
         "004_8703ce6526d76945.txt", "sub/new.md"])
    for i in range(len(index)):
        chunk = index.chunk(i)
        assert chunk.text == (corpus_copy / chunk.source).read_text(encoding="utf-8")[chunk.start:chunk.end]
    # reused vectors are the ones the model would give again
    fresh = hashing_embedder.embed([search_text(index.chunk(0))])
    assert np.allclose(index.matrix[0], fresh[0])


def test_interrupted_build_leaves_the_previous_index_whole(corpus_copy, tmp_path, hashing_embedder):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder)
    before = FolderStore.open(folder)

    class Interrupted(type(hashing_embedder)):
        def embed(self, texts, progress=False):
            raise KeyboardInterrupt

    (corpus_copy / "extra.txt").write_text("The SCO held a summit of its member states in Qingdao in 2018.\n",
                                           encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build(corpus_copy, folder, Interrupted())
    after = FolderStore.open(folder)
    assert [d.source for d in after.documents] == [d.source for d in before.documents]
    assert len(after) == len(before)


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


def test_index_built_with_another_model(corpus_copy, tmp_path, hashing_embedder):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder)
    index = FolderStore.open(folder)

    class OtherModel(type(hashing_embedder)):
        model = "another-model"

    with pytest.raises(IndexUnavailable, match="built with model 'test-hashing'"):
        Retriever(index, OtherModel())
    report = build(corpus_copy, folder, OtherModel())
    assert report.rebuilt_because == "model changed" and report.embedded == report.chunks
    assert FolderStore.open(folder).model == "another-model"


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
