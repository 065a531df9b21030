"""A Word document's text: every part a reader sees, rendered as markdown.

The order is a reader's: the headers, the body, the footnotes and endnotes, the footers. The
body's headings become `#` lines, list items `- ` lines, tables pipe rows under their column
names (`structure.markdown_table`), so that its structure labels passages like a markdown
file's; a text box follows the paragraph it is anchored in; content controls are read through.
Paragraph text is read from the document's XML (python-docx opens the package), so that runs
in tracked insertions, hyperlinks, fields' results and content controls are all kept, and a
soft hyphen stays a soft hyphen (U+00AD; the reading view reads across it).
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Iterator

from lxml import etree

from .extracted import Extracted, UnreadableFile
from .structure import markdown_table

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_MC_FALLBACK = f"{{{_MC}}}Fallback"
# A paragraph's text boxes: the drawing's own, not the copy in its fallback picture.
_TEXT_BOXES = etree.XPath(".//w:txbxContent[not(ancestor::mc:Fallback)]", namespaces={"w": _W, "mc": _MC})
_NOTES = {"footnotes": "footnote", "endnotes": "endnote"}
# Notes that only separate the notes from the text.
_SEPARATORS = frozenset({"separator", "continuationSeparator", "continuationNotice"})


def _w(name: str) -> str:
    return f"{{{_W}}}{name}"


def word_text(data: bytes) -> Extracted:
    """The document's text and the title its properties give. Raises UnreadableFile."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, PackageNotFoundError) as err:
        raise UnreadableFile(f"broken Word document: {err}") from None
    styles = {style.style_id: style.name or "" for style in document.styles}
    reader = _Reader(styles)
    headers, footers = _unique(reader, _headers_footers(document, "header")), _unique(reader, _headers_footers(document, "footer"))
    body = [block for child in document.element.body.iterchildren() for block in reader.blocks(child, headings=True)]
    notes = []
    for rel in document.part.rels.values():
        kind = {RT.FOOTNOTES: "footnotes", RT.ENDNOTES: "endnotes"}.get(rel.reltype)
        if kind is None or rel.is_external:
            continue
        notes += _notes(reader, rel.target_part, _NOTES[kind])
    title = " ".join((document.core_properties.title or "").split()) or None
    return Extracted("\n\n".join(headers + body + notes + footers), title=title)


class _Reader:
    """Renders the block elements of any part (body, header, footer, note, text box, cell)."""

    def __init__(self, styles: dict[str, str]) -> None:
        self.styles = styles

    def blocks(self, el, headings: bool = False) -> Iterator[str]:
        tag = el.tag
        if tag == _w("p"):
            text = " ".join(_text(el).split())
            if text:
                yield self._paragraph(el, text) if headings else text
            for box in _TEXT_BOXES(el):
                for child in box.iterchildren():
                    yield from self.blocks(child, headings)
        elif tag == _w("tbl"):
            rows = [[self._cell(tc) for tc in tr.iterchildren(_w("tc"))] for tr in el.iterchildren(_w("tr"))]
            rows = [row for row in rows if any(row)]
            if rows:
                yield "\n".join(markdown_table(rows))
        elif tag in (_w("sdt"), _w("customXml"), _w("sdtContent")):
            for child in el.iterchildren():
                yield from self.blocks(child, headings)

    def _cell(self, tc) -> str:
        return " ".join(" ".join(block.split()) for child in tc.iterchildren() for block in self.blocks(child))

    def _paragraph(self, p, text: str) -> str:
        """A body paragraph as markdown: a heading as a `#` line, a list item as a `- ` line."""
        props = p.find(_w("pPr"))
        style_id = props.find(_w("pStyle")).get(_w("val")) if props is not None and props.find(_w("pStyle")) is not None else None
        style = self.styles.get(style_id, "") if style_id else ""
        level = re.fullmatch(r"[Hh]eading (\d)", style)
        if style == "Title" or level:
            return f"{'#' * (int(level.group(1)) if level else 1)} {text}"
        if style.startswith("List") or (props is not None and props.find(_w("numPr")) is not None):
            return f"- {text}"
        return text


def _text(el) -> str:
    """The text a paragraph shows, without its text boxes (read as blocks of their own) and
    without the fallback copies of drawings."""
    parts = []
    for child in el.iterchildren():
        tag = child.tag
        if tag in (_w("txbxContent"), _MC_FALLBACK) or not isinstance(tag, str):
            continue
        if tag == _w("t"):
            parts.append(child.text or "")
        elif tag in (_w("tab"), _w("br"), _w("cr")):
            parts.append(" ")
        elif tag == _w("noBreakHyphen"):
            parts.append("-")
        elif tag == _w("softHyphen"):
            parts.append("\u00ad")
        else:
            parts.append(_text(child))
    return "".join(parts)


def _headers_footers(document, kind: str) -> Iterator:
    """The header (or footer) elements that show, section by section: the first page's where
    the section has one, the even pages' where the document has them, and the default."""
    even = document.settings.odd_and_even_pages_header_footer
    for section in document.sections:
        names = [f"first_page_{kind}"] if section.different_first_page_header_footer else []
        names += [kind] + ([f"even_page_{kind}"] if even else [])
        for name in names:
            part = getattr(section, name)
            if not part.is_linked_to_previous:
                yield part._element


def _unique(reader: _Reader, elements: Iterator) -> list[str]:
    """The blocks of the elements, each distinct text once (a header repeats in every section)."""
    seen: dict[str, None] = {}
    for element in elements:
        for child in element.iterchildren():
            for block in reader.blocks(child):
                seen.setdefault(block, None)
    return list(seen)


def _notes(reader: _Reader, part, name: str) -> list[str]:
    """The footnotes' (or endnotes') paragraphs, in the order the part holds them."""
    element = part.element if hasattr(part, "element") else etree.fromstring(part.blob)
    blocks = []
    for note in element.iterchildren(_w(name)):
        if note.get(_w("type")) in _SEPARATORS:
            continue
        for child in note.iterchildren():
            blocks += list(reader.blocks(child))
    return blocks
