"""Answers with citations: retrieve passages, read them, and cite the answer where it stands.

The one facade that the command line, the chat UI and the eval harness all call.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .chunk import sentences
from .embed import Embedder
from .index import Index
from .read import Reader, Span
from .records import Chunk, Hit, Passage
from .retrieve import Retriever

NOT_FOUND = "not found in the documents"
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Citation:
    """A quote and where it stands: `document text[start:end] == quote`."""

    source: str
    start: int
    end: int
    quote: str
    date: str | None = None


@dataclass(frozen=True)
class Answer:
    """`text` is None when the documents do not say; `related` then offers the closest passages.
    `span` is the answer itself where it stands; the first citation is the evidence sentence
    that contains it."""

    question: str
    text: str | None
    confidence: float
    evidence: str | None
    citations: tuple[Citation, ...]
    span: Citation | None = None
    related: tuple[Hit, ...] = ()

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "confidence": round(self.confidence, 4),
            "evidence": self.evidence,
            "citations": [c.__dict__ for c in self.citations],
            "span": None if self.span is None else self.span.__dict__,
            "related": [{"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "quote": h.chunk.text}
                        for h in self.related],
        }


class Assistant:
    def __init__(self, retriever: Retriever, reader: Reader, k: int = 5):
        self.retriever = retriever
        self.reader = reader
        self.k = k

    @classmethod
    def open(cls, index_folder: Path, reader_path: Path | None = None, k: int = 5) -> "Assistant":
        """Load the index, its embedding model and the reader once; ask many times."""
        index = Index.open(index_folder)
        return cls(Retriever(index, Embedder(index.model)), Reader.load(reader_path), k)

    def ask(self, question: str, k: int | None = None, mode: str | None = None) -> Answer:
        """Raises ValueError for an empty or overlong question."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is too long ({len(question):,} characters; at most {MAX_QUESTION_CHARS:,})")
        hits = self.retriever.search(question, k=k or self.k, mode=mode)
        spans = self.reader.read(question, [h.chunk.text for h in hits]) if hits else []
        if not spans:
            return Answer(question, None, 0.0, None, (), related=tuple(hits))
        best = spans[0]
        hit = hits[best.passage]
        evidence = _evidence(hit.chunk, best)
        citations = [evidence]
        for span in spans[1:]:
            if _same_answer(span.text, best.text):
                citations.append(_evidence(hits[span.passage].chunk, span))
        citations += [c for place in hit.also_in if (c := _copy(self.retriever.index, place, evidence))]
        unique = tuple({(c.source, c.start, c.end): c for c in citations}.values())
        span = Citation(hit.chunk.source, hit.chunk.start + best.start, hit.chunk.start + best.end, best.text,
                        hit.chunk.document.date)
        return Answer(question, best.text, best.confidence, evidence.quote, unique, span)


def _evidence(chunk: Chunk, span: Span) -> Citation:
    """The sentences of the chunk that hold the span."""
    a, b = chunk.start + span.start, chunk.start + span.end
    parts = [(s, e) for s, e in sentences(chunk.document.text, chunk.start, chunk.end) if s < b and a < e]
    start, end = (parts[0][0], parts[-1][1]) if parts else (a, b)
    return Citation(chunk.source, start, end, chunk.document.text[start:end], chunk.document.date)


def _copy(index: Index, place: Passage, evidence: Citation) -> Citation | None:
    """The evidence in a copy of the passage in another document, if it stands there whole
    (copies often differ in whitespace, such as no-break spaces)."""
    doc = index.by_source.get(place.source)
    if doc is None:
        return None
    pattern = re.compile(r"\s+".join(map(re.escape, evidence.quote.split())))
    found = pattern.search(doc.text, place.start, place.end)
    if found is None:
        return None
    return Citation(doc.source, found.start(), found.end(), found.group(), doc.date)


def _same_answer(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
