from __future__ import annotations

from hypothesis import assume, given, settings, strategies as st

from scoqa.analysis import search_text
from scoqa.ingest.chunk import Chunker, ChunkSettings, count_tokens
from scoqa.ingest.formats import make_document
from scoqa.text import sentences

WORDS = st.sampled_from("the SCO secretary general met ambassador in Beijing on Monday and discussed "
                        "cooperation Mr. Dr. U.S. 2017 9.5 “quoted” (ICRC) Astana Ташкент — …".split())
SENTENCE = st.tuples(st.lists(WORDS, min_size=1, max_size=40), st.sampled_from(".!?")).map(
    lambda parts: " ".join(parts[0]) + parts[1])
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=12).map(" ".join)
TEXT = st.lists(PARAGRAPH, min_size=1, max_size=6).map("\n\n".join)


@settings(max_examples=60, deadline=None)
@given(TEXT, st.integers(min_value=8, max_value=120), st.integers(min_value=0, max_value=40))
def test_chunk_text_is_the_document_text_at_its_span(text, budget, overlap):
    doc = make_document("x.txt", text)
    assume(doc.content)
    chunks = Chunker(ChunkSettings(budget, overlap), window_tokens=lambda t: len(t.split()), window=60).chunk(doc)
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip() and chunk.text
        assert any(s <= chunk.start and chunk.end <= e for s, e in doc.content)
        assert len(search_text(chunk).split()) <= 60 or len(chunk.text.split()) == 1
    covered = {i for c in chunks for i in range(c.start, c.end)}
    for s, e in doc.content:
        for a, b in sentences(doc.text, s, e):
            assert all(i in covered for i in range(a, b) if not doc.text[i].isspace())


def test_budgets_hold_and_sentences_stay_whole():
    text = " ".join(f"Sentence number {i} tells of the meeting held in Astana in June." for i in range(60))
    doc = make_document("a.txt", text)
    chunks = Chunker(ChunkSettings(max_tokens=50, overlap_tokens=15)).chunk(doc)
    assert len(chunks) > 5
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 52  # joined sentences may add a space token or two
        assert chunk.text.startswith("Sentence") and chunk.text.endswith(".")
    assert chunks[1].start < chunks[0].end  # overlap carries a sentence over


def test_long_sentence_is_split_between_words_to_fit_the_embedder_window():
    text = ", ".join(["the cooperation of the states"] * 100) + "."
    doc = make_document("b.txt", text)
    chunks = Chunker(ChunkSettings(max_tokens=1000), window_tokens=lambda t: len(t.split()), window=100).chunk(doc)
    assert len(chunks) >= 5
    assert all(len(c.text.split()) <= 100 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_title_is_counted_against_the_window_and_prefixed_to_later_chunks():
    title = "Summit of the organisation"
    body = " ".join(f"Point {i} of the declaration concerns trade." for i in range(40))
    doc = make_document("c.txt", f"{title}\n\n{body}")
    chunks = Chunker(ChunkSettings(max_tokens=1000), window_tokens=lambda t: len(t.split()), window=50).chunk(doc)
    assert doc.title == title
    assert search_text(chunks[0]) == chunks[0].text
    assert search_text(chunks[1]) == f"{title}\n{chunks[1].text}"
    assert all(len(search_text(c).split()) <= 50 for c in chunks)


def test_sentence_splitter_respects_abbreviations():
    text = 'Mr. Smith met Dr. J. Doe in the U.S. on Monday. "Fine," he said! Then they left.'
    assert [text[a:b] for a, b in sentences(text)] == [
        "Mr. Smith met Dr. J. Doe in the U.S. on Monday.", '"Fine," he said!', "Then they left."]
