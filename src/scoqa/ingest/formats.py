"""Read files and folders into Documents; skip what cannot be read, saying why."""
from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Iterable

from ..records import Document
from .clean import clean
from .structure import first_heading, sections

SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"})
# The version of how files become Documents (cleaning, structure, newlines): an index built by
# another version is read again from its files.
READING_VERSION = 2
WEB_SUFFIXES = frozenset({".html", ".htm"})  # always cleaned of page furniture
MARKDOWN_SUFFIXES = frozenset({".md", ".docx"})  # Word documents are rendered as markdown


@dataclass(frozen=True)
class Extracted:
    """A file's text (newlines as Python's open() reads them), a warning, and where each page of
    a PDF begins."""

    text: str
    warning: str | None = None
    pages: tuple[int, ...] = ()


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


def read_document(path: Path, base: Path, data: bytes | None = None) -> tuple[Document, str | None]:
    """The file as a Document, and a warning (such as a fallback decoding) or None; `data`: its
    bytes, if already read.

    Raises UnreadableFile with a short reason."""
    try:
        data = path.read_bytes() if data is None else data
    except OSError as err:
        raise UnreadableFile(f"cannot read: {err.strerror or err}") from None
    extracted = extract_text(data, path.suffix.lower())
    doc = make_document(path.relative_to(base).as_posix(), extracted.text, data, pages=extracted.pages)
    return doc, extracted.warning


def make_document(source: str, text: str, data: bytes | None = None, pages: tuple[int, ...] = ()) -> Document:
    """The Document of a file's extracted text; its kind (web page, markdown) follows the name."""
    suffix = PurePosixPath(source).suffix.lower()
    cleaned = clean(text, web=True if suffix in WEB_SUFFIXES else None)
    markdown = suffix in MARKDOWN_SUFFIXES
    digest = hashlib.sha256(data if data is not None else text.encode("utf-8")).hexdigest()
    return Document(source=source, text=text, sha256=digest, date=cleaned.date,
                    title=(markdown and first_heading(text)) or cleaned.title, content=cleaned.content,
                    sections=sections(text) if markdown else (), pages=pages)


def extract_text(data: bytes, suffix: str) -> Extracted:
    """The document text, a warning if any, and page starts of a PDF. Raises UnreadableFile."""
    if suffix == ".pdf":
        extracted = _pdf_text(data)
    elif suffix == ".docx":
        extracted = Extracted(_docx_text(data))
    else:
        if b"\x00" in data[:8192]:
            raise UnreadableFile("binary file (NUL bytes), not text")
        text, warning = _decode(data)
        extracted = Extracted(_html_text(text) if suffix in WEB_SUFFIXES else universal_newlines(text), warning)
    if not extracted.text.strip():
        raise UnreadableFile("empty: no text to index")
    return extracted


def universal_newlines(text: str) -> str:
    """Line ends as Python's open() reads a file by default: CRLF and CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def _pdf_text(data: bytes) -> Extracted:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableFile("encrypted PDF")
        pages = [universal_newlines(page.extract_text() or "").strip() for page in reader.pages]
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
    return Extracted("\n\n".join(pages), pages=tuple(starts))


def _docx_text(data: bytes) -> str:
    """A Word document as markdown: headings as `#` lines, list items as `- ` lines, tables as
    pipe rows under a header rule, so that its structure labels passages like a markdown file's."""
    import io
    import zipfile

    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise UnreadableFile(f"broken Word document: {err}") from None
    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [" | ".join(" ".join(cell.text.split()) for cell in row.cells) for row in item.rows]
            if rows:
                rule = " | ".join("---" for _ in item.rows[0].cells)
                blocks.append("\n".join(f"| {row} |" for row in [rows[0], rule, *rows[1:]]))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = re.fullmatch(r"Heading (\d)", style)
        if style == "Title" or level:
            blocks.append(f"{'#' * (int(level.group(1)) if level else 1)} {text}")
        elif style.startswith("List") or item._p.pPr is not None and item._p.pPr.numPr is not None:
            blocks.append(f"- {text}")
        else:
            blocks.append(text)
    return "\n\n".join(blocks)


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
