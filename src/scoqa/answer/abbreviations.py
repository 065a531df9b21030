"""What an abbreviation stands for, where a document spells it out.

"What does ICRC stand for?" has a literal answer when a document writes "the International
Committee of the Red Cross (ICRC)", or names "the People's Republic of China" and uses "PRC":
a reader trained on SQuAD rarely picks such a span, while its letters give it away. Two rules,
tried in this order, the first after Schwartz and Hearst (2003):

- a parenthesis: the words just before "(ICRC)" whose letters, in order, spell it, the first
  letter beginning the first word;
- initials: a run of capitalised words ("of", "the" and the like may join them) whose initials,
  hyphenated parts included, spell it, in a document that uses the abbreviation.

A question and a document may also name one thing in two forms ("the ICRC MoU", "a memorandum
of understanding"): a `Glossary` of the documents' own parenthesis definitions and of common
short forms (`COMMON_SHORT_FORMS`) gives the other forms, so that both are searched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

from ..text import FUNCTION_WORDS

# The probability that an expansion is right, by rule: (right + 1) / (found + 2) over the
# expansions found in the training and tuning articles, each judged by reading it
# (`python eval/abbreviations.py --data ../shared/benchmarks/squad`: 61 of 62 and 16 of 17).
CONFIDENCE = {"parenthesis": 0.969, "initials": 0.895}
# An abbreviation: two to eight capitals, digits or "&", starting with a capital ("IHL", "UN-OCHA" is two).
ABBREVIATION = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}\b")
_WORD = re.compile(r"[^\W\d_][\w'’]*(?:-[\w'’]+)*")


@dataclass(frozen=True)
class Expansion:
    """`text[start:end]` spells out the abbreviation; `rule` is "parenthesis" or "initials"."""

    start: int
    end: int
    text: str
    rule: str


def expansions(abbreviation: str, passage: str, document: str) -> Iterator[Expansion]:
    """Every place `passage` spells out `abbreviation`, parentheses first, each in text order;
    initials count only where the passage's `document` uses the abbreviation."""
    yield from _in_parentheses(abbreviation, passage)
    if re.search(rf"\b{re.escape(abbreviation)}\b", document):
        yield from _by_initials(abbreviation, passage)


def first_expansion(abbreviation: str, passages: Sequence[tuple[str, str]]) -> tuple[int, Expansion] | None:
    """The first spelling-out in `passages`, (passage, its document) pairs most relevant first,
    as (index, expansion); a parenthesis anywhere beats initials."""
    found = [(i, e) for i, (passage, document) in enumerate(passages) for e in expansions(abbreviation, passage, document)]
    found.sort(key=lambda pair: (pair[1].rule != "parenthesis", pair[0], pair[1].start))
    return found[0] if found else None


def _in_parentheses(abbreviation: str, text: str) -> Iterator[Expansion]:
    letters = [c.lower() for c in abbreviation if c.isalnum()]
    most_words = min(len(letters) + 5, 2 * len(letters))
    for match in re.finditer(rf"\(\s*{re.escape(abbreviation)}\s*\)", text):
        before = re.split(r"[()\[\];:]", text[max(0, match.start() - 300):match.start()])[-1]
        words = list(_WORD.finditer(before))[-most_words:]
        offset = match.start() - len(before)
        for first in range(len(words)):
            if _spells(letters, before[words[first].start():words[-1].end()]):
                start = offset + words[first].start()
                yield Expansion(start, offset + words[-1].end(), text[start:offset + words[-1].end()], "parenthesis")
                break


def _spells(letters: list[str], long_form: str) -> bool:
    """Schwartz-Hearst: match the letters from the last backwards, each to the left of the one
    after it; the first letter must begin a word, and so must the long form's first word."""
    lower = long_form.lower()
    at = len(lower)
    for n, letter in enumerate(reversed(letters)):
        first = n == len(letters) - 1
        at = lower.rfind(letter, 0, at)
        while first and at > 0 and lower[at - 1].isalnum():
            at = lower.rfind(letter, 0, at)
        if at < 0:
            return False
    return at == 0


def _by_initials(abbreviation: str, text: str) -> Iterator[Expansion]:
    """Whole names only: the run neither follows nor runs on into another capitalised word
    ("United States Census Bureau" is no "USC"), and two letters are too few to tell."""
    wanted = [c for c in abbreviation if c.isalpha()]
    if len(wanted) != len(abbreviation) or len(wanted) < 3:
        return
    words = list(_WORD.finditer(text))
    for first, word in enumerate(words):
        if not word.group()[0].isupper() or (first > 0 and _joined(text, words[first - 1], word)
                                             and words[first - 1].group()[0].isupper()):
            continue
        initials: list[str] = []
        for last in range(first, len(words)):
            token = words[last].group()
            if last > first and not _joined(text, words[last - 1], words[last]):
                break  # punctuation between the words ends the run
            if token[0].isupper():
                initials += [part[0] for part in token.split("-") if part]
            elif token.lower() not in FUNCTION_WORDS:
                break
            if initials == wanted:
                following = words[last + 1] if last + 1 < len(words) else None
                if following is None or not _joined(text, words[last], following) or not following.group()[0].isupper():
                    yield Expansion(word.start(), words[last].end(), text[word.start():words[last].end()], "initials")
                break
            if len(initials) >= len(wanted) or initials != wanted[:len(initials)]:
                break


def _joined(text: str, left: re.Match, right: re.Match) -> bool:
    """Only spaces stand between two words."""
    return not text[left.end():right.start()].strip()


# Short forms common in news and official documents that are not always spelt out where they are
# used, with their long forms (a document's own "(ICRC)" definitions are found by
# `Glossary.from_documents`). Matched case-sensitively as whole words, long forms in any case.
COMMON_SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "MoU": ("memorandum of understanding",),
    "UN": ("United Nations",),
    "UNGA": ("UN General Assembly", "United Nations General Assembly"),
    "UNSC": ("UN Security Council", "United Nations Security Council"),
    "UNSG": ("UN Secretary-General", "United Nations Secretary-General"),
    "EU": ("European Union",),
    "GDP": ("gross domestic product",),
    "PM": ("prime minister",),
    "FM": ("foreign minister",),
    "HQ": ("headquarters",),
    "NGO": ("non-governmental organisation", "non-governmental organization"),
    "FTA": ("free trade agreement",),
    "FDI": ("foreign direct investment",),
    "CEO": ("chief executive officer",),
}


@dataclass(frozen=True)
class Glossary:
    """Short forms and their long forms, and which of the forms the documents use.

    `other_forms(text)` gives, for each name that `text` writes in a form no document uses
    ("MoU" where the documents write "memorandum of understanding"), the forms the documents do
    use: a form the documents use is already matched as it is, and searching its other forms too
    would only blur the query. A short form matches as written or in capitals ("MoU", "MOU"), a
    long form in any case."""

    long_forms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    used: frozenset[str] = frozenset()  # the forms, lower-cased, that some document uses

    @classmethod
    def from_documents(cls, texts: Iterable[str]) -> Glossary:
        """`COMMON_SHORT_FORMS` and every parenthesis definition in `texts` ("the International
        Committee of the Red Cross (ICRC)"; the first rule of `expansions`), and which forms
        the texts use. Reads each text once per common form: linear in the corpus."""
        found: dict[str, list[str]] = {short: list(longs) for short, longs in COMMON_SHORT_FORMS.items()}
        used: set[str] = set()
        for text in texts:
            for match in _DEFINED.finditer(text):
                short = match.group(1)
                for expansion in _in_parentheses(short, text[max(0, match.start() - 300):match.end()]):
                    forms = found.setdefault(short, [])
                    long_form = " ".join(expansion.text.split())
                    used.update((short.lower(), long_form.lower()))
                    if not any(f.lower() == long_form.lower() for f in forms):
                        forms.append(long_form)
            for short, longs in COMMON_SHORT_FORMS.items():
                used.update(form.lower() for form in (short, *longs) if holds_name(text, form))
        return cls({short: tuple(longs) for short, longs in found.items()}, frozenset(used))

    def forms_named_in(self, text: str) -> frozenset[str]:
        """Every form, lower-cased, of each name `text` uses in any of its forms, its head
        included ("the Red Cross" names the International Committee of the Red Cross, ICRC)."""
        out: set[str] = set()
        for short, longs in self.long_forms.items():
            if any(holds_name(text, form) for form in (short, *longs)) or any(_names_by_head(text, f) for f in longs):
                out.update(form.lower() for form in (short, *longs))
        return frozenset(out)

    def other_forms(self, text: str) -> list[str]:
        """The forms the documents use of the names `text` writes in a form they do not use, in
        glossary order."""
        out: list[str] = []
        for short, longs in self.long_forms.items():
            named = [form for form in (short, *longs) if holds_name(text, form)]
            if named and not any(form.lower() in self.used for form in named):
                out += [form for form in (short, *longs) if form.lower() in self.used and form not in out]
        return out


def holds_name(text: str, form: str) -> bool:
    """`text` holds `form` as whole words: a short form (no lower-case word in it) as written or
    in capitals, a long form in any case."""
    if " " in form or form.islower():
        return re.search(rf"\b{re.escape(form)}\b", text, re.IGNORECASE) is not None
    return any(re.search(rf"\b{re.escape(f)}\b", text) for f in {form, form.upper()})


def _names_by_head(text: str, long_form: str) -> bool:
    """`text` holds, as written, the head of `long_form`: its last two or more capitalised
    words after a lower-case one ("Red Cross" of "International Committee of the Red Cross"). A
    name of capitalised words alone has no such head: "Cooperation Organisation" is no name."""
    words = long_form.split()
    cut = len(words)
    while cut > 0 and words[cut - 1][:1].isupper():
        cut -= 1
    head = words[cut:]
    return 0 < cut and len(head) >= 2 and re.search(rf"\b{re.escape(' '.join(head))}\b", text) is not None


# "(ICRC)": a parenthesis that holds only an abbreviation, where documents define one.
_DEFINED = re.compile(rf"\(\s*({ABBREVIATION.pattern})\s*\)")
