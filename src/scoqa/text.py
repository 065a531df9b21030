"""The text rules scoqa applies in more than one place, each named for what it means.

Cleaning judges whether a line is prose and finds an article's date, chunking and citing cut
text into sentences, the reader compares a question's words with a passage's, a question plan
rejects a date where a place is asked for and a count where "which" is, and lists and counts are
cut at the same separators: each rule lives here once, so that a sentence end, a function word,
a date or a list separator means the same thing everywhere.
"""
from __future__ import annotations

import re

# Tokens compared between a question and a passage (letters and digits alike).
TOKEN = re.compile(r"\w+")
# Words made of letters (hyphenated and elided ones whole): what a line's prose-ness is judged on.
LETTER_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# English function words: frequent in prose (cleaning counts them), empty of content (a
# question's match on them says nothing about a sentence).
FUNCTION_WORDS = frozenset(
    """a about after also an and are as at be been before being between but by can could did do
    does for from had has have he her his how i if in into is it its more most name no not of on
    or our over she should so than that the their them then there these they this those to under
    until was we were what when where which while who whom whose why will with would you your""".split()
)
# A line that ends like a sentence (or a clause, before a list): the final stop and closing quotes.
ENDS_LIKE_A_SENTENCE = re.compile(r"[.!?…:;][\"'”’)\]]*$")
# A blank line: no sentence, and no answer, runs across one.
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen col lt sgt st no nos vs etc e.g i.e cf al fig figs approx dept est inc
    ltd co corp jr sr jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n den vol pp""".split()
)
# A sentence ends at a stop followed by a capital or digit (after optional quotes), or at a line end.
_SENTENCE_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9А-ЯЁ])|\n\s*")


# Month names and abbreviations, by number.
MONTHS = {
    m: i
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for m in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
# A full date, as articles write it: ISO, day.month.year, "9 June 2017", "November 19th, 2019".
DATE_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(r"\b(?P<day>\d{1,2})[./](?P<mnum>\d{1,2})[./](?P<year>\d{4})\b"),
    re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.IGNORECASE),
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})\b", re.IGNORECASE),
]
_YEAR_WITH_OR_WITHOUT_MONTH = re.compile(_MONTH + r"\s+\d{4}|\d{4}", re.IGNORECASE)


# Between the items of an enumeration: "India, China and Russia", "A, B, and C".
LIST_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
# Cardinal numbers in words: "four Observer States" says how many, not which ("one" is as often
# a pronoun: "one that supports Th1").
_CARDINAL = (r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
             r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
             r"hundred|thousand|million|billion|dozen)")
_COUNT = rf"{_CARDINAL}(?:[\s-]+{_CARDINAL})*(?:\s+[\w'’-]+){{0,3}}?"
_ONLY_COUNTS = re.compile(rf"{_COUNT}(?:(?:{LIST_SEPARATOR.pattern}){_COUNT})*", re.IGNORECASE)


def only_a_count(text: str) -> bool:
    """The text says how many and nothing else: "eight", "four Observer States and six
    Dialogue Partners" (numbers in words only; a figure is as often a name, "Route 99")."""
    return bool(_ONLY_COUNTS.fullmatch(text.strip()))


def only_a_date(text: str) -> bool:
    """The text says when and nothing else: a full date, a month and year, or a year."""
    text = text.strip()
    return any(p.fullmatch(text) for p in (*DATE_PATTERNS, _YEAR_WITH_OR_WITHOUT_MONTH))


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of text[start:end], trimmed of surrounding whitespace; a stop after an
    abbreviation ("Dr.", "U.N.") or an initial does not end a sentence."""
    end = len(text) if end is None else end
    spans, begin = [], start
    for match in _SENTENCE_BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if match.group().strip() and _is_abbreviation(text, begin, match.start()):
            continue
        spans.append((begin, cut))
        begin = cut
    spans.append((begin, end))
    return [(a, b) for a, b in (trim(text, a, b) for a, b in spans) if a < b]


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    word = text[begin:dot].rsplit(None, 1)[-1] if text[begin:dot].strip() else ""
    word = word.lstrip("(\"'“‘").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """text[start:end] without surrounding whitespace, as offsets; start == end when blank."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def loose_pattern(text: str) -> str:
    """A regular expression for `text` in which any run of whitespace matches any other: copies
    of a passage differ in spaces (no-break spaces, line breaks)."""
    return r"\s+".join(map(re.escape, text.split()))
