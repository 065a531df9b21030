"""Read files and folders into Documents; skip what cannot be read, saying why.

Each format has its reader: encodings are detected by charset-normalizer (`decode`), HTML pages
are rendered by `html_page`, PDFs read by `pdf`, Word documents by `word`. Folders are walked
with their links followed where that reads something new (`discover`), and every file that is
not read is named with the reason.
"""
from __future__ import annotations

import codecs
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable

from ..records import Document
from .clean import clean
from .extracted import Extracted, UnreadableFile
from .structure import first_heading, sections

__all__ = ["Extracted", "UnreadableFile", "Found", "discover", "read_document", "make_document", "extract_text"]

SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"})
# The version of how files become Documents (cleaning, structure, newlines, encodings, the
# reading of HTML, PDF and Word): an index built by another version is read again from its files.
READING_VERSION = 3
WEB_SUFFIXES = frozenset({".html", ".htm"})  # always cleaned of page furniture
TEXT_SUFFIXES = frozenset({".txt", ".md"})  # offsets index the file as open() reads it
# Rendered as markdown (Word documents and HTML pages by their readers): headings and tables
# label their passages (`structure`).
MARKDOWN_SUFFIXES = frozenset({".md", ".docx", ".html", ".htm"})
# Among the encodings a detector finds about as likely (charset-normalizer's "chaos" within
# this), Windows-1252 is the one Western text is in: on short texts the detector cannot tell it
# from cp1250 or cp1257 ("Déclaration", "à Moscou"), which differ in the letters that matter.
_CHAOS_TIE = 0.05
# Unreadable as text, and what the user can do about it.
NOT_TEXT = "binary file, or text in an encoding that cannot be told: if it is text, save it as UTF-8"


@dataclass
class Found:
    """What `discover` found: the base folder that sources are named relative to, the files
    to read (sorted), and what it left out: `skipped` (path, reason) for links not followed
    and folders that cannot be opened, `hidden` entries (names starting with a dot, not
    looked into), and `other_types`, how many files of each other suffix."""

    base: Path
    files: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)
    other_types: Counter = field(default_factory=Counter)


def discover(paths: Iterable[Path], base: Path | None = None) -> Found:
    """The files under paths that scoqa reads, and what it left out.

    Links are followed, to files and to folders, inside the folders or out; a link to a folder
    already read (a loop such as `loop -> .`, or a second way to the same folder) or to one
    that holds a folder read (`up -> ..`) is not followed, and a file reached twice is read once
    (under its own name rather than a link's); each is named in `skipped` with the reason. Raises FileNotFoundError for a path that does not exist, ValueError for a path
    outside `base`."""
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
    found = Found(base, [])
    candidates: list[tuple[bool, Path, Path]] = []  # (through a link, path, real path)
    folders = [path for path in paths if path.is_dir()]
    candidates += [(False, path, path) for path in paths if not path.is_dir()]
    _walk(folders, found, candidates)
    read: dict[Path, Path] = {}
    for linked, path, real in sorted(candidates, key=lambda c: (c[0], c[1])):
        if real in read:
            if path != read[real]:
                found.skipped.append((path, f"the same file as {_name(read[real], base)}, read once"))
            continue
        read[real] = path
    found.files = sorted(read.values())
    found.skipped.sort()
    return found


def _walk(folders: list[Path], found: Found, candidates: list[tuple[bool, Path, Path]]) -> None:
    """Walk the folders: plain subfolders first, then the folders that links lead to, each
    real folder once."""
    seen: dict[Path, Path] = {}
    plain = [(folder, folder, False) for folder in sorted(folders, reverse=True)]
    links: list[tuple[Path, Path, bool]] = []
    while plain or links:
        through_link = not plain
        folder, real, linked = plain.pop() if plain else links.pop(0)
        if real in seen:
            if folder != seen[real]:
                found.skipped.append((folder, f"a link to {_name(seen[real], found.base)}, a folder read already: "
                                              f"not followed again"))
            continue
        holds = next((seen[s] for s in seen if s.is_relative_to(real)), None) if through_link else None
        if holds is not None:
            found.skipped.append((folder, f"a link to a folder that holds {_name(holds, found.base)} (a loop): "
                                          f"not followed"))
            continue
        seen[real] = folder
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            found.skipped.append((folder, f"cannot open folder: {err.strerror or err}"))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                found.hidden.append(path)
                continue
            is_link = entry.is_symlink()
            try:
                target = path.resolve(strict=True) if is_link else real / entry.name
                is_dir = target.is_dir()
            except RuntimeError:  # links that lead to each other
                found.skipped.append((path, f"a link that leads round in a circle (to {os.readlink(path)})"))
                continue
            except OSError:
                found.skipped.append((path, f"a broken link: {os.readlink(path)} does not exist"))
                continue
            if is_dir:
                (links if is_link else subfolders).append((path, target, linked or is_link))
            elif path.suffix.lower() in SUFFIXES:
                candidates.append((linked or is_link, path, target))
            else:
                found.other_types[path.suffix.lower() or "(no suffix)"] += 1
        plain += reversed(subfolders)


def _name(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)


def read_document(path: Path, base: Path, data: bytes | None = None) -> tuple[Document, str | None]:
    """The file as a Document, and a warning (such as a guessed encoding) or None; `data`: its
    bytes, if already read.

    Raises UnreadableFile with a short reason."""
    try:
        data = path.read_bytes() if data is None else data
    except OSError as err:
        raise UnreadableFile(f"cannot read: {err.strerror or err}") from None
    extracted = extract_text(data, path.suffix.lower())
    return make_document(path.relative_to(base).as_posix(), extracted, data), extracted.warning


def make_document(source: str, extracted: Extracted | str, data: bytes | None = None) -> Document:
    """The Document of a file's extracted text (or of a text); its kind (web page, markdown)
    follows the name. Its title is the first `#` heading of a markdown rendering, else the
    title the file declares, else the first line that reads as a title (`clean`)."""
    if isinstance(extracted, str):
        extracted = Extracted(extracted, encoding="utf-8" if PurePosixPath(source).suffix.lower() in TEXT_SUFFIXES else None)
    text = extracted.text
    suffix = PurePosixPath(source).suffix.lower()
    cleaned = clean(text, web=True if suffix in WEB_SUFFIXES else None, roles=extracted.roles)
    markdown = suffix in MARKDOWN_SUFFIXES
    digest = hashlib.sha256(data if data is not None else text.encode("utf-8")).hexdigest()
    return Document(source=source, text=text, sha256=digest, date=cleaned.date,
                    title=(markdown and first_heading(text)) or extracted.title or cleaned.title,
                    content=cleaned.content, sections=sections(text) if markdown else (), pages=extracted.pages,
                    encoding=extracted.encoding)


def extract_text(data: bytes, suffix: str) -> Extracted:
    """The document text and what its format tells (`Extracted`). Raises UnreadableFile."""
    if suffix == ".pdf":
        from .pdf import pdf_text

        extracted = pdf_text(data)
    elif suffix == ".docx":
        from .word import word_text

        extracted = word_text(data)
    else:
        text, encoding, warning = decode(data)
        if suffix in WEB_SUFFIXES:
            from .html_page import page_text

            page = page_text(text)
            extracted = Extracted(page.text, warning, title=page.title, roles=page.roles)
        else:
            extracted = Extracted(universal_newlines(text), warning, encoding=encoding)
    if not extracted.text.strip():
        raise UnreadableFile("empty: no text to index")
    return extracted


def universal_newlines(text: str) -> str:
    """Line ends as Python's open() reads a file by default: CRLF and CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode(data: bytes) -> tuple[str, str, str | None]:
    """The text as `open(file, encoding=E)` reads it (before newline translation), E, and a
    warning where E was guessed.

    UTF-8 as Python's open() reads it (a BOM stays, so offsets match open().read()); otherwise
    the encoding charset-normalizer detects: sure where the data begins with a byte order mark
    (UTF-16 and UTF-32, as Notepad's "Unicode" saves), a guess otherwise, with a warning.
    Raises UnreadableFile for data that is no text in any encoding."""
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), "utf-8", None
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise UnreadableFile(NOT_TEXT)
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + _CHAOS_TIE]
    guess = "cp1252" if any("cp1252" in m.could_be_from_charset for m in close) and not best.bom else best.encoding
    encoding = codecs.lookup(guess).name
    text = data.decode(encoding)
    if any(ord(char) < 32 and char not in "\t\n\r\f\v" for char in text):
        raise UnreadableFile(NOT_TEXT)
    warning = None if best.bom else (f"not UTF-8: read as {encoding} (a guess); offsets follow "
                                     f"open(file, encoding={encoding!r}); if the text looks wrong, save it as UTF-8")
    return text, encoding, warning
