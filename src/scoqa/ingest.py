"""Read files and folders into Documents; skip what cannot be read, saying why."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable

from .clean import clean
from .records import Document

SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf"})


class UnreadableFile(Exception):
    """A file that cannot become a Document; the message says why in a few words."""


def discover(paths: Iterable[Path], base: Path | None = None) -> tuple[Path, list[Path]]:
    """The base folder that sources are named relative to (by default the folders' common
    parent), and the readable files under paths.

    Raises FileNotFoundError for a path that does not exist."""
    paths = [Path(p).resolve() for p in paths]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
    roots = [p if p.is_dir() else p.parent for p in paths]
    if base is not None:
        base = Path(base).resolve()
        outside = [p for p in paths if not p.is_relative_to(base)]
        if outside:
            raise ValueError(f"{outside[0]} is outside {base}")
    else:
        base = Path(os.path.commonpath(roots)) if roots else Path.cwd()
    files: set[Path] = set()
    for path in paths:
        if path.is_dir():
            files.update(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.add(path)
    return base, sorted(files)


def read_document(path: Path, base: Path) -> tuple[Document, str | None]:
    """The file as a Document, and a warning (such as a fallback decoding) or None.

    Raises UnreadableFile with a short reason."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UnreadableFile(f"cannot read: {err.strerror or err}") from None
    text, warning = extract_text(data, path.suffix.lower())
    return make_document(path.relative_to(base).as_posix(), text, data), warning


def make_document(source: str, text: str, data: bytes | None = None) -> Document:
    cleaned = clean(text)
    digest = hashlib.sha256(data if data is not None else text.encode("utf-8")).hexdigest()
    return Document(source=source, text=text, sha256=digest, date=cleaned.date, title=cleaned.title,
                    content=cleaned.content)


def extract_text(data: bytes, suffix: str) -> tuple[str, str | None]:
    """The document text and a warning, if any. Raises UnreadableFile."""
    if suffix == ".pdf":
        text, warning = _pdf_text(data), None
    else:
        if b"\x00" in data[:8192]:
            raise UnreadableFile("binary file (NUL bytes), not text")
        text, warning = _decode(data)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    if not text.strip():
        raise UnreadableFile("empty: no text to index")
    return text, warning


def _decode(data: bytes) -> tuple[str, str | None]:
    """UTF-8 as Python's open() reads it (a BOM stays, so offsets match open().read());
    otherwise cp1252, then latin-1, with a warning."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "not UTF-8; decoded as cp1252, offsets refer to that decoding"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "not UTF-8; decoded as latin-1, offsets refer to that decoding"


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableFile("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        raise UnreadableFile(f"broken PDF: {err}") from None
    text = "\n\n".join(p.strip() for p in pages)
    if not text.strip():
        raise UnreadableFile("PDF has no extractable text (scanned image?)")
    return text


class _TextExtractor(HTMLParser):
    """Visible text with block elements on their own lines; scripts and styles dropped."""

    _SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
              "footer", "nav", "aside", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
              "title", "form", "dd", "dt", "figcaption", "main"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
