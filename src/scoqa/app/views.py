"""HTML for the workspace around the chat: the status line, the documents panel, and the source
viewer that a citation opens (a page of its own: the document's text with the quote marked
and scrolled into view; a PDF's page).

Document text and names are user content: everything here is HTML-escaped (`html.escape`,
quotes included) and put only in element text or quoted attributes; URLs are built with
`urllib.parse.urlencode`. The viewer page loads nothing (its Content-Security-Policy says so).
"""
from __future__ import annotations

import html
from bisect import bisect_right
from urllib.parse import urlencode

from ..index.catalog import Catalog
from ..records import Document
from .workspace import Status

VIEW_PATH = "view"  # the viewer's route, relative to the page, so a proxy's root path is kept
VIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def view_url(source: str, start: int | None = None, end: int | None = None, sha256: str | None = None,
             page: int | None = None) -> str:
    """The viewer's address for a document, with the quote at [start, end) marked and scrolled
    to; `sha256` lets the viewer say when the document has changed since the citation."""
    query = {"source": source}
    if start is not None and end is not None:
        query.update(start=str(start), end=str(end))
    if sha256:
        query["v"] = sha256[:16]
    if page is not None:
        query["page"] = str(page)
    return f"{VIEW_PATH}?{urlencode(query)}" + ("#quote" if start is not None else "")


def open_link(source: str, start: int, end: int, sha256: str | None = None, page: int | None = None) -> str:
    """A link that opens the cited document in the viewer, in a new tab."""
    where = f"page {page}" if page else "the document"
    return (f"<a class='scoqa-open' href='{esc(view_url(source, start, end, sha256))}' target='_blank' "
            f"rel='noopener' title='Open {esc(where)} with the quote marked'>open ↗</a>")


def status_html(status: Status) -> str:
    changes = "".join(f"<li>{esc(change)}</li>" for change in status.changes[:5])
    listed = f"<ul class='scoqa-changes'>{changes}</ul>" if changes else ""
    return (f"<div class='scoqa-status scoqa-{esc(status.state)}' data-state='{esc(status.state)}'>"
            f"<span class='scoqa-status-text'>{esc(status.message)}</span>{listed}</div>")


def documents_html(shown: Catalog, total: int | None = None) -> str:
    """The documents panel: one row per document (a link to it in the viewer), then each
    skipped file with its reason. `total` is how many documents there are before a filter."""
    rows = "".join(
        f"<tr data-source='{esc(d.source)}'><td><a class='scoqa-file' href='{esc(view_url(d.source))}' target='_blank' "
        f"rel='noopener'>{esc(d.source)}</a>{' <span class=scoqa-badge>uploaded</span>' if d.removable else ''}"
        f"{f'<div class=scoqa-muted>⚠ {esc(d.warning)}</div>' if d.warning else ''}</td>"
        f"<td>{esc(d.title) or '–'}</td><td>{esc(d.date) or '–'}</td><td>{d.pages or '–'}</td>"
        f"<td>{d.passages}</td><td>{esc(_when(d.indexed))}</td></tr>"
        for d in shown.documents)
    count = f"{len(shown.documents)} of {total}" if total is not None and total != len(shown.documents) else str(len(shown.documents))
    table = (f"<table class='scoqa-docs'><thead><tr><th>Document</th><th>Title</th><th>Date</th><th>Pages</th>"
             f"<th>Passages</th><th>Indexed</th></tr></thead><tbody>{rows}</tbody></table>" if rows
             else "<p class='scoqa-muted'>No document matches.</p>")
    skipped = "".join(f"<li><span class='scoqa-file'>{esc(s.source)}</span>: {esc(s.reason)}</li>" for s in shown.skipped)
    skipped_html = (f"<p><b>Skipped ({len(shown.skipped)})</b></p><ul class='scoqa-skipped'>{skipped}</ul>"
                    if skipped else "")
    return f"<div class='scoqa-documents'><p class='scoqa-muted'>{count} documents</p>{table}{skipped_html}</div>"


def _when(indexed: str | None) -> str:
    """An ISO time as "2026-11-30 19:42 UTC"; "–" when unknown."""
    if not indexed:
        return "–"
    return indexed.replace("T", " ")[:16] + " UTC"


def viewer_html(doc: Document, start: int | None = None, end: int | None = None, version: str | None = None,
                page: int | None = None) -> str:
    """The viewer page: the document's text with [start, end) marked (id "quote", which the URL's
    fragment scrolls to). A PDF shows the page(s) that hold the quote, or `page`, with links to
    the pages before and after. Raises ValueError for offsets outside the text or a page that
    does not exist."""
    text = doc.text
    if start is not None and not (0 <= start <= end <= len(text)):
        raise ValueError(f"offsets {start}-{end} are outside {doc.source} ({len(text)} characters)")
    lo, hi, heading = 0, len(text), ""
    if doc.pages:
        count = len(doc.pages)
        first = bisect_right(doc.pages, start) if start is not None else (page or 1)
        last = bisect_right(doc.pages, max(start, end - 1)) if start is not None else first
        if not 1 <= first <= count:
            raise ValueError(f"{doc.source} has {count} pages")
        lo = doc.pages[first - 1]
        hi = doc.pages[last] if last < count else len(text)
        shown = f"page {first}" if first == last else f"pages {first}–{last}"
        nav = [f"<a href='{esc(view_url(doc.source, sha256=version, page=n))}'>{label}</a>"
               for n, label in ((first - 1, "← page before"), (last + 1, "page after →")) if 1 <= n <= count]
        heading = f"<p class='where'>{shown} of {count} {' · '.join(nav)}</p>"
    if start is not None:
        body = f"{esc(text[lo:start])}<mark id='quote'>{esc(text[start:end])}</mark>{esc(text[end:hi])}"
        where = f"<p class='where'>quote: characters {start}–{end}</p>"
    else:
        body, where = esc(text[lo:hi]), ""
    changed = ("<p class='changed'>This document has changed since it was cited; the marked characters may no "
               "longer be the quote.</p>" if version and not doc.sha256.startswith(version) else "")
    meta = " · ".join(esc(x) for x in (doc.title, doc.date) if x)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(doc.source)} · scoqa</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 52em; padding: 1em 1.5em 40vh; color: #111827; }}
h1 {{ font-size: 1.1em; font-family: ui-monospace, monospace; word-break: break-all; }}
.meta, .where {{ color: #4b5563; margin: .2em 0; }}
.changed {{ color: #9a3412; }}
.text {{ white-space: pre-wrap; line-height: 1.55; border-top: 1px solid #e5e7eb; padding-top: 1em; }}
mark {{ background: #fde68a; padding: .1em 0; scroll-margin-top: 30vh; }}
</style></head><body>
<h1>{esc(doc.source)}</h1><p class="meta">{meta}</p>{heading}{where}{changed}
<div class="text">{body}</div>
</body></html>"""
