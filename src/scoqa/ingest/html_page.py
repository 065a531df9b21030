"""An HTML page as text a reader can search, and what its markup says of each line.

The page is rendered as markdown, like a Word document: headings as `#` lines, list items as
`- ` (or `1. `) lines, each table row as a pipe row under its column names
(`structure.markdown_table`, so a row is labelled with them as a markdown table's is), other
blocks as paragraphs apart. Scripts, styles, forms' controls and hidden elements are dropped.
Lines are marked (`clean.FURNITURE`, `clean.STRUCTURE`) for cleaning: navigation, the page's
own header, footer and sidebars, and lines that are mostly links are furniture (boilerpipe's
and jusText's link density); table rows and list items are structure, content like prose.
Parsing is lxml's (libxml2's HTML parser), which mends broken markup as browsers do.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from .clean import FURNITURE, STRUCTURE
from .extracted import Extracted, UnreadableFile
from .structure import markdown_table

# Never shown as text: code, styles, embedded objects, form controls.
_DROPPED = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed",
                      "canvas", "select", "datalist", "button", "input", "textarea", "title"})
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
                     "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
                     "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre",
                     "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu", "dir", "dl"})
# Sectioning content: a header, footer or aside inside one belongs to it, not to the page.
_SECTIONS = frozenset({"article", "main", "section"})
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# A line more than half of whose letters are link text is navigation (a menu, a list of related
# links); jusText calls a paragraph bad above 0.2 (Pomikálek 2011), a bar we leave to `clean`.
LINK_DENSITY = 0.5


@dataclass(frozen=True)
class _Context:
    furniture: bool = False
    sectioned: bool = False  # inside an article, main or section
    linked: bool = False
    pre: bool = False
    structure: bool = False  # inside a list or a table
    group: int | None = None  # lines of one list or table follow each other without a blank line
    depth: int = 0  # list nesting


class _Writer:
    """Collects inline text into runs and block boundaries into lines (text, role, group)."""

    def __init__(self, groups: itertools.count) -> None:
        self.lines: list[tuple[str, str | None, int]] = []
        self.runs: list[tuple[str, bool]] = []
        self.groups = groups
        self.prefix = ""  # the marker of a list item's first line
        self.linked_chars = 0
        self.chars = 0

    def add(self, text: str, ctx: _Context) -> None:
        self.runs.append((text if ctx.pre else re.sub(r"\s+", " ", text), ctx.linked))

    def flush(self, ctx: _Context, indent: str = "") -> None:
        if not self.runs:
            return
        runs, self.runs = self.runs, []
        linked = sum(len("".join(text.split())) for text, is_link in runs if is_link)
        total = len("".join("".join(text for text, _ in runs).split()))
        self.linked_chars += linked
        self.chars += total
        if not total:
            return
        role = FURNITURE if ctx.furniture or linked > LINK_DENSITY * total else STRUCTURE if ctx.structure else None
        group = ctx.group if ctx.group is not None else next(self.groups)
        for part in "".join(text for text, _ in runs).split("\n"):
            line = part.rstrip() if ctx.pre else " ".join(part.split())
            if line.strip():
                self.lines.append((f"{self.prefix or indent}{line}", role, group))
                self.prefix = ""

    def walk(self, el, outer: _Context) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is None or tag in _DROPPED or _hidden(el):
            return
        ctx = _enter(el, tag, outer)
        if tag == "br":
            self.runs.append(("\n", ctx.linked))
            return
        if tag not in _HEADINGS and tag not in _LISTS and tag != "li" and tag not in _BLOCKS:
            self._children(el, ctx)  # inline
            return
        self.flush(outer, "  " * outer.depth)  # what came before the block is the outer block's
        if tag in _HEADINGS:
            self._children(el, ctx)
            self.prefix = "#" * _HEADINGS[tag] + " "
            self.flush(replace(ctx, group=None))
        elif tag in _LISTS:
            self._children(el, replace(ctx, structure=True, group=ctx.group if ctx.depth else next(self.groups),
                                       depth=ctx.depth + (tag != "dl")))
        elif tag == "li":
            number = _item_number(el)
            self.prefix = "  " * (ctx.depth - 1) + (f"{number}. " if number is not None else "- ")
            self._children(el, ctx)
            self.flush(ctx, "  " * ctx.depth)
        elif tag == "table" and _data_table(el):
            self._table(el, ctx)
        else:
            ctx = replace(ctx, pre=ctx.pre or tag == "pre")
            self._children(el, ctx)
            self.flush(ctx, "  " * ctx.depth)
        self.prefix = ""

    def _children(self, el, ctx: _Context) -> None:
        if el.text:
            self.add(el.text, ctx)
        for child in el:
            self.walk(child, ctx)
            if child.tail:
                self.add(child.tail, ctx)

    def _table(self, table, ctx: _Context) -> None:
        """A data table's rows as pipe rows, under a header row where the table has one."""
        for caption in table.findall("caption"):
            self.walk(caption, ctx)
        rows: list[list[str]] = []
        heads: list[bool] = []
        dense: list[bool] = []
        for tr in _rows(table):
            cells, all_th = [], True
            linked = chars = 0
            for cell in tr:
                if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                    continue
                inner = _Writer(self.groups)
                inner._children(cell, replace(ctx, group=None, structure=False, depth=0))
                inner.flush(ctx)
                cells.append(" ".join(line for line, _, _ in inner.lines))
                linked, chars = linked + inner.linked_chars, chars + inner.chars
                all_th = all_th and cell.tag.lower() == "th"
            if any(cells):
                rows.append(cells)
                heads.append(all_th or tr.getparent().tag == "thead")
                dense.append(linked > LINK_DENSITY * chars)
        if not rows:
            return
        th_anywhere = table.xpath("boolean(.//th)")
        header = heads[0] or not th_anywhere  # no th at all: the first row names the columns, as in Word
        lines = markdown_table(rows, header=header)
        group = next(self.groups)
        row_of_line = [0, *([0] if header and len(rows) > 1 else []), *range(1, len(rows))]
        for line, row in zip(lines, row_of_line):
            role = FURNITURE if ctx.furniture or dense[row] else STRUCTURE
            self.lines.append(("  " * ctx.depth + line, role, group))


def _enter(el, tag: str, ctx: _Context) -> _Context:
    """The context inside `el`. Furniture is what markup says it is (class names are left to
    `clean`: a body's "has-sidebar" says nothing of its content)."""
    role = (el.get("role") or "").lower()
    furniture = (ctx.furniture or tag == "nav" or role in _FURNITURE_ROLES
                 or (not ctx.sectioned and (tag in ("header", "footer", "aside") or role == "complementary")))
    return replace(ctx, furniture=furniture, sectioned=ctx.sectioned or tag in _SECTIONS or role in ("main", "article"),
                   linked=ctx.linked or (tag == "a" and el.get("href") is not None))


def _hidden(el) -> bool:
    return (el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true"
            or bool(_HIDDEN_STYLE.search(el.get("style") or "")))


def _item_number(li) -> int | None:
    """The number an ordered list shows before this item; None for a bullet."""
    parent = li.getparent()
    if parent is None or parent.tag != "ol":
        return None
    try:
        number = int(parent.get("start") or 1)
    except ValueError:
        number = 1
    for sibling in parent:
        if sibling is li:
            return number
        if sibling.tag == "li":
            number += 1
    return number


def _data_table(table) -> bool:
    """A table of data, not one that lays out a page (tables inside, or marked presentation)."""
    return (table.get("role") or "").lower() not in ("presentation", "none") and not table.xpath(".//table")


def _rows(table):
    """The table's rows in document order (thead, tbody and tfoot rows alike)."""
    return [tr for tr in table.iter("tr")]


def page_text(markup: str) -> Extracted:
    """The page's text (lines as above, blocks apart by a blank line, a list's or table's lines
    by one line break), its <title>, and the (start, end, role) spans of the marked lines.
    Raises UnreadableFile for a page nested too deeply to walk."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(markup, parser=lxml.html.HTMLParser(huge_tree=True))
    except ValueError:  # an XML declaration naming an encoding: hand lxml the bytes
        root = lxml.html.document_fromstring(markup.encode("utf-8"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8", huge_tree=True))
    except etree.ParserError:  # nothing but whitespace
        return Extracted("")
    title = root.findtext(".//title")
    writer = _Writer(itertools.count())
    body = root.find("body")
    try:
        writer.walk(body if body is not None else root, _Context())
    except RecursionError:
        raise UnreadableFile("HTML nested too deeply to read (hundreds of elements inside one another)") from None
    writer.flush(_Context())
    parts: list[str] = []
    roles: list[tuple[int, int, str]] = []
    at, previous = 0, None
    for line, role, group in writer.lines:
        if parts:
            separator = "\n" if group == previous else "\n\n"
            parts.append(separator)
            at += len(separator)
        parts.append(line)
        if role is not None:
            roles.append((at, at + len(line), role))
        at += len(line)
        previous = group
    title = " ".join(title.split()) if title else None
    return Extracted("".join(parts), title=title or None, roles=tuple(roles))
