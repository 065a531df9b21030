"""Retrieval on the seed corpus with the real embedding model, and the ranking rules with the
hashing stand-in."""
from __future__ import annotations

import pytest

from scoqa.index import open_store
from scoqa.index.build import build_index
from scoqa.index.protocol import chunk_id
from scoqa.retrieve import Retriever
from scoqa.retrieve.fusion import Fusion, fuse
from scoqa.userinput import BadInput

from conftest import CORPUS

ORIGINAL, COPY = "000_8b84643337e2ca64.txt", "001_fc58cf3dceaf584f.txt"


@pytest.fixture(scope="module")
def retriever(seed_index, embedder):
    return Retriever(seed_index, embedder)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("query, source, phrase", [
    ("What did the SCO declare about Syria?", "002_7249c5024e0c0fdf.txt", "crisis in Syria"),
    ("Which states are members of the SCO?", "003_6e92cf0aa20c499b.txt", "eight Member States"),
    ("Which country is seeking dialogue partner status?", "004_8703ce6526d76945.txt", "dialogue partner status"),
])
def test_the_passage_that_answers_comes_first(retriever, mode, query, source, phrase):
    hits = retriever.search(query, k=3, mode=mode)
    assert hits[0].chunk.source == source
    assert any(phrase in h.chunk.text for h in hits)


def test_copied_article_is_returned_once_with_where_else_it_stands(retriever):
    hits = retriever.search("Who signed the memorandum between the SCO and the ICRC?", k=5)
    signed = [h for h in hits if "Rashid Alimov and ICRC Vice President" in h.chunk.text]
    assert len(signed) == 1 and hits.index(signed[0]) < 3  # the copy takes no second place
    hit = signed[0]
    assert hit.chunk.source in (ORIGINAL, COPY)
    other = COPY if hit.chunk.source == ORIGINAL else ORIGINAL
    assert [p.source for p in hit.also_in] == [other]
    place = hit.also_in[0]
    assert "Rashid Alimov and ICRC Vice President" in (CORPUS / other).read_text(encoding="utf-8")[place.start:place.end]
    for h in hits:  # no hit is a copy of another
        assert not any(p.source == g.chunk.source and p.start == g.chunk.start for g in hits for p in h.also_in)


def test_hits_point_into_the_files_and_fuse_their_scores(retriever):
    hits = retriever.search("humanitarian law", k=5)
    assert len(hits) == 5 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    weight = retriever.settings.dense_weight
    for hit in hits:
        text = (CORPUS / hit.chunk.source).read_text(encoding="utf-8")
        assert text[hit.chunk.start:hit.chunk.end] == hit.chunk.text
        # weighted fusion: the cosine's share plus at most the keyword share (BM25 / best BM25 <= 1)
        assert weight * hit.dense - 1e-6 <= hit.score <= weight * hit.dense + (1 - weight) + 1e-6
        assert hit.bm25 is not None and hit.bm25 >= 0


def test_empty_and_stopword_queries_find_nothing_by_keywords(retriever):
    assert retriever.search("   ") == []
    assert retriever.search("the of and", mode="bm25") == []


def test_fusion_is_a_pure_function_of_two_score_lists():
    dense, keyword = {"a": 0.9, "b": 0.5, "c": 0.1}, {"a": 0.0, "b": 4.0, "c": 2.0}
    assert fuse(dense, keyword, Fusion.WEIGHTED, 0.5) == pytest.approx({"a": 0.45, "b": 0.75, "c": 0.3})
    rrf = fuse(dense, keyword, Fusion.RRF, 0.5)
    assert rrf["b"] == pytest.approx(1 / 61 + 1 / 60) and rrf["a"] == pytest.approx(1 / 60 + 1 / 62)
    with pytest.raises(ValueError):
        fuse({"a": 1.0}, {}, Fusion.WEIGHTED, 0.5)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_equal_scores_are_ranked_by_chunk_id_whatever_the_order_of_indexing(tmp_path, hashing_embedder, mode):
    """Short notes with the same words score alike (too short to count as copies of each
    other): their order comes from their ids, never from the order files were read in."""
    rankings = []
    for order in (range(6), reversed(range(6))):
        docs = tmp_path / f"docs-{len(rankings)}"
        docs.mkdir()
        for n in order:
            (docs / f"note-{n}.txt").write_text("Tea is hot.\n", encoding="utf-8")
        store = open_store(build_index([docs], tmp_path / f"index-{len(rankings)}", hashing_embedder,
                                       progress=False).folder)
        hits = Retriever(store, hashing_embedder).search("hot tea", k=4, mode=mode)
        ids = [chunk_id(h.chunk.document, h.chunk.start, h.chunk.end) for h in hits]
        assert len(set(h.score for h in hits)) == 1 and ids == sorted(ids)
        rankings.append([h.chunk.source for h in hits])
    assert rankings[0] == rankings[1] and len(rankings[0]) == 4


def test_an_unknown_mode_is_refused_naming_the_modes(tmp_path, hashing_embedder):
    (tmp_path / "note.txt").write_text("The SCO met in Astana.\n", encoding="utf-8")
    store = open_store(build_index([tmp_path], tmp_path / ".index", hashing_embedder, progress=False).folder)
    with pytest.raises(BadInput, match=r"unknown mode 'fuzzy' \(choose from hybrid, dense, bm25\)"):
        Retriever(store, hashing_embedder).search("SCO", mode="fuzzy")


def test_retrieval_leaves_the_process_openmp_setting_as_it_found_it(seed_index, embedder):
    """faiss searches on one thread, but the reader (torch, which may share faiss's OpenMP
    runtime) must keep every core."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        Retriever(seed_index, embedder).search("humanitarian law", k=3)
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)
