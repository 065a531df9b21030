"""Answers with citations: plan, retrieve passages, read them, re-rank the reader's candidates,
decide, and cite the answer where it stands.

The one facade that the command line, the chat UI and the eval harness all call.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence, TypeVar

from ..errors import ScoqaError
from ..index.protocol import ChunkStore
from ..index.registry import open_store
from ..index.uploads import UploadReport, add_uploads
from ..ingest.chunk import passage
from ..records import AnswerSpan, Document, Hit, Location, Span
from ..retrieve.embed import Embedder
from ..retrieve.fusion import mode_named
from ..retrieve.retriever import Retriever
from ..text import as_read, loose_pattern, reading_view, sentences
from ..userinput import require_text, require_whole_number
from .abbreviations import CONFIDENCE, Glossary, first_expansion
from .lists import MAX_ITEM_WORDS, item_spans, same_shape, widen_to_enumeration
from .question import QuestionPlan, plan
from .reader import Reader, Reads
from .rerank import DEPTH, Reranker, Reranks

NOT_FOUND = "not found in the documents"
# The three tiers of an answer (`Answer.status`).
ANSWERED, UNSURE, NOT_FOUND_STATUS = "answered", "unsure", "not_found"


class _Committed(Protocol):
    committed: bool


_Change = TypeVar("_Change", bound=_Committed)


@dataclass(frozen=True)
class AssistantSettings:
    """The Assistant's knobs, in one place.

    - `k`: passages retrieved and read per question; the re-ranker and its thresholds were
      fitted reading this many (``scripts/train_reranker.py -k``), so change them together.
    - `first_read`: read this many passages first, and the rest only if none of their spans is
      worth answering with (most answers stand in the first passages).
    - `list_margin`: a list answer's further parts must be nearly as likely as its best one.
    - `threshold`: the least confidence worth answering with (None: the re-ranker's own).
    """

    k: int = 3
    first_read: int = 2
    list_margin: float = 0.15
    max_question_chars: int = 2000
    threshold: float | None = None


class BadQuestion(ScoqaError):
    """A question that cannot be asked (empty, too long): the asker's to fix, not a failure."""


@dataclass(frozen=True)
class Citation:
    """A quote and where it stands: `document text[start:end] == quote`; `page` for a PDF;
    `encoding` for a .txt or .md file, which `open(file, encoding=...)` reads the quote from."""

    source: str
    start: int
    end: int
    quote: str
    date: str | None = None
    page: int | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class Answer:
    """One answer in one of three tiers (`status`):

    - "answered": `text` is the answer; `span` is it where it stands, and the first citation is
      the evidence sentence that contains it (`evidence` is that sentence as a reader reads it,
      `text.as_read`: a word hyphenated across lines whole, a ligature as its letters). A list answer ("which states...") has one `parts`
      entry per item, each where it stands, drawn from every passage that names one.
    - "unsure": `text` is None; `guess` is the best candidate, shown as a possible answer for the
      user to check, with its evidence sentence as `evidence` and the first citation.
    - "not_found": `text` is None; the documents do not seem to say, and `related` offers the
      closest passages. `guess` is still the best candidate if there was one (for measuring).

    `confidence` is the re-ranker's probability that the best candidate answers the question,
    in every tier. Offsets in citations are code points into the document text.
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
    status: str = NOT_FOUND_STATUS

    def to_json(self) -> dict:
        """The answer as ``scoqa ask --json`` prints it: "answer" is the text of an answered
        question and null otherwise; "status" names the tier; "guess" is the best candidate as
        a citation (source, start, end, quote, date, page) whenever there is one. The keys
        before "status" keep the order they had before the tiers."""
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
            "status": self.status,
            "guess": None if self.guess is None else self.guess.__dict__,
        }


class ReaderOrder:
    """The re-ranking stage left out: the reader's own order and confidence, its no-answer
    threshold for answering and `unsure_threshold` for showing a possible answer. For readers
    whose confidence is already what the Assistant should decide on (stand-ins in tests)."""

    def __init__(self, answer_threshold: float, unsure_threshold: float | None = None):
        self.answer_threshold = answer_threshold
        self.unsure_threshold = answer_threshold if unsure_threshold is None else unsure_threshold

    def rerank(self, question: str, spans: Sequence[Span], passages: Sequence[str],
               passage_scores: Sequence[float]) -> list[Span]:
        return list(spans)


class Assistant:
    """Thread-safe: many sessions may ask at once; adding files swaps the index in whole.

    `reranker` orders the reader's candidates and owns the tier thresholds; None keeps the
    reader's own order and threshold (`ReaderOrder`)."""

    def __init__(self, retriever: Retriever, reader: Reads, settings: AssistantSettings = AssistantSettings(),
                 reranker: Reranks | None = None):
        self.retriever = retriever
        self.reader = reader
        self.reranker = reranker or ReaderOrder(reader.no_answer_threshold)
        self.settings = settings
        self._glossary: tuple[ChunkStore, Glossary] | None = None
        self.threshold = self.reranker.answer_threshold if settings.threshold is None else settings.threshold
        self.unsure_threshold = min(self.reranker.unsure_threshold, self.threshold)
        self._adding = threading.Lock()

    @classmethod
    def open(cls, index_folder: Path, reader: Reads | None = None, settings: AssistantSettings = AssistantSettings(),
             embedder: Embedder | None = None, reranker: Reranks | None = None) -> "Assistant":
        """Load the index, its embedding model, the reader and the re-ranker once; ask many
        times. An `embedder` already loaded (the one that just built the index) is reused if it
        is the index's model; `reader` and `reranker` default to the shipped ones."""
        index = open_store(index_folder)
        if embedder is None or embedder.model != index.model:
            embedder = Embedder(index.model)
        return cls(Retriever(index, embedder), reader or Reader.load(), settings, reranker or Reranker.load())

    @property
    def k(self) -> int:
        return self.settings.k

    @property
    def index_folder(self) -> Path:
        return self.retriever.index.folder

    @property
    def documents(self) -> Mapping[str, Document]:
        """The indexed documents by source, as the index holds them now."""
        return self.retriever.index.by_source

    def add_files(self, files: Sequence[Path], names: Sequence[str] | None = None,
                  notify: Callable[[str], None] = lambda message: None) -> UploadReport:
        """Add uploaded files to `uploads/` of the indexed folder (see `scoqa.index.uploads`)."""
        return self.change_index(lambda index, embedder: add_uploads(index, embedder, files, names, notify))

    def change_index(self, change: Callable[[ChunkStore, Embedder], _Change]) -> _Change:
        """Run `change` (a build, an upload, a removal) on the index, one change at a time, and
        if it committed, swap the new index in whole: questions asked meanwhile are answered
        from the previous one."""
        with self._adding:
            result = change(self.retriever.index, self.retriever.embedder)
            if result.committed:
                self.retriever = Retriever(open_store(self.retriever.index.folder), self.retriever.embedder,
                                           self.retriever.settings)
            return result

    def _read(self, asked: QuestionPlan, hits: list[Hit]) -> list[AnswerSpan]:
        """Read the passages and re-rank the candidates: the best-ranked passages first, and the
        rest only when no candidate of theirs is worth answering with (most answers stand in the
        first passages, and reading is nearly all of the time an answer takes: measured on the
        gold set with reader run 4, p50 242 against 336 ms, the same answers right). A list
        question reads everything. Spans that cannot answer the question
        (`QuestionPlan.admits`) are dropped as they are read; the re-ranker weighs the reader's
        `rerank.DEPTH` most confident of the rest.

        A chunk is read as a reader reads it, after its section's label (`ingest.chunk.passage`),
        and only spans of the chunk's own text are kept, each placed in its passage: the Hit,
        and the offsets and text of the original document."""
        views = [passage(h.chunk) for h in hits]
        passages = [v.text for v in views]
        scores = [h.score for h in hits]
        first = len(passages) if asked.listing else min(len(passages), self.settings.first_read)
        everything = len(passages) * DEPTH  # enough that DEPTH remain after `fits`
        read = [s for s in self.reader.read(asked.question, passages[:first], top_n=everything, threshold=0.0)
                if asked.admits(passages[s.passage_index], s.start, s.end)]
        spans = self.reranker.rerank(asked.question, read[:DEPTH], passages[:first], scores[:first])
        if first < len(passages) and (not spans or spans[0].confidence < self.threshold):
            rest = self.reader.read(asked.question, passages[first:], top_n=everything, threshold=0.0)
            read += [replace(s, passage_index=s.passage_index + first) for s in rest
                     if asked.admits(passages[first + s.passage_index], s.start, s.end)]
            read.sort(key=lambda s: (-s.confidence, s.passage_index, s.start, s.end))
            spans = self.reranker.rerank(asked.question, read[:DEPTH], passages, scores)
        kept = []
        for span in spans:  # the reader's and re-ranker's places in the list end here
            found = views[span.passage_index].chunk_span(span.start, span.end)
            if found is not None:
                kept.append(AnswerSpan.in_chunk(hits[span.passage_index], *found, span.confidence))
        return kept

    def ask(self, question: str, history: Sequence[str] = (), k: int | None = None,
            mode: str | None = None) -> Answer:
        """Answer from the documents: plan, retrieve, read, pick. `history` holds the chat's
        earlier questions, oldest first, so that a follow-up ("And where was it signed?") is
        searched in their context.

        `k`: passages to read (None: the settings'); `mode`: "hybrid", "dense" or "bm25" (None:
        the retriever's). Raises BadQuestion for an empty or overlong question, BadInput for one
        that is not text, a `k` that is not a whole number of at least 1, or an unknown mode."""
        k = self.k if k is None else require_whole_number(k, "k", 1)
        mode = None if mode is None else mode_named(mode)
        question = require_text(question, "the question").strip()
        if not question:
            raise BadQuestion("the question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise BadQuestion(f"the question is too long ({len(question):,} characters; at most {limit:,})")
        retriever = self.retriever  # one index throughout, even if files are added meanwhile
        asked = plan(question, history, self._glossary_of(retriever.index))
        retrieved = retriever.search(asked.search_query, k=asked.depth(k), mode=mode)
        hits = asked.select(retrieved, k)
        if spelt := asked.expands and _spelt_out(asked.expands, retrieved, k):
            hits, spans = spelt
        else:
            spans = self._read(asked, hits)
        if not spans:
            return Answer(question, None, 0.0, None, (), related=tuple(hits), hits=tuple(hits))
        chosen = self._pick(asked, spans)
        best = chosen[0]
        guess = _span_citation(best)
        if best.confidence < self.threshold:
            if best.confidence < self.unsure_threshold:
                return Answer(question, None, best.confidence, None, (), related=tuple(hits), guess=guess,
                              hits=tuple(hits), status=NOT_FOUND_STATUS)
            evidence = _evidence(best)
            return Answer(question, None, best.confidence, as_read(evidence.quote), (evidence,), guess=guess,
                          hits=tuple(hits), status=UNSURE)
        citations = []
        for span in chosen + spans:
            if span in chosen or any(_same_answer(span.text, c.text) for c in chosen):
                evidence = _evidence(span)
                citations.append(evidence)
                citations += [c for place in span.hit.also_in if (c := _copy(retriever.index, place, evidence))]
        unique = tuple({(c.source, c.start, c.end): c for c in citations}.values())
        parts: dict[str, Citation] = {}
        if asked.listing or asked.who_did:
            for span in chosen:
                for item in item_spans(span):
                    parts.setdefault(" ".join(item.text.lower().split()), _span_citation(item))
        if asked.statement:
            text = unique[0].quote
        elif len(chosen) == 1 and len(parts) == 2 and asked.who_did:
            text = "; ".join(part.quote for part in parts.values())
        else:
            text = "; ".join(span.text for span in chosen)
        return Answer(question, text, best.confidence, as_read(unique[0].quote), unique, span=guess,
                      parts=tuple(parts.values()), guess=guess, hits=tuple(hits), status=ANSWERED)

    def _glossary_of(self, index: ChunkStore) -> Glossary:
        """The names the indexed documents define, with the common short forms; made once per
        index (a new index comes in whole when files are added)."""
        made = self._glossary
        if made is None or made[0] is not index:
            made = (index, Glossary.from_documents(d.text for d in index.documents))
            self._glossary = made
        return made[1]

    def _pick(self, asked: QuestionPlan, spans: list[AnswerSpan]) -> list[AnswerSpan]:
        """The span(s) to answer with: the most confident one, widened to the enumeration or
        the pair it belongs to where the question asks for several, or cut to the part of a
        pair for the side the question names (`QuestionPlan.part_for_the_side`); for a list, every other
        part nearly as confident and of the same shape (`lists.same_shape`), once each: when
        the best part is a whole enumeration ("India, China ... and Uzbekistan"), a lone name
        found elsewhere ("Moscow" of "the Moscow Declaration") is no member of it."""
        best = spans[0]
        if asked.who_did:
            return [_widened(best, min_items=2, item_words=MAX_ITEM_WORDS)]
        if not asked.listing:
            return [asked.part_for_the_side(best)]
        chosen: list[AnswerSpan] = []
        for span in spans:
            if span.confidence < max(self.threshold, best.confidence - self.settings.list_margin):
                break
            span = _widened(span)
            if chosen and not same_shape(span, chosen[0]):
                continue
            if not any(_same_answer(span.text, c.text) or _overlap(span, c) for c in chosen):
                chosen.append(span)
        return chosen or [best]


def _spelt_out(abbreviation: str, retrieved: list[Hit], k: int) -> tuple[list[Hit], list[AnswerSpan]] | None:
    """Where a retrieved passage spells the abbreviation out: that passage first, and the
    expansion as the one span, as sure as its rule has proved (`abbreviations.CONFIDENCE`).
    Passages are searched as a reader reads them (`text.reading_view`: "ﬂeet" begins with an f)."""
    views = [reading_view(h.chunk.text) for h in retrieved]
    found = first_expansion(abbreviation, [(v.text, h.chunk.document.text) for v, h in zip(views, retrieved)])
    if found is None:
        return None
    index, expansion = found
    start, end = views[index].original(expansion.start, expansion.end)
    hits = [retrieved[index]] + [h for i, h in enumerate(retrieved) if i != index][: k - 1]
    return hits, [AnswerSpan.in_chunk(retrieved[index], start, end, CONFIDENCE[expansion.rule])]


def _widened(span: AnswerSpan, **rules) -> AnswerSpan:
    """`lists.widen_to_enumeration` within the span's passage."""
    return widen_to_enumeration(span.chunk.text, span, at=span.chunk.start, **rules)


def _overlap(a: AnswerSpan, b: AnswerSpan) -> bool:
    return a.chunk == b.chunk and a.start < b.end and b.start < a.end


def _span_citation(span: AnswerSpan) -> Citation:
    return _cite(span.chunk.document, span.start, span.end)


def _evidence(span: AnswerSpan) -> Citation:
    """The sentences of the span's passage that hold it."""
    chunk, a, b = span.chunk, span.start, span.end
    parts = [(s, e) for s, e in sentences(chunk.document.text, chunk.start, chunk.end) if s < b and a < e]
    start, end = (parts[0][0], parts[-1][1]) if parts else (a, b)
    return _cite(chunk.document, start, end)


def _copy(index: ChunkStore, place: Location, evidence: Citation) -> Citation | None:
    """The evidence in a copy of the passage in another document, if it stands there whole
    (copies often differ in whitespace, such as no-break spaces)."""
    doc = index.by_source.get(place.source)
    if doc is None:
        return None
    pattern = re.compile(loose_pattern(evidence.quote))
    found = pattern.search(doc.text, place.start, place.end)
    if found is None:
        return None
    return _cite(doc, found.start(), found.end())


def _cite(doc: Document, start: int, end: int) -> Citation:
    return Citation(doc.source, start, end, doc.text[start:end], doc.date, doc.page_at(start), doc.encoding)


def _same_answer(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
