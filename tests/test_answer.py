"""The Assistant's citation mechanics on the seed corpus, with a stand-in reader whose spans are
known, so that what is tested is retrieval, evidence and offsets rather than the model."""
from __future__ import annotations

import time

import pytest

from scoqa.answer import Assistant
from scoqa.read import Span
from scoqa.retrieve import Retriever

from conftest import CORPUS

ANSWERS = {"Who signed the memorandum for the SCO?": "Rashid Alimov",
           "How many member states does the SCO have?": "eight"}


class KnownSpans:
    """Answers a fixed question with the first occurrence of its answer in the passages."""

    def read(self, question, passages, top_n=5):
        answer = ANSWERS.get(question)
        spans = [Span(p, text.find(answer), text.find(answer) + len(answer), answer, 0.9 - 0.1 * p)
                 for p, text in enumerate(passages) if answer and answer in text]
        return spans[:top_n]


@pytest.fixture(scope="module")
def assistant(seed_index, embedder):
    return Assistant(Retriever(seed_index, embedder), KnownSpans())


def file_text(source: str) -> str:
    return (CORPUS / source).read_text(encoding="utf-8")


def test_answer_is_cited_where_it_stands(assistant):
    answer = assistant.ask("Who signed the memorandum for the SCO?")
    assert answer.text == "Rashid Alimov" and answer.confidence == pytest.approx(0.9, abs=0.2)
    first = answer.citations[0]
    assert answer.text in first.quote and first.quote == answer.evidence
    assert answer.evidence.startswith("The document was signed by") and answer.evidence.endswith("Beerli.")
    for citation in answer.citations:
        assert file_text(citation.source)[citation.start:citation.end] == citation.quote
    span = answer.span
    assert file_text(span.source)[span.start:span.end] == "Rashid Alimov"
    assert first.source == span.source and first.start <= span.start < span.end <= first.end
    # the copied article in the scrape is cited too, once, at its own offsets
    assert sorted(c.source for c in answer.citations) == ["000_8b84643337e2ca64.txt", "001_fc58cf3dceaf584f.txt"]
    assert {c.date for c in answer.citations} == {"2017-06-09", "2017-06-13"}


def test_not_found_offers_related_passages(assistant):
    answer = assistant.ask("Who chairs the SCO Business Council?")
    assert answer.text is None and answer.citations == () and answer.confidence == 0.0
    assert answer.related and all(h.chunk.text for h in answer.related)


def test_json_contract(assistant):
    payload = assistant.ask("How many member states does the SCO have?").to_json()
    assert list(payload)[:5] == ["question", "answer", "confidence", "evidence", "citations"]
    assert payload["answer"] == "eight" and isinstance(payload["confidence"], float)
    assert "eight Member States" in payload["evidence"]
    for citation in payload["citations"]:
        assert list(citation) == ["source", "start", "end", "quote", "date"]
        assert file_text(citation["source"])[citation["start"]:citation["end"]] == citation["quote"]


@pytest.mark.parametrize("question", ["", "   \n", "x" * 100_000])
def test_empty_or_huge_question_is_refused_quickly(assistant, question):
    started = time.perf_counter()
    with pytest.raises(ValueError):
        assistant.ask(question)
    assert time.perf_counter() - started < 1.0
