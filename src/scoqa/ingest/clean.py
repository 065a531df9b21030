"""Tell article text from page furniture, without cutting anything out of the text.

Web scrapes mix an article with menus, headline/timestamp lists, widgets and interface text in
other languages. We classify each line (in the spirit of jusText): long prose lines are content;
long lines that are not prose, foreign-script lines, timestamps and widget labels are
boilerplate; short lines count as content only as headings directly above content. The result is
a set of (start, end) spans into the unchanged text, so every offset stays true.

Only web pages are cleaned: HTML, or text that shows a scrape's signals. A user's own notes,
lists and tables are short lines too, and every one of them is content. On an HTML page the
markup says more (`ingest`): navigation is furniture, table rows and list items are structure,
content like prose unless they are widget labels; and a page whose lines are all short is not
furniture for that: its short lines are its content. Lines are judged as a reader reads them
(`text.as_read`: ligatures as their letters, soft hyphens as nothing).
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import Sequence

from ..text import (DATE_PATTERNS, ENDS_LIKE_A_SENTENCE, FUNCTION_WORDS, LETTER_WORD, MONTHS, as_read,
                    ends_in_hyphen_break, line_spans, trim)
from .structure import heading_text

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
# What a page's markup says of a span of its text (`ingest.Extracted.roles`).
FURNITURE = "furniture"  # navigation, the page's own header and footer, link lists
STRUCTURE = "structure"  # table rows, list items: content, like prose
_KEPT = ("prose", "heading", "dateline", "structure")


@dataclass(frozen=True)
class Cleaned:
    content: tuple[tuple[int, int], ...]
    title: str | None
    date: str | None


def clean(text: str, web: bool | None = None, roles: Sequence[tuple[int, int, str]] = ()) -> Cleaned:
    """Content spans, title and date. `web`: whether text is a web page whose furniture is left
    out (None: when it shows a scrape's signals); otherwise every non-blank line is content.
    `roles`: sorted (start, end, FURNITURE or STRUCTURE) spans that a page's markup marks."""
    lines = line_spans(text)
    script = _main_script(text)
    if web is None:
        web = _is_scrape(text, lines, script)
    kinds = [_classify(as_read(text[s:e]), script, _role(roles, s)) for s, e in lines]
    judged = list(kinds)
    _promote_headings(text, lines, kinds)
    # A page with nothing but short lines (one sentence, a caption) is no furniture for that.
    short_page = web and not any(kind in _KEPT for kind in kinds)
    content = _merge(text, [span for span, kind, first in zip(lines, kinds, judged)
                            if (kind in _KEPT or short_page and first in ("short", "dense") if web else kind != "blank")])
    return Cleaned(content=content, title=_title(text, lines, kinds), date=find_date(text, content))


def _role(roles: Sequence[tuple[int, int, str]], at: int) -> str | None:
    """The role of the marked span that holds offset `at`, if any."""
    i = bisect_right(roles, (at, float("inf"))) - 1
    return roles[i][2] if i >= 0 and at < roles[i][1] else None


def _title(text: str, lines: list[tuple[int, int]], kinds: list[str]) -> str | None:
    """The first prose or heading line, if it reads like a title: not a sentence, not too long,
    not part of a word hyphenated across lines."""
    for i, ((start, end), kind) in enumerate(zip(lines, kinds)):
        if kind not in ("prose", "heading"):
            continue
        if ends_in_hyphen_break(text, end) or (i and ends_in_hyphen_break(text, lines[i - 1][1])):
            return None
        line = text[start:end].strip()
        title = heading_text(line) or line
        if len(LETTER_WORD.findall(title)) > _HEADING_MAX_WORDS or ENDS_LIKE_A_SENTENCE.search(title):
            return None
        return title
    return None


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
    letters = _letters_by_script(line)
    total = sum(letters.values())
    return bool(total) and letters.get(script, 0) < 0.8 * total


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """The script a letter is written in, the first word of its Unicode name ("LATIN", "CYRILLIC")."""
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _letters_by_script(text: str) -> dict[str, int]:
    """How many of the text's letters each script has, the scripts in the order first met."""
    counts: dict[str, int] = {}
    for char, n in Counter(text).items():  # each character once, in the order first met
        if char.isalpha():
            script = _script(char)
            counts[script] = counts.get(script, 0) + n
    return counts


def _main_script(text: str) -> str:
    """The script most of the text's letters are written in (ties: the one met first)."""
    counts = _letters_by_script(text)
    return max(counts, key=counts.get) if counts else "LATIN"


def _classify(line: str, script: str, role: str | None = None) -> str:
    """One of: blank, prose, short, dense, dateline, structure, boilerplate."""
    stripped = line.strip()
    if not stripped:
        return "blank"
    if role == FURNITURE:
        return "boilerplate"
    if _DATELINE.match(stripped):
        return "dateline"
    words = LETTER_WORD.findall(stripped)
    if _furniture(stripped, words, script):
        return "boilerplate"
    if role == STRUCTURE:
        return "structure"
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
    """A short line is a heading when prose or structure follows it (a dateline may stand
    between), or when it stands right above such a heading (a title repeated, a kicker above a
    headline)."""
    depth = [0] * len(kinds)
    for i in range(len(kinds) - 1, -1, -1):
        if kinds[i] not in ("short", "dense") or not _looks_like_heading(text[slice(*lines[i])]):
            continue
        j = _next_nonblank(kinds, i + 1)
        if j is None:
            continue
        if kinds[j] == "dateline":
            k = _next_nonblank(kinds, j + 1)
            if k is not None and kinds[k] in ("prose", "structure"):
                kinds[i], depth[i] = "heading", 1
            else:
                kinds[j] = "boilerplate"
        elif kinds[j] in ("prose", "structure"):
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
    stripped = heading_text(stripped) or stripped
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
