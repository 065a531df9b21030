"""The plain records that flow one way through scoqa: Document -> Chunk -> Hit.

Offsets always point into `Document.text`, which for .txt and .md files is the file's own
decoded text (`open(file, encoding=Document.encoding)`), so a citation can be checked against
the file itself.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


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
        """The label of the section that holds offset, if any."""
        i = bisect_right(self.sections, (offset, float("inf"))) - 1
        return self.sections[i][2] if i >= 0 and offset < self.sections[i][1] else None

    def page_at(self, offset: int) -> int | None:
        """The 1-based page of a PDF that holds offset; None for documents without pages."""
        return bisect_right(self.pages, offset) if self.pages else None


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `document.text[start:end] == text`."""

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
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    dense: float | None = None
    bm25: float | None = None
    also_in: tuple[Location, ...] = ()
