"""What reading one file gives: its text and what its format says about that text."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extracted:
    """A file's text (newlines as Python's open() reads them) and what its format tells:

    - `warning`: an oddity worth telling the user (an encoding that was guessed);
    - `pages`: where each page of a PDF begins;
    - `title`: the title the file declares (PDF or Word metadata, an HTML page's <title>);
    - `roles`: sorted (start, end, role) spans an HTML page's markup marks (`clean.FURNITURE`,
      `clean.STRUCTURE`);
    - `encoding`: for a .txt or .md file, the encoding its offsets follow
      (`open(file, encoding=...)`); None where offsets index extracted text.
    """

    text: str
    warning: str | None = None
    pages: tuple[int, ...] = ()
    title: str | None = None
    roles: tuple[tuple[int, int, str], ...] = ()
    encoding: str | None = None


class UnreadableFile(Exception):
    """A file that cannot become a Document; the message says why in a few words, and what to do
    where the user can do something."""
