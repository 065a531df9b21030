"""Markdown structure: the headings a passage stands under, and the column names of a table row.

A chunk cut from its heading ("## Budget" above "The budget is 4 million euros") or a table row
cut from its header row ("| Alice | chair |") no longer says what it is about. Each such span
gets a label that is searched and read with it; the text itself is left as it is, so offsets
stay true. Word documents are rendered as markdown (`ingest`), so this serves them too.
"""
from __future__ import annotations

import re

from .clean import line_spans

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?\s*)?$")


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def sections(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, label) spans: from a heading to the next heading, labelled with the path of
    headings above and including it ("Budget › Travel"); each row of a table, labelled with that
    path and the table's column names. The first top-level heading is left out of the paths: it
    is the document's title (first_heading), which every chunk is embedded with already."""
    lines = line_spans(text)
    out: list[tuple[int, int, str]] = []
    path: list[tuple[int, str]] = []  # (level, heading) from the outermost in
    opened: int | None = None  # where the current heading's section began
    title = first_heading(text)

    def close(at: int) -> None:
        if opened is not None and path and opened < at:
            out.append((opened, at, " › ".join(h for _, h in path)))

    i = 0
    while i < len(lines):
        start, end = lines[i]
        line = text[start:end]
        match = _HEADING.match(line)
        if match and match.group(2).strip():
            close(start)
            level, heading = len(match.group(1)), match.group(2).strip()
            if level == 1 and heading == title:
                path, title = [], None
            else:
                path = [(lv, h) for lv, h in path if lv < level] + [(level, heading)]
            opened = start
        elif _ROW.match(line) and i + 1 < len(lines) and _RULE.match(text[slice(*lines[i + 1])]):
            names = " | ".join(_cells(line))
            label = "\n".join([" › ".join(h for _, h in path), names]) if path else names
            i += 2
            body = i
            while i < len(lines) and _ROW.match(text[slice(*lines[i])]):
                out.append((lines[i][0], lines[i][1], label))
                i += 1
            if i > body:  # the header row stays in the heading's section; the rows are their own
                close(lines[body][0])
                opened = lines[i][0] if i < len(lines) else None
            continue
        i += 1
    close(len(text))
    return tuple(sorted(out))


def first_heading(text: str) -> str | None:
    """The first top-level heading's text: a markdown document's title."""
    for start, end in line_spans(text):
        match = _HEADING.match(text[start:end])
        if match and len(match.group(1)) == 1 and match.group(2).strip():
            return match.group(2).strip()
    return None
