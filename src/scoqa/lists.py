"""Answers with several parts: an enumeration ("India, China ... and Uzbekistan") found from
one of its items, and split back into items, each where it stands.

Readers trained on one-span answers often pick a single item of a list; these rules widen the
pick to the whole enumeration it belongs to and cut that into parts.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .read import Span

SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_SEPARATOR_AT_END = re.compile(r"(?:,\s*(?:and\s+)?|\s+and\s+)$")
_ITEM_WORD = r"[^\W_][\w'’-]*"
# Items longer than this are clauses, not list items.
MAX_ITEM_WORDS = 6


def _kind(char: str) -> str:
    return "upper" if char.isupper() else "lower" if char.islower() else "digit" if char.isdigit() else "other"


def widen_to_enumeration(text: str, span: Span, min_items: int = 3, item_words: int | None = None) -> Span:
    """The whole enumeration `span` is one item of, in `text` (the passage it was read from).

    Items are short runs of words (at most `item_words`; by default one more than the span's
    longest part) that begin like the span does (capital, lower case, digit). An enumeration
    of fewer than `min_items` items is no list ("Meanwhile, Zhang Ming"), except where the
    caller expects pairs ("signed by A and B": `min_items=2`)."""
    kind = _kind(span.text[:1])
    width = item_words or max(len(part.split()) for part in SEPARATOR.split(span.text)) + 1
    item = re.compile(rf"{_ITEM_WORD}(?: {_ITEM_WORD}){{0,{width - 1}}}?(?=,|\s+and\s|\s*[.;:!?)\n]|\s*$)")
    start, end = span.start, span.end
    while (sep := SEPARATOR.match(text, end)) and (found := item.match(text, sep.end())) \
            and _kind(text[sep.end()]) == kind:
        end = found.end()
    while sep := _SEPARATOR_AT_END.search(text, max(0, start - 80), start):
        segment = re.split(r"[,;:.!?()\n]|\s+and\s+|\s+[-–—]\s+", text[max(0, sep.start() - 80):sep.start()])[-1]
        words = segment.split()
        last = words[-1] if len(words) > width else " ".join(words)  # a long run: its last word begins the list
        if not last or _kind(last[0]) != kind or not re.fullmatch(rf"{_ITEM_WORD}(?: {_ITEM_WORD})*", last):
            break
        start = sep.start() - len(last)
        if len(words) > width:
            break
    if len(SEPARATOR.findall(text, start, end)) < min_items - 1:
        return span
    return replace(span, start=start, end=end, text=text[start:end])


def item_spans(span: Span) -> list[Span]:
    """The items of an enumeration ("India, China and Russia"), each a span of its own; the
    span whole when it is not one."""
    items, at = [], 0
    for sep in [*SEPARATOR.finditer(span.text), None]:
        stop = sep.start() if sep else len(span.text)
        if stop > at:
            items.append((at, stop))
        at = sep.end() if sep else at
    if len(items) < 2 or any(len(span.text[a:b].split()) > MAX_ITEM_WORDS for a, b in items):
        return [span]
    return [replace(span, start=span.start + a, end=span.start + b, text=span.text[a:b]) for a, b in items]
