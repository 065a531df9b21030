"""The same index behaviour from both stores (folder, Milvus through Milvus Lite's gRPC server),
so that the two cannot drift: building, incremental changes, interruption, the seed questions,
duplicate collapse, and the errors a user can cause."""
from __future__ import annotations

from pathlib import Path

import pytest

from scoqa.index import IndexUnavailable, normalise_location, open_store
from scoqa.index.build import build_index
from scoqa.index.protocol import chunk_id
from scoqa.retrieve import Retriever
from scoqa.retrieve.fusion import Fusion, fuse

from conftest import CORPUS

ORIGINAL, COPY = "000_8b84643337e2ca64.txt", "001_fc58cf3dceaf584f.txt"


def build(docs: Path, folder: Path, embedder, location: str, **kw):
    return build_index([docs], folder, embedder, progress=False, store=location, **kw)


def test_fusion_is_a_pure_function_of_two_score_lists():
    dense, keyword = {"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 0.0, "b": 4.0, "c": 2.0}
    assert fuse(dense, keyword, Fusion.WEIGHTED, 0.5) == pytest.approx({"a": 0.45, "b": 0.75, "c": 0.3})
    rrf = fuse(dense, keyword, Fusion.RRF, 0.5)
    assert rrf["b"] == pytest.approx(1 / 61 + 1 / 60) and rrf["a"] == pytest.approx(1 / 60 + 1 / 62)
    with pytest.raises(ValueError):
        fuse({"a": 1.0}, {}, Fusion.WEIGHTED, 0.5)


def test_chunk_ids_follow_content(tmp_path, hashing_embedder):
    from scoqa.ingest import read_document

    doc, _ = read_document(CORPUS / ORIGINAL, CORPUS)
    assert chunk_id(doc, 0, 10) == chunk_id(doc, 0, 10) != chunk_id(doc, 0, 11)


def test_incremental_build_adds_changes_and_removes(corpus_copy, tmp_path, hashing_embedder, store_location):
    folder = tmp_path / "index"
    first = build(corpus_copy, folder, hashing_embedder, store_location)
    assert first.documents == 5 and first.embedded == first.chunks > 5
    before = open_store(folder)
    assert len(before) == first.chunks and sorted(before.by_source) == sorted(p.name for p in corpus_copy.iterdir())

    again = build(corpus_copy, folder, hashing_embedder, None)
    assert again.embedded == 0 and again.unchanged == 5

    (corpus_copy / "004_8703ce6526d76945.txt").write_text(
        "Uzbekistan took over the SCO chairmanship in 2021 and hosted the summit in Samarkand in 2022.\n",
        encoding="utf-8")
    (corpus_copy / "003_6e92cf0aa20c499b.txt").unlink()
    (corpus_copy / "new.md").write_text(
        "# Note\n\nThe SCO Secretariat is located in Beijing, the capital of the People's Republic of China.\n",
        encoding="utf-8")
    third = build(corpus_copy, folder, hashing_embedder, None)
    assert (third.changed, third.added, third.removed, third.embedded) == (
        ["004_8703ce6526d76945.txt"], ["new.md"], ["003_6e92cf0aa20c499b.txt"], 2)
    store = open_store(folder)
    assert len(store) == third.chunks
    assert "003_6e92cf0aa20c499b.txt" not in store.by_source
    hits = Retriever(store, hashing_embedder).search("Where is the SCO Secretariat located?", k=3)
    assert hits[0].chunk.source == "new.md"
    for hit in Retriever(store, hashing_embedder).search("Samarkand summit chairmanship", k=10):
        assert hit.chunk.source != "003_6e92cf0aa20c499b.txt"
        assert hit.chunk.text == (corpus_copy / hit.chunk.source).read_text(encoding="utf-8")[hit.chunk.start:hit.chunk.end]


def test_interrupted_build_leaves_the_index_answering_as_before(corpus_copy, tmp_path, hashing_embedder,
                                                               store_location, monkeypatch):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder, store_location)
    query = "Who signed the memorandum in Astana?"
    # dense: Milvus's BM25 statistics count the rows a build wrote before its switch, so near
    # ties in keyword scores may turn until the next build deletes them
    before = [(h.chunk.source, h.chunk.start)
              for h in Retriever(open_store(folder), hashing_embedder).search(query, mode="dense")]

    store_class = type(open_store(folder))
    real_commit = store_class.commit

    def crash_after_writing(self, changes):  # new rows written, the switch never made
        if store_class.__name__ == "MilvusStore":
            monkeypatch.setattr(self.client, "upsert", _fail_on("_manifest", self.client.upsert))
        else:
            import scoqa.index.folder as index_module
            monkeypatch.setattr(index_module.os, "replace", _fail_on("CURRENT", index_module.os.replace))
        real_commit(self, changes)

    monkeypatch.setattr(store_class, "commit", crash_after_writing)
    (corpus_copy / ORIGINAL).unlink()
    (corpus_copy / "extra.txt").write_text("The memorandum was signed in Astana by the SCO in 2017.\n", encoding="utf-8")
    with pytest.raises(OSError):
        build(corpus_copy, folder, hashing_embedder, None)
    monkeypatch.undo()
    store = open_store(folder)
    assert ORIGINAL in store.by_source and "extra.txt" not in store.by_source
    assert [(h.chunk.source, h.chunk.start)
            for h in Retriever(store, hashing_embedder).search(query, mode="dense")] == before
    assert all(h.chunk.source != "extra.txt" for h in Retriever(store, hashing_embedder).search(query, mode="bm25"))

    report = build(corpus_copy, folder, hashing_embedder, None)
    assert report.added == ["extra.txt"] and report.removed == [ORIGINAL]
    assert sorted(open_store(folder).by_source) == sorted(p.name for p in corpus_copy.iterdir())


def _fail_on(marker: str, call):
    def failing(*args, **kwargs):
        if any(marker in str(a) for a in args):
            raise OSError("interrupted")
        return call(*args, **kwargs)
    return failing


def test_both_stores_rank_alike(corpus_copy, tmp_path, hashing_embedder, milvus_server):
    """Dense rankings, scores and duplicate collapse are identical. (Milvus Lite 3.2.2's BM25
    scores differ from bm25s's by 1-21% on the same terms, measured, enough to change which
    passage of an article comes first, so keyword rankings are not compared here.)"""
    folder = open_store(build(corpus_copy, tmp_path / "a", hashing_embedder, "folder").folder)
    milvus = open_store(build(corpus_copy, tmp_path / "b", hashing_embedder, f"milvus://{milvus_server}/alike").folder)
    for query in ["Who signed the memorandum between the SCO and the ICRC?", "Which states are members of the SCO?",
                  "What did the SCO declare about Syria?"]:
        a = Retriever(folder, hashing_embedder).search(query, k=5, mode="dense")
        b = Retriever(milvus, hashing_embedder).search(query, k=5, mode="dense")
        assert [(h.chunk.source, h.chunk.start, h.also_in) for h in a] == \
               [(h.chunk.source, h.chunk.start, h.also_in) for h in b]
        assert [h.dense for h in a] == pytest.approx([h.dense for h in b], abs=1e-5)


def test_seed_questions_and_duplicate_collapse(tmp_path, embedder, store_location):
    folder = tmp_path / "index"
    build(CORPUS, folder, embedder, store_location)
    retriever = Retriever(open_store(folder), embedder)
    for query, source in [("What did the SCO declare about Syria?", "002_7249c5024e0c0fdf.txt"),
                          ("Which states are members of the SCO?", "003_6e92cf0aa20c499b.txt"),
                          ("Which country is seeking dialogue partner status?", "004_8703ce6526d76945.txt")]:
        assert retriever.search(query, k=3)[0].chunk.source == source
    hits = retriever.search("Who signed the memorandum between the SCO and the ICRC?", k=5)
    signed = [h for h in hits if "Rashid Alimov and ICRC Vice President" in h.chunk.text]
    assert len(signed) == 1 and [p.source for p in signed[0].also_in] == [
        COPY if signed[0].chunk.source == ORIGINAL else ORIGINAL]
    assert all(h.chunk.document.date == open_store(folder).by_source[h.chunk.source].date for h in hits)


def test_index_made_by_another_model_is_refused(corpus_copy, tmp_path, hashing_embedder, store_location):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder, store_location)

    class OtherModel(type(hashing_embedder)):
        model = "another-model"

    with pytest.raises(IndexUnavailable, match="built with model 'test-hashing'"):
        Retriever(open_store(folder), OtherModel())


def test_milvus_collection_of_another_dimension_is_refused(corpus_copy, tmp_path, hashing_embedder, milvus_server):
    location = f"milvus://{milvus_server}/dimension"
    build(corpus_copy, tmp_path / "a", hashing_embedder, location)

    class Wider(type(hashing_embedder)):
        model = "wider"
        dimension = 96

    with pytest.raises(IndexUnavailable, match="holds 64-dimensional"):
        build(corpus_copy, tmp_path / "b", Wider(), location)


@pytest.mark.parametrize("location, message", [
    ("milvus://127.0.0.1:1/nothing", "cannot use Milvus at milvus://127.0.0.1:1/nothing"),
    ("milvus://127.0.0.1/nothing", "bad Milvus address"),
    ("milvus:nothing.txt", "unknown store"),
])
def test_unreachable_or_malformed_milvus_gives_one_line(location, message, tmp_path, hashing_embedder):
    with pytest.raises(IndexUnavailable, match=message) as err:
        build(CORPUS, tmp_path / "index", hashing_embedder, normalise_location(location))
    assert "\n" not in str(err.value)


@pytest.fixture
def credential_refusing_server():
    """A gRPC server that answers every call as an auth-enabled Milvus answers a wrong or
    missing token (Milvus Lite has no authentication to test against)."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    class Refuse(grpc.GenericRpcHandler):
        def service(self, details):
            def refuse(request, context):
                context.abort(grpc.StatusCode.UNAUTHENTICATED,
                              "auth check failure, please check username and password are correct")
            return grpc.unary_unary_rpc_method_handler(refuse)

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Refuse(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"milvus://127.0.0.1:{port}/scoqa"
    server.stop(grace=None)


@pytest.mark.parametrize("token, message", [("root:wrong", "refused the credentials"),
                                            ("", "wants credentials")])
def test_refused_token_gives_one_line(token, message, credential_refusing_server, tmp_path, hashing_embedder,
                                      monkeypatch):
    monkeypatch.setenv("SCOQA_MILVUS_TOKEN", token)
    with pytest.raises(IndexUnavailable, match=message) as err:
        build(CORPUS, tmp_path / "index", hashing_embedder, credential_refusing_server)
    assert "SCOQA_MILVUS_TOKEN" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.model  # the CLI loads the real embedder
def test_cli_indexes_into_milvus_lite_and_ask_needs_no_flag(tmp_path, capsys, monkeypatch):
    from scoqa.app.cli import main

    folder, db = tmp_path / "index", tmp_path / "scoqa.db"
    assert main(["index", str(CORPUS), "--index", str(folder), "--store", f"milvus:{db}", "-q"]) == 0
    capsys.readouterr()
    assert main(["search", "Which states are members of the SCO?", "--index", str(folder), "-k", "1"]) == 0
    assert "003_6e92cf0aa20c499b.txt" in capsys.readouterr().out
    assert main(["index", "--index", str(tmp_path / "x"), "--store", "milvus://127.0.0.1:1/c", "-q", str(CORPUS)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_each_thread_stems_with_its_own_stemmer():
    """A PyStemmer object may not be shared between threads; the chat asks from several."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from scoqa.index.protocol import _stemmer, keyword_tokens

    together = threading.Barrier(4)

    def stem_in_a_thread(_):
        stemmer = _stemmer()
        tokens = keyword_tokens(["The memoranda were signed"])[0]
        together.wait(timeout=30)  # four threads at once, each still holding its stemmer
        return id(stemmer), tokens

    with ThreadPoolExecutor(4) as pool:
        ids, tokens = zip(*pool.map(stem_in_a_thread, range(4)))
    assert len(set(ids)) == 4 and _stemmer() is _stemmer()
    assert all(t == tokens[0] for t in tokens) and "sign" in tokens[0]
