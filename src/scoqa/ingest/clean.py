"""Tell article text from page furniture, without cutting anything out of the text.

Web scrapes mix an article with menus, headline/timestamp lists, widgets and interface text in
other languages. We classify each line (in the spirit of jusText): long prose lines are content;
long lines that are not prose, foreign-script lines, timestamps and widget labels are
boilerplate; short lines count as content only as headings directly above content. The result is
a set of (start, end) spans into the unchanged text, so every offset stays true.

Only web pages are cleaned: HTML, or text that shows a scrape's signals. A user's own notes,
lists and tables are short lines too, and every one of them is content.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from ..text import DATE_PATTERNS, ENDS_LIKE_A_SENTENCE, FUNCTION_WORDS, LETTER_WORD, MONTHS, trim

_DATELINE = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
_CLOCK_PREFIX = re.compile(r"^\s*\d{1,2}:\d{2}(?!\d)")
_WIDGET = re.compile(
    r"""^\s*[•·*|»«>-]?\s*(?:
        add\ comment|leave\ a\ (?:comment|reply)|comments?(?:\ \(\d+\))?|print|share(?:\ this)?|
        tweet|email|read\ more|back|top\ of\ page|bottom\ of\ page|featured\ posts|recent\ posts|
        related\ (?:posts|articles|news)|search\ by\ tags|tags?:.*|follow\ us.*|subscribe.*|
        sign\ (?:in|up)|log\ ?in|register|(?:photo|image|picture)s?\ (?:credits?|source)?\s*:.*|
        skip\ to\ (?:main\ )?content|menu|search|home
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_COOKIE_NOTICE = re.compile(r"\bcookies?\b.*\b(?:accept|consent|policy|settings|browser|browsing)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[•·▪►]")
_TIMESTAMP = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ T]+\d{1,2}:\d{2}\b")
# Lines with these signals (widgets, menus' bullets, timestamps, cookie notices, interface text in
# another script) in a text make it a web page; one alone may be a user's own "Home" or "Print".
SCRAPE_SIGNALS = 2
# A line of more words is a paragraph or a menu run together, not a heading or a title.
_HEADING_MAX_WORDS = 40


@dataclass(frozen=True)
class Cleaned:
    content: tuple[tuple[int, int], ...]
    title: str | None
    date: str | None


def clean(text: str, web: bool | None = None) -> Cleaned:
    """Content spans, title and date. `web`: whether text is a web page whose furniture is left
    out (None: when it shows a scrape's signals); otherwise every non-blank line is content."""
    lines = line_spans(text)
    script = _main_script(text)
    if web is None:
        web = _is_scrape(text, lines, script)
    kinds = [_classify(text[s:e], script) for s, e in lines]
    _promote_headings(text, lines, kinds)
    kept = ("prose", "heading", "dateline")
    content = _merge(text, [span for span, kind in zip(lines, kinds) if (kind in kept if web else kind != "blank")])
    title = next((text[s:e].strip() for (s, e), k in zip(lines, kinds) if k in ("prose", "heading")), None)
    if title is not None and (len(LETTER_WORD.findall(title)) > _HEADING_MAX_WORDS or ENDS_LIKE_A_SENTENCE.search(title)):
        title = None
    return Cleaned(content=content, title=title, date=find_date(text, content))


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, without its line end (LF, CRLF or CR)."""
    spans, start = [], 0
    for match in re.finditer(r"\r\n|\n|\r", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _is_scrape(text: str, lines: list[tuple[int, int]], script: str) -> bool:
    """Whether text carries a web scrape's signals on at least SCRAPE_SIGNALS lines."""
    found = 0
    for start, end in lines:
        found += _scrape_signal(text[start:end].strip(), script)
        if found >= SCRAPE_SIGNALS:
            return True
    return False


def _scrape_signal(line: str, script: str) -> bool:
    return bool(line) and bool(_TIMESTAMP.search(line) or _furniture(line, LETTER_WORD.findall(line), script))


def _furniture(line: str, words: list[str], script: str) -> bool:
    """Clock-led headlines, menu bullets, widget labels, cookie notices, text in another script."""
    if _CLOCK_PREFIX.match(line) or _BULLET.match(line):
        return True
    if (len(words) <= 12 and _WIDGET.match(line)) or (len(words) <= 60 and _COOKIE_NOTICE.search(line)):
        return True
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and sum(_script(c) == script for c in letters) < 0.8 * len(letters)


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _main_script(text: str) -> str:
    counts: dict[str, int] = {}
    for char in text:
        if char.isalpha():
            script = _script(char)
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=counts.get) if counts else "LATIN"


def _classify(line: str, script: str) -> str:
    """One of: blank, prose, short, dense, dateline, boilerplate."""
    stripped = line.strip()
    if not stripped:
        return "blank"
    if _DATELINE.match(stripped):
        return "dateline"
    words = LETTER_WORD.findall(stripped)
    if _furniture(stripped, words, script):
        return "boilerplate"
    # Prose is a sentence of 8 words or more, a tenth of them function words, or a run of 20 or
    # more with a fifth: menus and link lists hold few. Set by hand, not fitted;
    # tests/test_clean.py holds them to keeping every sentence of the seed article.
    if script == "LATIN" and words:
        stop = sum(w.lower() in FUNCTION_WORDS for w in words) / len(words)
    else:
        stop = 1.0
    if len(words) >= 8 and ENDS_LIKE_A_SENTENCE.search(stripped) and stop >= 0.1:
        return "prose"
    if len(words) >= 20 and stop >= 0.2:
        return "prose"
    if len(words) > _HEADING_MAX_WORDS:
        return "boilerplate"
    if len(words) >= 8 and stop < 0.2 and not ENDS_LIKE_A_SENTENCE.search(stripped):
        return "dense"  # a menu run together, or a technical title: a heading only right above prose
    return "short"


def _promote_headings(text: str, lines: list[tuple[int, int]], kinds: list[str]) -> None:
    """A short line is a heading when prose follows it (a dateline may stand between), or when
    it stands right above such a heading (a title repeated, a kicker above a headline)."""
    depth = [0] * len(kinds)
    for i in range(len(kinds) - 1, -1, -1):
        if kinds[i] not in ("short", "dense") or not _looks_like_heading(text[slice(*lines[i])]):
            continue
        j = _next_nonblank(kinds, i + 1)
        if j is None:
            continue
        if kinds[j] == "dateline":
            k = _next_nonblank(kinds, j + 1)
            if k is not None and kinds[k] == "prose":
                kinds[i], depth[i] = "heading", 1
            else:
                kinds[j] = "boilerplate"
        elif kinds[j] == "prose":
            kinds[i], depth[i] = "heading", 1
        elif kinds[j] == "heading" and depth[j] == 1 and kinds[i] == "short":
            kinds[i], depth[i] = "heading", 2
    for i, kind in enumerate(kinds):
        prev, nxt = _prev_nonblank(kinds, i - 1), _next_nonblank(kinds, i + 1)
        if kind != "dateline" and prev is not None and nxt is not None and kinds[prev] == kinds[nxt] == "dateline":
            kinds[i] = "boilerplate"  # an item of a headline/timestamp list
    for i, kind in enumerate(kinds):
        if kind == "dateline":
            prev = _prev_nonblank(kinds, i - 1)
            if prev is None or kinds[prev] != "heading":
                kinds[i] = "boilerplate"
        elif kind in ("short", "dense"):
            kinds[i] = "boilerplate"


def _looks_like_heading(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and (stripped[0].isalnum() or stripped[0] in "\"“'‘")


def _next_nonblank(kinds: list[str], i: int) -> int | None:
    return next((j for j in range(i, len(kinds)) if kinds[j] != "blank"), None)


def _prev_nonblank(kinds: list[str], i: int) -> int | None:
    return next((j for j in range(i, -1, -1) if kinds[j] != "blank"), None)


def _merge(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Join content lines separated only by whitespace; trim each span to non-space ends."""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1][1] = end
        else:
            merged.append([start, end])
    trimmed = (trim(text, start, end) for start, end in merged)
    return tuple((start, end) for start, end in trimmed if start < end)


def find_date(text: str, spans: tuple[tuple[int, int], ...]) -> str | None:
    """The first full date the article text states, as ISO 8601."""
    for start, end in spans:
        found = []
        for pattern in DATE_PATTERNS:
            for match in pattern.finditer(text, start, end):
                parsed = _parse_date(match)
                if parsed:
                    found.append((match.start(), parsed))
        if found:
            return min(found)[1]
    return None


def _parse_date(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    month = int(parts["mnum"]) if parts.get("mnum") else MONTHS[parts["month"].lower().rstrip(".")]
    try:
        return date(int(parts["year"]), month, int(parts["day"])).isoformat()
    except ValueError:
        return None
