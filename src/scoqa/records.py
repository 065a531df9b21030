"""The plain records that flow one way through scoqa: Document -> Chunk -> Hit.

Offsets always point into `Document.text`, which for .txt and .md files is the file's own
decoded text, so a citation can be checked against the file itself.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One file as scoqa extracted it, with the metadata its text states (date, title).

    `content` lists the (start, end) spans of `text` that hold article text; the rest
    (menus, link lists, widgets, foreign interface text) stays in `text` so offsets remain
    true, but is never chunked.
    """

    source: str
    text: str
    sha256: str
    date: str | None = None
    title: str | None = None
    content: tuple[tuple[int, int], ...] = ()


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
class Passage:
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
    also_in: tuple[Passage, ...] = ()
