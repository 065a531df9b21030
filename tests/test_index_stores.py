"""The same index behaviour from both stores (folder, Milvus through Milvus Lite's gRPC server),
so that the two cannot drift: building, incremental changes, interruption, the store contract
(`ChunkStore`), the seed questions, duplicate collapse, and the errors a user can cause. What
only the folder has (its files, damage, IVF) is in test_index_folder.py; the registry that picks
a store is in test_index_registry.py."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scoqa.analysis import keyword_tokens, search_text
from scoqa.index import IndexUnavailable, normalise_location, open_store
from scoqa.index.build import build_index
from scoqa.index.protocol import chunk_id
from scoqa.retrieve import Retriever

from conftest import CORPUS

ORIGINAL, COPY = "000_8b84643337e2ca64.txt", "001_fc58cf3dceaf584f.txt"
ASTANA = "Who signed the memorandum in Astana?"


def build(docs: Path, folder: Path, embedder, location: str | None, **kw):
    return build_index([docs], folder, embedder, progress=False, store=location, **kw)


def every_chunk(store, embedder) -> dict:
    """All of a store's chunks by id (a dense search as deep as the index)."""
    ids = [i for i, _ in store.dense_search(embedder.embed(["SCO"])[0], len(store))]
    assert len(ids) == len(set(ids)) == len(store)
    return store.chunks(ids)


def test_chunk_ids_follow_content():
    from scoqa.ingest import read_document

    doc, _ = read_document(CORPUS / ORIGINAL, CORPUS)
    again, _ = read_document(CORPUS / ORIGINAL, CORPUS)
    assert chunk_id(doc, 0, 10) == chunk_id(again, 0, 10)  # the same passage of the same file, read again
    assert len({chunk_id(doc, 0, 10), chunk_id(doc, 0, 11), chunk_id(replace(doc, sha256="0" * 64), 0, 10),
                chunk_id(replace(doc, source=COPY), 0, 10)}) == 4  # other offsets, content or file: another chunk


def test_incremental_build_embeds_only_new_or_changed_documents(corpus_copy, tmp_path, hashing_embedder,
                                                                store_location):
    folder = tmp_path / "index"
    first = build(corpus_copy, folder, hashing_embedder, store_location)
    assert first.documents == 5 and len(first.added) == 5 and first.embedded == first.chunks > 5
    again = build(corpus_copy, folder, hashing_embedder, None)  # the store the index already uses
    assert again.embedded == 0 and again.unchanged == 5

    (corpus_copy / "004_8703ce6526d76945.txt").write_text(
        "Uzbekistan took over the SCO chairmanship in 2021 and hosted the summit in Samarkand in 2022.\n",
        encoding="utf-8")
    (corpus_copy / "003_6e92cf0aa20c499b.txt").unlink()
    (corpus_copy / "sub").mkdir()
    (corpus_copy / "sub" / "new.md").write_text(
        "# Note\n\nThe SCO Secretariat is located in Beijing, the capital of the People's Republic of China.\n",
        encoding="utf-8")
    third = build(corpus_copy, folder, hashing_embedder, None)
    # one chunk each for the changed and the new document
    assert (third.changed, third.added, third.removed, third.embedded) == (
        ["004_8703ce6526d76945.txt"], ["sub/new.md"], ["003_6e92cf0aa20c499b.txt"], 2)

    store = open_store(folder)
    assert len(store) == third.chunks
    assert sorted(store.by_source) == [ORIGINAL, COPY, "002_7249c5024e0c0fdf.txt", "004_8703ce6526d76945.txt",
                                       "sub/new.md"]
    for name, stored in every_chunk(store, hashing_embedder).items():
        chunk = stored.chunk
        assert chunk.text == (corpus_copy / chunk.source).read_text(encoding="utf-8")[chunk.start:chunk.end]
        # kept and new vectors alike are the ones the model gives the chunk's search text
        fresh = hashing_embedder.embed([search_text(chunk)])[0]
        assert store.dense_scores(fresh, [name])[name] == pytest.approx(1.0, abs=1e-5)
    hits = Retriever(store, hashing_embedder).search("Where is the SCO Secretariat located?", k=3)
    assert hits[0].chunk.source == "sub/new.md"


@pytest.mark.parametrize("when", ["embedding", "switching"])
def test_an_interrupted_build_leaves_the_index_answering_as_before(corpus_copy, tmp_path, hashing_embedder,
                                                                   store_location, monkeypatch, when):
    """Ctrl-C while embedding, or a crash after the new rows or files are written but before the
    switch: the old index answers as before, and the next build finishes the job."""
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder, store_location)
    # dense: Milvus's BM25 statistics count the rows a build wrote before its switch, so near
    # ties in keyword scores may turn until the next build deletes them
    before = [(h.chunk.source, h.chunk.start)
              for h in Retriever(open_store(folder), hashing_embedder).search(ASTANA, mode="dense")]
    (corpus_copy / ORIGINAL).unlink()
    (corpus_copy / "extra.txt").write_text("The memorandum was signed in Astana by the SCO in 2017.\n", encoding="utf-8")

    if when == "embedding":
        class Interrupted(type(hashing_embedder)):
            def embed(self, texts, progress=False):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            build(corpus_copy, folder, Interrupted(), None)
    else:
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
        with pytest.raises(OSError):
            build(corpus_copy, folder, hashing_embedder, None)
        monkeypatch.undo()
    store = open_store(folder)
    assert ORIGINAL in store.by_source and "extra.txt" not in store.by_source
    assert [(h.chunk.source, h.chunk.start)
            for h in Retriever(store, hashing_embedder).search(ASTANA, mode="dense")] == before
    assert all(h.chunk.source != "extra.txt" for h in Retriever(store, hashing_embedder).search(ASTANA, mode="bm25"))

    report = build(corpus_copy, folder, hashing_embedder, None)
    assert report.added == ["extra.txt"] and report.removed == [ORIGINAL]
    assert sorted(open_store(folder).by_source) == sorted(p.name for p in corpus_copy.iterdir())


def _fail_on(marker: str, call):
    def failing(*args, **kwargs):
        if any(marker in str(a) for a in args):
            raise OSError("interrupted")
        return call(*args, **kwargs)
    return failing


def test_the_store_contract(corpus_copy, tmp_path, hashing_embedder, store_location):
    """What `ChunkStore` promises, each method on each store: the k best, scores for named
    chunks in the same BM25 pass, and what ids the store does not hold do."""
    store = open_store(build(corpus_copy, tmp_path / "index", hashing_embedder, store_location).folder)
    terms = keyword_tokens(["memorandum signed by the SCO Secretary-General"])[0]
    everything = store.keyword_search(terms, len(store))
    assert everything and all(score > 0 for score in everything.values())
    best = sorted(everything.values(), reverse=True)
    top = store.keyword_search(terms, 3)
    assert len(top) == 3 and sorted(top.values(), reverse=True) == pytest.approx(best[:3])

    low = min(everything, key=everything.get)  # a chunk below the top 3, named: scored in the same pass
    named = store.keyword_search(terms, 3, [low, "f" * 24])
    assert named[low] == pytest.approx(everything[low]) and named["f" * 24] == 0.0
    assert {k: v for k, v in named.items() if k not in (low, "f" * 24)} == pytest.approx(top)
    assert store.keyword_search([], 3, [low]) == {low: 0.0}  # a query of stop words only

    vector = hashing_embedder.embed(["memorandum signed in Astana"])[0]
    found = store.dense_search(vector, 4)
    assert len(found) == 4 and [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert store.dense_scores(vector, [found[0][0]])[found[0][0]] == pytest.approx(found[0][1], abs=1e-5)
    with pytest.raises(KeyError):
        store.dense_scores(vector, ["f" * 24])
    assert list(store.chunks([found[0][0], "f" * 24])) == [found[0][0]]
    assert store.count({ORIGINAL, "nothing.txt"}) == sum(1 for c in every_chunk(store, hashing_embedder).values()
                                                         if c.chunk.source == ORIGINAL) > 0


def test_a_hybrid_query_scores_bm25_once_and_reports_the_stores_scores(corpus_copy, tmp_path, hashing_embedder,
                                                                       store_location):
    store = open_store(build(corpus_copy, tmp_path / "index", hashing_embedder, store_location).folder)
    calls = []
    search = store.keyword_search

    def counted(*args, **kwargs):
        calls.append(args)
        return search(*args, **kwargs)

    store.keyword_search = counted
    query = "Who signed the memorandum between the SCO and the ICRC?"
    hits = Retriever(store, hashing_embedder).search(query, k=5)
    assert len(calls) == 1 and len(hits) == 5
    terms = keyword_tokens([query])[0]
    everything = search(terms, len(store))
    vector = hashing_embedder.embed([query])[0]
    for hit in hits:  # each hit carries the store's own scores of its chunk
        name = chunk_id(hit.chunk.document, hit.chunk.start, hit.chunk.end)
        assert hit.bm25 == pytest.approx(everything.get(name, 0.0))
        assert hit.dense == pytest.approx(store.dense_scores(vector, [name])[name], abs=1e-5)


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


def test_an_index_made_by_another_model_is_refused_then_rebuilt(corpus_copy, tmp_path, hashing_embedder,
                                                                 store_location):
    folder = tmp_path / "index"
    build(corpus_copy, folder, hashing_embedder, store_location)

    class OtherModel(type(hashing_embedder)):
        model = "another-model"

    with pytest.raises(IndexUnavailable, match="built with model 'test-hashing'"):
        Retriever(open_store(folder), OtherModel())
    report = build(corpus_copy, folder, OtherModel(), None)
    assert report.rebuilt_because == "model changed" and report.embedded == report.chunks
    assert open_store(folder).model == "another-model"


def test_milvus_collection_of_another_dimension_is_refused(corpus_copy, tmp_path, hashing_embedder, milvus_server):
    location = f"milvus://{milvus_server}/dimension"
    build(corpus_copy, tmp_path / "a", hashing_embedder, location)

    class Wider(type(hashing_embedder)):
        model = "wider"
        dimension = 96

    with pytest.raises(IndexUnavailable, match="holds 64-dimensional"):
        build(corpus_copy, tmp_path / "b", Wider(), location)


@pytest.mark.service  # the Milvus client against an address where no server listens
def test_an_unreachable_milvus_gives_one_line(tmp_path, hashing_embedder):
    with pytest.raises(IndexUnavailable, match="cannot use Milvus at milvus://127.0.0.1:1/nothing") as err:
        build(CORPUS, tmp_path / "index", hashing_embedder, normalise_location("milvus://127.0.0.1:1/nothing"))
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


@pytest.mark.service  # a gRPC server that refuses as an auth-enabled Milvus does
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
