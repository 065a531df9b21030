"""A PDF's text layer as a reader reads it, page by page, with pypdf.

pypdf gives one line per line of type. A line that wraps into the next (a paragraph's lines)
is joined to it by a space, so that a sentence is one sentence wherever the page broke it; a
word hyphenated across lines keeps its hyphen and line break, which sentences and the reading
view read across (`text.sentences`, `text.reading_view`). A PDF that opens without a password
(an empty user password, as bank statements and forms have) is read; one that needs a
password is named so.
"""
from __future__ import annotations

import io
import logging
import re

from .extracted import Extracted, UnreadableFile
from ..text import ENDS_LIKE_A_SENTENCE, FUNCTION_WORDS, LINE_END_HYPHENS

LOCKED = "password-protected PDF: it opens only with its password; save a copy without one and index that"
# A line at least this share of the page's longest line, on a page with at least
# _PARAGRAPH_LINES such lines, runs to the margin: a paragraph's line that wraps.
_FULL_LINE = 0.8
_PARAGRAPH_LINES = 3
# Titles that PDF writers fill in themselves, which name no document.
_NO_TITLE = re.compile(r"^(?:untitled|microsoft word - .*|.*\.(?:docx?|odt|rtf|txt|tex|dvi|pdf|pptx?|xlsx?))$",
                       re.IGNORECASE)


def pdf_text(data: bytes) -> Extracted:
    """The pages' text joined by a blank line, each page's start, and the title the PDF's
    metadata gives. Raises UnreadableFile (broken, password-protected, no text layer)."""
    from pypdf import PdfReader, PasswordType
    from pypdf.errors import DependencyError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError) as err:
                raise UnreadableFile(f"encrypted PDF that this installation cannot open ({err})") from None
            if opened == PasswordType.NOT_DECRYPTED:
                raise UnreadableFile(LOCKED)
        pages = [reflow((page.extract_text() or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
                 for page in reader.pages]
        title = _title(reader)
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        raise UnreadableFile(f"broken PDF: {err}") from None
    if not any(pages):
        raise UnreadableFile("PDF has no text layer (scanned?)")
    starts, at = [], 0
    for page in pages:
        starts.append(at)
        at += len(page) + 2
    return Extracted("\n\n".join(pages), pages=tuple(starts), title=title)


def _title(reader) -> str | None:
    """The document title in the PDF's metadata, unless a writer's placeholder or a file name."""
    try:
        title = reader.metadata.title if reader.metadata is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    title = " ".join(str(title).split()) if title else ""
    return title if title and not _NO_TITLE.match(title) else None


def reflow(page: str) -> str:
    """A page's lines with each wrapped line joined to the next by a space (`wraps`)."""
    lines = [line.rstrip() for line in page.split("\n")]
    width = max((len(line) for line in lines), default=0)
    full = width if sum(len(line) >= _FULL_LINE * width for line in lines) >= _PARAGRAPH_LINES else None
    out = [lines[0]] if lines else []
    for before, line in zip(lines, lines[1:]):
        if wraps(before, line, full):
            out.append(" " + line.lstrip())
        else:
            out.append("\n" + line)
    return "".join(out)


def wraps(line: str, following: str, width: int | None) -> bool:
    """Whether a reader reads on from `line` into `following` as one sentence: the line does
    not end like a sentence, the next begins with a word, and the next begins in lowercase, or
    the line ends with a comma or a function word ("by", "the"), or it runs to the margin
    (at least 0.8 of `width`, the page's longest line where the page has paragraphs). A word
    hyphenated across the lines is not joined: its line break stays for the reading view."""
    line, following = line.strip(), following.strip()
    if not line or not following or ENDS_LIKE_A_SENTENCE.search(line):
        return False
    if not (following[0].isalnum() or following[0] in "\"“‘'("):
        return False
    if line[-1] in LINE_END_HYPHENS and following[0].islower():
        return False
    last = line.split()[-1].lower()
    return (following[0].islower() or line.endswith(",") or last in FUNCTION_WORDS
            or (width is not None and len(line) >= _FULL_LINE * width))
