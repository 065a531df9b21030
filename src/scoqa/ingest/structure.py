"""Markdown structure: the headings a passage stands under, and the column names of a table row.

A chunk cut from its heading ("## Budget" above "The budget is 4 million euros") or a table row
cut from its header row ("| Alice | chair |") no longer says what it is about. Each such span
gets a label that is searched and read with it; the text itself is left as it is, so offsets
stay true. Word documents and HTML pages are rendered as markdown (`ingest`, with
`markdown_table` for their tables), so this serves them too.
"""
from __future__ import annotations

import re
from typing import Sequence

from ..text import line_spans, trim

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?\s*)?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _cells(row: str) -> list[str]:
    r"""A pipe row's cells; `\|` is a pipe inside a cell."""
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in _UNESCAPED_PIPE.split(row)]


def labelled_row(row: str, label: str) -> tuple[str, list[tuple[str, int, int]]] | None:
    """A table row under its column names (`sections` labels it with the headings above the
    table, a line break, and the names): those headings ("" if none) and each cell's column
    name with the cell's (start, end) in `row`, trimmed, empty cells left out; None for any
    other text, or where names and cells do not pair up."""
    if not _ROW.fullmatch(row):
        return None
    headings, _, names_line = label.rpartition("\n")
    names = _cells(names_line)
    bounds = [m.start() for m in _UNESCAPED_PIPE.finditer(row)]
    spans = [trim(row, a + 1, b) for a, b in zip(bounds, bounds[1:])]
    if len(spans) != len(names) or not any(a < b for a, b in spans):
        return None
    return headings, [(name, a, b) for name, (a, b) in zip(names, spans) if a < b]


def markdown_table(rows: Sequence[Sequence[str]], header: bool = True) -> list[str]:
    """A table's lines as markdown pipe rows, cells' whitespace runs as one space and their
    pipes escaped; with `header`, the first row is the column names, above a rule (so each
    further row is labelled with them, `sections`); without, the rows stand alone."""
    lines = ["| " + " | ".join(" ".join(cell.split()).replace("|", "\\|") for cell in row) + " |" for row in rows]
    if header and len(lines) > 1:
        lines.insert(1, "| " + " | ".join("---" for _ in rows[0]) + " |")
    return lines


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


def heading_text(line: str) -> str | None:
    """The text of a markdown heading line ("## Budget" -> "Budget"); None for other lines."""
    match = _HEADING.match(line)
    return match.group(2).strip() or None if match else None


def first_heading(text: str) -> str | None:
    """The first top-level heading's text: a markdown document's title."""
    for start, end in line_spans(text):
        match = _HEADING.match(text[start:end])
        if match and len(match.group(1)) == 1 and match.group(2).strip():
            return match.group(2).strip()
    return None
