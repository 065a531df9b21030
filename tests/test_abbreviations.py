"""Where a document spells an abbreviation out: the two rules and what they must not take."""
from __future__ import annotations

import pytest

from scoqa.answer.abbreviations import Glossary, expansions, first_expansion


def spelt(abbreviation: str, text: str, document: str | None = None) -> list[tuple[str, str]]:
    found = list(expansions(abbreviation, text, text if document is None else document))
    assert all(text[e.start:e.end] == e.text for e in found)
    return [(e.text, e.rule) for e in found]


@pytest.mark.parametrize(("abbreviation", "text", "expected"), [
    ("ICRC", "the SCO and the International Committee of the Red Cross (ICRC) signed",
     "International Committee of the Red Cross"),
    ("IHL", "issues related to international humanitarian law (IHL) applicable", "international humanitarian law"),
    ("HDTV", "launched its high-definition television (HDTV) service", "high-definition television"),
    ("SCO", "signed by the Shanghai Cooperation Organisation (SCO) Secretariat", "Shanghai Cooperation Organisation")])
def test_the_words_before_a_parenthesis_that_spell_it(abbreviation, text, expected):
    assert spelt(abbreviation, text)[0] == (expected, "parenthesis")


@pytest.mark.parametrize(("abbreviation", "text"), [
    ("NPL", "the national physical laboratory (United Kingdom) (NPL)"),  # not across another parenthesis
    ("III", "in bauxite and corundum), iron (III)"),
    ("WHO", "a meeting of health ministers (WHO)")])
def test_a_parenthesis_without_a_spelling_before_it_gives_nothing(abbreviation, text):
    assert spelt(abbreviation, text) == []


def test_initials_of_a_whole_name_in_a_document_that_uses_the_abbreviation():
    text = "the Embassy of Myanmar to the People’s Republic of China. Later the PRC said"
    assert spelt("PRC", text) == [("People’s Republic of China", "initials")]
    assert spelt("PRC", "to the People’s Republic of China.", document="no abbreviation here") == []


@pytest.mark.parametrize("text", [
    "the United States Census Bureau counts USC students",  # the name runs on past the initials
    "the Grand Mosque, GM said",  # two letters are too few to tell
    "the Regional, Anti-Terrorist Structure RATS"])  # punctuation breaks the run
def test_initials_take_only_whole_names_of_three_letters_or_more(text):
    abbreviation = next(w for w in text.split() if w.isupper() and len(w) > 1)
    assert spelt(abbreviation, text) == []


def test_a_parenthesis_anywhere_beats_initials_in_a_better_ranked_passage():
    passages = ["the Shanghai Cooperation Organisation met; the SCO", "the Shanghai Cooperation Organization (SCO)"]
    index, expansion = first_expansion("SCO", [(p, p) for p in passages])
    assert (index, expansion.text, expansion.rule) == (1, "Shanghai Cooperation Organization", "parenthesis")
    assert first_expansion("WHO", [(p, p) for p in passages]) is None


def test_a_name_the_documents_write_otherwise_is_searched_in_their_form():
    documents = ["The Secretariat and the International Committee of the Red Cross (ICRC) signed a memorandum "
                 "of understanding. The UN General Assembly met in New York."]
    glossary = Glossary.from_documents(documents)
    assert glossary.other_forms("Who signed the ICRC MoU?") == ["memorandum of understanding"]
    assert glossary.other_forms("Who signed the ICRC MOU?") == ["memorandum of understanding"]
    assert glossary.other_forms("What did the UNGA adopt?") == ["UN General Assembly"]
    # forms the documents use are matched as they are: nothing to add
    assert glossary.other_forms("Who signed the memorandum of understanding with the ICRC?") == []
    assert glossary.other_forms("What did the UN General Assembly adopt?") == []
    # a document's own definition, the other way round
    defined_short = Glossary.from_documents(["The Collective Security Treaty Organization (CSTO) met."])
    assert defined_short.long_forms["CSTO"] == ("Collective Security Treaty Organization",)
    only_long = Glossary.from_documents(["A memorandum of understanding was signed."])
    assert only_long.other_forms("Who signed the mou?") == []  # "mou" in lower case is no short form
