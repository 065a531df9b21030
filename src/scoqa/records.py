"""The plain records that flow one way through scoqa: Document -> Chunk -> Hit -> Span ->
AnswerSpan (and on to the Answer and its Citations, `scoqa.answer.assistant`).

A reader reads a list of texts and names the one a `Span` stands in by its place in that
list; from there on an answer candidate is an `AnswerSpan`, which holds the retrieved passage
itself and its offsets into that passage's document, so no list is consulted on the way to a
citation.

Offsets always count Unicode code points (Python string indices, not bytes or UTF-16 units)
and point into `Document.text`, which for .txt and .md files is the file's own decoded text
(`open(file, encoding=Document.encoding)`), so a citation can be checked against the file
itself. Importing this module loads no model and no numerical library.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Document:
    """One file as scoqa extracted it, with the metadata its text states (date, title).

    `content` lists the (start, end) spans of `text` that hold article text; the rest
    (menus, link lists, widgets, foreign interface text) stays in `text` so offsets remain
    true, but is never chunked. `sections` are (start, end, label) spans whose chunks are
    searched and read with their label (the headings above them; a table row's column names),
    since a passage cut from its heading or header row loses its subject. `pages` holds the
    offset at which each page of a PDF begins. `encoding` is the encoding a .txt or .md file
    was read in (`open(file, encoding=...)` reads `text`); None where `text` is extracted.
    """

    source: str
    text: str
    sha256: str
    date: str | None = None
    title: str | None = None
    content: tuple[tuple[int, int], ...] = ()
    sections: tuple[tuple[int, int, str], ...] = ()
    pages: tuple[int, ...] = ()
    encoding: str | None = None

    def label_at(self, offset: int) -> str | None:
        """The label of the section that holds offset (a code point of `text`), if any."""
        i = bisect_right(self.sections, (offset, float("inf"))) - 1
        return self.sections[i][2] if i >= 0 and offset < self.sections[i][1] else None

    def page_at(self, offset: int) -> int | None:
        """The 1-based page of a PDF that holds offset; None for documents without pages."""
        return bisect_right(self.pages, offset) if self.pages else None


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `document.text[start:end] == text`, offsets in code points."""

    document: Document
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.document.text[self.start : self.end]

    @property
    def source(self) -> str:
        return self.document.source


@dataclass(frozen=True)
class Location:
    """Where a passage stands: used to say where else a duplicated passage appears."""

    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the scores that ranked it: `score` the fused one (higher is
    better), `dense` the cosine and `bm25` the keyword score where they were computed, and
    `also_in` the other places where a copy of the passage stands."""

    chunk: Chunk
    score: float
    dense: float | None = None
    bm25: float | None = None
    also_in: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Span:
    """One answer as a reader found it: ``passages[passage_index][start:end] == text``, where
    `passages` is the list of texts the reader was given (`passage_index` its place there, as
    the re-ranker also reads it), offsets in code points of that text.

    ``confidence`` is a probability that the span answers the question (the reader's calibrated
    one, or the re-ranker's). ``features`` are the reader's scores of the span
    (``scoqa.answer.reader.FEATURES``, in order) and ``state`` the reader's last hidden layer at
    the span's first token, its last token and the window's first token (shape ``(3, hidden)``,
    float32): what a re-ranker reads without a second forward pass. Both are empty for spans that
    no reader scored (an abbreviation spelt out by rule).
    """

    passage_index: int
    start: int
    end: int
    text: str
    confidence: float
    features: tuple[float, ...] = ()
    state: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AnswerSpan:
    """An answer candidate where it stands: `hit` is the retrieved passage it was read from,
    and ``hit.chunk.document.text[start:end] == text``, offsets in code points of the document,
    inside the chunk. ``confidence`` as in `Span`. What the Assistant picks, widens to a list,
    splits into parts and cites."""

    hit: Hit
    start: int
    end: int
    text: str
    confidence: float

    @classmethod
    def in_chunk(cls, hit: Hit, start: int, end: int, confidence: float) -> AnswerSpan:
        """The span ``hit.chunk.text[start:end]`` (offsets into the chunk's own text)."""
        chunk = hit.chunk
        return cls(hit, chunk.start + start, chunk.start + end, chunk.text[start:end], confidence)

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk
