"""The text rules scoqa applies in more than one place, each named for what it means.

Cleaning judges whether a line is prose and finds an article's date, chunking and citing cut
text into sentences, the reader compares a question's words with a passage's, a question plan
rejects a date where a place is asked for and a count where "which" is, and lists and counts are
cut at the same separators: each rule lives here once, so that a sentence end, a function word,
a date or a list separator means the same thing everywhere. So does what a reader reads: search,
the reader, cleaning and copy detection all see a text through `reading_view` (ligatures as
letters, soft hyphens and zero-width characters as nothing, a word hyphenated across a line
break whole), while every offset stays in the original.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

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
# Function words that do answer questions: a yes-no question's "no", a ranking's "most".
_ANSWERING_FUNCTION_WORDS = frozenset("no not most more".split())
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


# The hyphens that may end a line inside a word ("reimburse-" / "ment"): hyphen-minus, soft
# hyphen, Unicode hyphen.
LINE_END_HYPHENS = "-\u00ad\u2010"
# A word hyphenated across a line break: a letter, a hyphen, the line end, a lowercase letter
# (checked by `_hyphen_break`: Python's re has no class for lowercase letters of every script).
_HYPHEN_BREAK = re.compile(rf"(?<=[^\W\d_])[{LINE_END_HYPHENS}]\n[^\S\n]*(?=[^\W\d_])")
# Compatibility forms a reader sees as the letters or digits they stand for (Unicode's
# decomposition tags): ligatures and other <compat> forms (U+FB01 "ﬁ", "ĳ", "…"), full- and
# half-width forms, mathematical letters (<font>), Arabic presentation forms, circled, squared,
# small and vertical forms, vulgar fractions. Not among them: superscripts and subscripts
# (<super>, <sub>: "10⁹" is not "109"), and no-break spaces (<noBreak>), which are spaces to
# every tokenizer already and stay as the text has them.
_PLAIN_FORM_TAGS = frozenset({"<compat>", "<wide>", "<narrow>", "<font>", "<initial>", "<medial>", "<final>",
                              "<isolated>", "<circle>", "<square>", "<small>", "<vertical>", "<fraction>"})


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


def no_day_in_date(text: str) -> bool:
    """The text says when to the year or the month and nothing else ("2017", "June 2017"): no
    answer to a question that asks for the day."""
    return bool(_YEAR_WITH_OR_WITHOUT_MONTH.fullmatch(text.strip()))


def only_function_words(text: str) -> bool:
    """Every word of the text is a function word ("the", "of them"), and none of them answers a
    yes-no or a ranking question ("no", "not", "most", "more"): no answer to any question. Of the
    20,589 SQuAD training and tuning gold answers, 23 are only function words, and 21 of those
    are "no", "not" or "most"."""
    words = TOKEN.findall(text.lower())
    return bool(words) and all(w in FUNCTION_WORDS and w not in _ANSWERING_FUNCTION_WORDS for w in words)


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of text[start:end], trimmed of surrounding whitespace; a stop after an
    abbreviation ("Dr.", "U.N.") or an initial does not end a sentence, nor does a line end
    inside a hyphenated word ("reimburse-" / "ment")."""
    end = len(text) if end is None else end
    spans, begin = [], start
    for match in _SENTENCE_BOUNDARY.finditer(text, start, end):
        cut = match.end()
        if match.group().strip() and _is_abbreviation(text, begin, match.start()):
            continue
        if _hyphen_break(text, match.start() - 1) is not None:
            continue
        spans.append((begin, cut))
        begin = cut
    spans.append((begin, end))
    return [(a, b) for a, b in (trim(text, a, b) for a, b in spans) if a < b]


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    word = text[begin:dot].rsplit(None, 1)[-1] if text[begin:dot].strip() else ""
    word = word.lstrip("(\"'“‘").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, without its line end (LF, CRLF or CR)."""
    spans, start = [], 0
    for match in re.finditer(r"\r\n|\n|\r", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """text[start:end] without surrounding whitespace, as offsets; start == end when blank."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_CODE_PIECE = r"[A-Z0-9]+"
_CODE_BEFORE_HYPHEN = re.compile(rf"(?<![\w-]){_CODE_PIECE}(?:-{_CODE_PIECE})*-\Z")
_CODE_AFTER_HYPHEN = re.compile(rf"-{_CODE_PIECE}(?:-{_CODE_PIECE})*(?![\w-])")


def whole_code(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen text[start:end] over a code written with inner hyphens ("KX-4471-B", "COVID-19",
    "UN-OCHA") that it cuts at a hyphen: offsets of the whole code where the span's edge piece
    and the pieces across the hyphen are capitals and digits and the joined code holds a letter.

    Number ranges ("2019-2020", "90-60") and words ("third-most", "NP-complete") are left cut:
    of 20,589 SQuAD training and tuning gold answers, the rule widens none (measured with the
    split of ``eval/squad_split.py``), while 64 end at some inner hyphen.
    """
    edge = re.search(rf"{_CODE_PIECE}\Z", text[start:end])
    after = _CODE_AFTER_HYPHEN.match(text, end) if edge else None
    if after and _has_letter(text[end - len(edge.group()):after.end()]):
        end = after.end()
    edge = re.match(_CODE_PIECE, text[start:end])
    before = _CODE_BEFORE_HYPHEN.search(text[:start]) if edge else None
    if before and _has_letter(text[before.start():start + edge.end()]):
        start = before.start()
    return start, end


def _has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


def loose_pattern(text: str) -> str:
    """A regular expression for `text` in which any run of whitespace matches any other: copies
    of a passage differ in spaces (no-break spaces, line breaks)."""
    return r"\s+".join(map(re.escape, text.split()))


def _hyphen_break(text: str, at: int) -> int | None:
    """Where the word goes on, if a word is hyphenated across a line break at `at` (the
    hyphen): after the line end and any indentation, a lowercase letter follows."""
    if at < 1 or text[at] not in LINE_END_HYPHENS:
        return None
    match = _HYPHEN_BREAK.match(text, at)
    return match.end() if match and text[match.end()].islower() else None


def ends_in_hyphen_break(text: str, line_end: int) -> bool:
    """Whether the line ending at `line_end` (its line break) breaks a hyphenated word."""
    return line_end > 0 and _hyphen_break(text, line_end - 1) is not None


@lru_cache(maxsize=4096)
def _as_read_char(char: str) -> str:
    """A character as a reader sees it: a format character (Unicode category Cf: soft hyphen,
    zero-width space and joiners, word joiner, a byte order mark inside the text, direction
    marks) is nothing; a plain-looking compatibility form is what it stands for (NFKC); any
    other character is itself."""
    if unicodedata.category(char) == "Cf":
        return ""
    tag = unicodedata.decomposition(char).split(" ", 1)[0]
    return unicodedata.normalize("NFKC", char) if tag in _PLAIN_FORM_TAGS else char


@dataclass(frozen=True)
class ReadingView:
    """A text as a reader reads it, and where each of its characters stands in the original.

    `text` drops format characters and words' line-end hyphens and spells compatibility forms
    out (`as_read`); `origin[i]` is the offset in the original of `text[i]`, and
    `origin[len(text)]` is the original's length. `origin` is None where nothing changed."""

    text: str
    origin: tuple[int, ...] | None = None

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The (start, end) in the original of `text[start:end]`: every character that any of
        the span's characters comes from, with what was dropped between them."""
        if self.origin is None:
            return start, end
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


def reading_view(text: str) -> ReadingView:
    """The text as a reader reads it: what matching (BM25, the embedder) and the reader see,
    while offsets stay in the original (`ReadingView.original`). Only what a reader sees as
    plain letters or as nothing changes: a ligature ("ﬁ") reads as its letters, a soft hyphen,
    zero-width character, word joiner or byte order mark as nothing, and a word hyphenated
    across a line break as one word; accents, case, punctuation, spaces (no-break ones too),
    superscripts and line breaks stay as they are."""
    if _read_as_it_is(text):
        return ReadingView(text)
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in LINE_END_HYPHENS and (resume := _hyphen_break(text, i)) is not None:
            i = resume
            continue
        read = char if char.isascii() else _as_read_char(char)
        out.append(read)
        origin.extend([i] * len(read))
        i += 1
    view = "".join(out)
    return ReadingView(text) if view == text else ReadingView(view, (*origin, n))


_HYPHEN_LINE_ENDS = tuple(f"{hyphen}\n" for hyphen in LINE_END_HYPHENS)


def _read_as_it_is(text: str) -> bool:
    """Whether a reader reads the text as it is: no hyphen stands before a line break, and no
    character reads as another (`_as_read_char`). Looks at each distinct character once."""
    if any(end in text for end in _HYPHEN_LINE_ENDS):
        return False
    return text.isascii() or all(char.isascii() or _as_read_char(char) == char for char in set(text))


def as_read(text: str) -> str:
    """The text as a reader reads it (`reading_view`), without the way back."""
    return reading_view(text).text
