"""Answers with citations: retrieve passages, read them, and cite the answer where it stands.

The one facade that the command line, the chat UI and the eval harness all call.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from .chunk import sentences
from .embed import Embedder
from .errors import ScoqaError
from .index import Index
from .read import Reader, Span
from .records import Chunk, Hit, Passage
from .retrieve import Retriever
from .uploads import UploadReport, add_uploads
from .userinput import require_text

NOT_FOUND = "not found in the documents"
MAX_QUESTION_CHARS = 2000
# Read this many passages first, and the rest only if none of their spans is worth answering with.
FIRST_READ = 2
# A list answer's further parts must be nearly as likely as its best one.
LIST_MARGIN = 0.15


class BadQuestion(ScoqaError):
    """A question that cannot be asked (empty, too long): the asker's to fix, not a failure."""


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
    that contains it. A list answer ("which states...") has one `parts` entry per item, each
    where it stands, drawn from every passage that names one. `confidence` is the reader's
    probability that its best span is right, also when it was not good enough: `guess` is that
    span, kept so that the abstention trade-off can be measured.
    """

    question: str
    text: str | None
    confidence: float
    evidence: str | None
    citations: tuple[Citation, ...]
    span: Citation | None = None
    parts: tuple[Citation, ...] = ()
    related: tuple[Hit, ...] = ()
    guess: Citation | None = None
    hits: tuple[Hit, ...] = ()

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "confidence": round(self.confidence, 4),
            "evidence": self.evidence,
            "citations": [c.__dict__ for c in self.citations],
            "span": None if self.span is None else self.span.__dict__,
            "parts": [c.__dict__ for c in self.parts],
            "related": [{"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "quote": h.chunk.text}
                        for h in self.related],
        }


class Assistant:
    """Thread-safe: many sessions may ask at once; adding files swaps the index in whole."""

    def __init__(self, retriever: Retriever, reader: Reader, k: int = 5, threshold: float | None = None):
        """`threshold`: the least confidence worth answering with (default: the reader's
        no-answer threshold)."""
        self.retriever = retriever
        self.reader = reader
        self.k = k
        self.threshold = reader.no_answer_threshold if threshold is None else threshold
        self._adding = threading.Lock()

    @classmethod
    def open(cls, index_folder: Path, reader_path: Path | None = None, k: int = 5,
             embedder: Embedder | None = None) -> "Assistant":
        """Load the index, its embedding model and the reader once; ask many times. An
        `embedder` already loaded (the one that just built the index) is reused if it is the
        index's model."""
        index = Index.open(index_folder)
        if embedder is None or embedder.model != index.model:
            embedder = Embedder(index.model)
        return cls(Retriever(index, embedder), Reader.load(reader_path), k)

    def add_files(self, files: Sequence[Path], names: Sequence[str] | None = None,
                  notify: Callable[[str], None] = lambda message: None) -> UploadReport:
        """Add uploaded files to `uploads/` of the indexed folder (see `scoqa.uploads`) and
        swap the new index in whole; one upload at a time."""
        with self._adding:
            report = add_uploads(self.retriever.index, self.retriever.embedder, files, names, notify)
            if any(o.status in ("added", "replaced") for o in report.outcomes):
                self.retriever = Retriever(Index.open(self.retriever.index.folder), self.retriever.embedder,
                                           self.retriever.settings)
            return report

    def _read(self, question: str, passages: list[str], exhaustive: bool) -> list[Span]:
        """Read the best-ranked passages first and the rest only when they hold no answer above
        the threshold: most answers stand in the first passages, and reading is nearly all of
        the time an answer takes (measured on the gold set with reader run 4: p50 242 against 336 ms, the same
        answers right). A list question reads everything."""
        first = len(passages) if exhaustive else min(len(passages), FIRST_READ)
        spans = self.reader.read(question, passages[:first], top_n=2 * len(passages), threshold=0.0)
        if first < len(passages) and (not spans or spans[0].confidence < self.threshold):
            rest = self.reader.read(question, passages[first:], top_n=2 * len(passages), threshold=0.0)
            spans += [replace(s, passage=s.passage + first) for s in rest]
            spans.sort(key=lambda s: (-s.confidence, s.passage, s.start))
        return spans

    def ask(self, question: str, history: Sequence[str] = (), k: int | None = None,
            mode: str | None = None) -> Answer:
        """Answer from the documents. `history` holds the chat's earlier questions, oldest
        first, so that a follow-up ("And where was it signed?") is searched in their context.

        Raises BadQuestion for an empty or overlong question, BadInput for one that is not text."""
        question = require_text(question, "the question").strip()
        if not question:
            raise BadQuestion("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise BadQuestion(f"the question is too long ({len(question):,} characters; at most {MAX_QUESTION_CHARS:,})")
        retriever = self.retriever  # one index throughout, even if files are added meanwhile
        k = k or self.k
        years = set(_YEAR.findall(question))
        listing = _asks_for_list(question)
        hits = retriever.search(_search_query(question, history), k=3 * k if years or listing else k, mode=mode)
        hits = _in_time(hits, years)
        hits = _across_documents(hits)[: 2 * k] if listing else hits[:k]
        spans = self._read(question, [h.chunk.text for h in hits], exhaustive=listing)
        if not spans:
            return Answer(question, None, 0.0, None, (), related=tuple(hits), hits=tuple(hits))
        best = spans[0]
        guess = _span_citation(hits[best.passage].chunk, best)
        if best.confidence < self.threshold:
            return Answer(question, None, best.confidence, None, (), related=tuple(hits), guess=guess,
                          hits=tuple(hits))
        chosen = [best]
        if listing:
            chosen = []
            for span in spans:
                if span.confidence < max(self.threshold, best.confidence - LIST_MARGIN):
                    break
                span = _enumeration(hits[span.passage].chunk.text, span)
                if not any(_same_answer(span.text, c.text) or _overlap(span, c) for c in chosen):
                    chosen.append(span)
            best = chosen[0]
            guess = _span_citation(hits[best.passage].chunk, best)
        citations = []
        for span in chosen + spans:
            if span in chosen or any(_same_answer(span.text, c.text) for c in chosen):
                hit = hits[span.passage]
                evidence = _evidence(hit.chunk, span)
                citations.append(evidence)
                citations += [c for place in hit.also_in if (c := _copy(retriever.index, place, evidence))]
        unique = tuple({(c.source, c.start, c.end): c for c in citations}.values())
        parts: dict[str, Citation] = {}
        if listing:
            for span in chosen:
                for item in _items(hits[span.passage].chunk, span):
                    parts.setdefault(" ".join(item.quote.lower().split()), item)
        text = best.text if len(chosen) == 1 else "; ".join(span.text for span in chosen)
        return Answer(question, text, best.confidence, unique[0].quote, unique, guess, tuple(parts.values()),
                      guess=guess, hits=tuple(hits))


_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# A follow-up leans on the previous turn: it opens with a connective or points back with a pronoun.
_FOLLOW_UP = re.compile(r"^(?:and|but|so|also|then|what about|how about)\b"
                        r"|\b(?:it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then)\b",
                        re.IGNORECASE)
_AUXILIARY = frozenset("is are was were has have had do does did can could will would should".split())
_NOT_PLURAL = frozenset("is was has does this its his us news status process address across".split())


def _search_query(question: str, history: Sequence[str]) -> str:
    """The question, preceded by the earlier turns it leans on (up to three)."""
    context: list[str] = []
    current = question
    for earlier in reversed(history[-3:]):
        if not _FOLLOW_UP.search(current):
            break
        context.insert(0, earlier.strip())
        current = earlier
    return " ".join(context + [question])


def _in_time(hits: list[Hit], years: set[str]) -> list[Hit]:
    """For a question scoped to a year, the passages of documents dated that year; failing
    those, passages that name the year; failing both, all."""
    if not years:
        return hits
    dated = [h for h in hits if (h.chunk.document.date or "")[:4] in years]
    naming = [h for h in hits if any(y in h.chunk.text for y in years)]
    return dated or naming or hits


def _across_documents(hits: list[Hit]) -> list[Hit]:
    """The best passage of each document first: the parts of a list are often spread out."""
    seen: set[str] = set()
    firsts = [h for h in hits if h.chunk.source not in seen and not seen.add(h.chunk.source)]
    return firsts + [h for h in hits if h not in firsts]


def _asks_for_list(question: str) -> bool:
    """"Which states...", "what are...", "who have held...", "list/name the...": the answer has
    several parts."""
    words = re.findall(r"[\w'-]+", question.lower())
    if not words:
        return False
    if words[0] in ("list", "name"):
        return True
    if words[0] == "who":
        return len(words) > 1 and words[1] in ("are", "were", "have")
    if words[0] not in ("which", "what"):
        return False
    for word in words[1:]:
        if word in _AUXILIARY:
            return word in ("are", "were", "have")
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word not in _NOT_PLURAL:
            return True
    return False


_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_SEPARATOR_AT_END = re.compile(r"(?:,\s*(?:and\s+)?|\s+and\s+)$")
_WORD = r"[^\W_][\w'’-]*"


def _kind(char: str) -> str:
    return "upper" if char.isupper() else "lower" if char.islower() else "digit" if char.isdigit() else "other"


def _enumeration(text: str, span: Span) -> Span:
    """The whole enumeration the span is one item of ("India" in "India, China, ... and
    Uzbekistan"): readers trained on one-span answers often pick a single item of a list.
    Items are short runs of words that begin like the span does (capital, lower case, digit)."""
    kind = _kind(span.text[:1])
    width = max(len(part.split()) for part in _SEPARATOR.split(span.text)) + 1
    item = re.compile(rf"{_WORD}(?: {_WORD}){{0,{width - 1}}}?(?=,|\s+and\s|\s*[.;:!?)\n]|\s*$)")
    start, end = span.start, span.end
    while (sep := _SEPARATOR.match(text, end)) and (found := item.match(text, sep.end())) \
            and _kind(text[sep.end()]) == kind:
        end = found.end()
    while sep := _SEPARATOR_AT_END.search(text, max(0, start - 80), start):
        segment = re.split(r"[,;:.!?()\n]|\s+and\s+|\s+[-–—]\s+", text[max(0, sep.start() - 80):sep.start()])[-1]
        words = segment.split()
        last = words[-1] if len(words) > width else " ".join(words)  # a long run: its last word begins the list
        if not last or _kind(last[0]) != kind or not re.fullmatch(rf"{_WORD}(?: {_WORD})*", last):
            break
        start = sep.start() - len(last)
        if len(words) > width:
            break
    if len(_SEPARATOR.findall(text, start, end)) < 2:  # "Meanwhile, Zhang Ming" is no list
        return span
    return replace(span, start=start, end=end, text=text[start:end])


def _overlap(a: Span, b: Span) -> bool:
    return a.passage == b.passage and a.start < b.end and b.start < a.end


def _span_citation(chunk: Chunk, span: Span) -> Citation:
    start, end = chunk.start + span.start, chunk.start + span.end
    return Citation(chunk.source, start, end, chunk.document.text[start:end], chunk.document.date)


def _items(chunk: Chunk, span: Span) -> list[Citation]:
    """The items of an enumeration ("India, China and Russia"), each where it stands; the span
    whole when it is not one (items of more than six words are not list items)."""
    whole = _span_citation(chunk, span)
    items, at = [], 0
    for sep in [*_SEPARATOR.finditer(span.text), None]:
        stop = sep.start() if sep else len(span.text)
        if stop > at:
            items.append((at, stop))
        at = sep.end() if sep else at
    if len(items) < 2 or any(len(span.text[a:b].split()) > 6 for a, b in items):
        return [whole]
    return [_span_citation(chunk, Span(span.passage, span.start + a, span.start + b, span.text[a:b], span.confidence))
            for a, b in items]


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
    pattern = re.compile(loose_pattern(evidence.quote))
    found = pattern.search(doc.text, place.start, place.end)
    if found is None:
        return None
    return Citation(doc.source, found.start(), found.end(), found.group(), doc.date)


def loose_pattern(text: str) -> str:
    """A regular expression for `text` in which any run of whitespace matches any other: copies
    of a passage differ in spaces (no-break spaces, line breaks)."""
    return r"\s+".join(map(re.escape, text.split()))


def _same_answer(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
