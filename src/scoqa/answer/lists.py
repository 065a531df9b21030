"""Answers with several parts: an enumeration ("India, China ... and Uzbekistan") found from
one of its items, and split back into items, each where it stands.

Readers trained on one-span answers often pick a single item of a list; these rules widen the
pick to the whole enumeration it belongs to and cut that into parts. Where the items carry
asides ("UNESCO (10 June 2018, Qingdao)"), a question that names one item's details points at
that item, and a span in another is no answer (`off_the_named_item`).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TypeVar

from ..records import AnswerSpan, Span
from ..text import FUNCTION_WORDS, LIST_SEPARATOR

# The rules read a span's offsets and text, and give back a span of the same kind.
S = TypeVar("S", Span, AnswerSpan)

_SEPARATOR_AT_END = re.compile(rf"(?:{LIST_SEPARATOR.pattern})$")
_ITEM_WORD = r"[^\W_][\w'’-]*"
# An item may carry an aside: "UNODC (14 June 2011, Astana), UNESCAP (15 December 2015, ...)".
_ASIDE = re.compile(r"\s*\([^()\n]*\)")
_ASIDE_AT_END = re.compile(r"\s*\([^()\n]*\)$")
# Between one item's aside and the next item's: a separator and the next item's name.
_NEXT_ITEM = re.compile(rf"(?:{LIST_SEPARATOR.pattern})\s*[^()\n,;.]{{1,60}}?\s*")
# The first item's name: capitalised words (or codes) before its aside, "and", "of" or "the" between.
_FIRST_NAME = re.compile(r"[A-Z0-9][\w'’-]*(?:\s+(?:(?:and|of|the)\s+)*[A-Z0-9][\w'’-]*)*\s*\Z")
# A word as an item's name holds it, hyphens and all: "UN-OCHA" is not the question's "UN".
_WHOLE_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# Items longer than this are clauses, not list items (a judgement, not a measurement).
MAX_ITEM_WORDS = 6
# Characters before a span searched for the separator that joins it to the item before: more
# than an item of MAX_ITEM_WORDS words with its separator.
_LOOK_BACK = 80


def _kind(char: str) -> str:
    return "upper" if char.isupper() else "lower" if char.islower() else "digit" if char.isdigit() else "other"


def widen_to_enumeration(text: str, span: S, min_items: int = 3, item_words: int | None = None, at: int = 0) -> S:
    """The whole enumeration `span` is one item of, in `text` (the passage it was read from,
    which begins at offset `at` of the span's offsets: the chunk's start, for a span whose
    offsets are into its document).

    Items are short runs of words (at most `item_words`; by default one more than the span's
    longest part) that begin like the span does (capital, lower case, digit), each perhaps
    followed by an aside in parentheses. An enumeration of fewer than `min_items` items is no
    list ("Meanwhile, Zhang Ming"), except where the caller expects pairs ("signed by A and B":
    `min_items=2`)."""
    kind = _kind(span.text[:1])
    width = item_words or max(len(part.split()) for part in LIST_SEPARATOR.split(span.text)) + 1
    item = re.compile(rf"{_ITEM_WORD}(?: {_ITEM_WORD}){{0,{width - 1}}}?(?=,|\s+and\s|\s*[.;:!?()\n]|\s*$)")
    start, end = span.start - at, span.end - at
    # "A, B and C" ends at C: an item joined by "and" is the last.
    inside = _separators(text, start, end)
    joined = _SEPARATOR_AT_END.search(text, max(0, start - _LOOK_BACK), start)
    last_item = bool(inside and _joins_last(inside[-1]) or not inside and joined and _joins_last(joined))
    while not last_item and (sep := LIST_SEPARATOR.match(text, _past_aside(text, end))) \
            and (found := item.match(text, sep.end())) and _kind(text[sep.end()]) == kind:
        end = found.end()
        last_item = _joins_last(sep)
    while sep := _SEPARATOR_AT_END.search(text, max(0, start - _LOOK_BACK), start):
        if _joins_last(sep) and any(_joins_last(s) for s in _separators(text, start, end)):
            break  # that "and" closed another list
        item_end = _before_aside(text, sep.start())
        segment = re.split(r"[,;:.!?()\n]|\s+and\s+|\s+[-–—]\s+", text[max(0, item_end - _LOOK_BACK):item_end])[-1]
        words = segment.split()
        if len(words) <= width:  # "with UNODC": the item begins where the words begin like it
            while len(words) > 1 and _kind(words[0][0]) != kind:
                words = words[1:]
        last = words[-1] if len(words) > width else " ".join(words)  # a long run: its last word begins the list
        if not last or _kind(last[0]) != kind or not re.fullmatch(rf"{_ITEM_WORD}(?: {_ITEM_WORD})*", last):
            break
        start = item_end - len(last)
        if len(words) > width:
            break
    if len(_separators(text, start, end)) < min_items - 1:
        return span
    return replace(span, start=start + at, end=end + at, text=text[start:end])


def item_spans(span: S) -> list[S]:
    """The items of an enumeration ("India, China and Russia"), each a span of its own without
    its aside; the span whole when it is not one."""
    items, at = [], 0
    for sep in [*_separators(span.text, 0, len(span.text)), None]:
        stop = sep.start() if sep else len(span.text)
        stop = _before_aside(span.text, stop, at)
        if stop > at:
            items.append((at, stop))
        at = sep.end() if sep else at
    if len(items) < 2 or any(len(span.text[a:b].split()) > MAX_ITEM_WORDS for a, b in items):
        return [span]
    return [replace(span, start=span.start + a, end=span.start + b, text=span.text[a:b]) for a, b in items]


def same_shape(a: S, b: S) -> bool:
    """Two answers that can be parts of one list: both enumerations or neither, beginning alike
    ("India, China ..." and "four Observer States and six ..." are not)."""
    return (len(item_spans(a)) > 1) == (len(item_spans(b)) > 1) and _kind(a.text[:1]) == _kind(b.text[:1])


def _joins_last(separator: re.Match) -> bool:
    return "and" in separator.group()


def _separators(text: str, start: int, end: int) -> list[re.Match]:
    """The separators of text[start:end] that stand outside parentheses."""
    found, depth, at = [], 0, start
    for sep in LIST_SEPARATOR.finditer(text, start, end):
        depth += text.count("(", at, sep.start()) - text.count(")", at, sep.start())
        at = sep.start()
        if depth <= 0:
            found.append(sep)
    return found


def _past_aside(text: str, at: int) -> int:
    aside = _ASIDE.match(text, at)
    return aside.end() if aside else at


def _before_aside(text: str, at: int, floor: int = 0) -> int:
    aside = _ASIDE_AT_END.search(text, floor, at)
    return aside.start() if aside else at


def items_with_asides(text: str) -> list[list[tuple[int, int]]]:
    """Each enumeration of `text` whose items carry asides, as its items' (start, end), the
    aside included: "UNODC (14 June 2011, Astana), UNESCAP (15 December 2015, Zhengzhou) and
    UNESCO (10 June 2018, Qingdao)" is three items. Two items at least; offsets are code points."""
    found: list[list[tuple[int, int]]] = []
    chain: list[tuple[int, int]] = []
    previous = None
    for aside in _ASIDE.finditer(text):
        joined = previous is not None and _NEXT_ITEM.fullmatch(text, previous.end(), aside.start())
        if joined:
            chain.append((_after_separator(text, previous.end(), aside.start()), aside.end()))
        else:
            if len(chain) >= 2:
                found.append(chain)
            name = _FIRST_NAME.search(text, max(0, aside.start() - 60), aside.start())
            chain = [(name.start(), aside.end())] if name and name.group().strip() else []
        previous = aside
    if len(chain) >= 2:
        found.append(chain)
    return found


def off_the_named_item(question: str, text: str, start: int, end: int) -> bool:
    """The span text[start:end] stands in one item of an enumeration with asides
    (`items_with_asides`), and the question names another item by words of its own, but not
    this one: "UNODC" is no answer to "Which UN agency signed ... in 2018?" where only
    "UNESCO (10 June 2018, Qingdao)" says 2018. A span across items is a list, and stands in
    none. Words are compared whole, hyphens included: "UN-OCHA" does not hold "UN".

    Measured: 2 of the 20,589 SQuAD training and tuning gold answers stand off the item their
    question names (both of one question, whose gold is itself in doubt), and on the re-ranker's
    open-book cases it set aside 11 of 23,900 candidates, none of them right."""
    asked = {w for w in _WHOLE_WORD.findall(question.lower()) if w not in FUNCTION_WORDS}
    for items in items_with_asides(text):
        own = next((i for i, (a, b) in enumerate(items) if a <= start and end <= b), None)
        if own is None:
            continue
        named = [set(_WHOLE_WORD.findall(text[a:b].lower())) & asked for a, b in items]
        telling = set().union(*named) - set.intersection(*named)
        return bool(telling) and not named[own] & telling
    return False


def _after_separator(text: str, start: int, end: int) -> int:
    """Where the item's name begins in text[start:end]: after its separator and spaces."""
    separator = LIST_SEPARATOR.match(text, start, end)
    at = separator.end() if separator else start
    while at < end and text[at].isspace():
        at += 1
    return at
