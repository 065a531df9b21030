"""Boilerplate detection, measured on the seed corpus: no boilerplate line in any chunk, no
article sentence lost."""
from __future__ import annotations

import pytest

from scoqa.ingest.chunk import Chunker, ChunkSettings
from scoqa.ingest.clean import clean, find_date
from scoqa.ingest.formats import make_document
from scoqa.text import sentences

from conftest import CORPUS

SCRAPE = "001_fc58cf3dceaf584f.txt"
ARTICLE = "000_8b84643337e2ca64.txt"


def chunks_of(name: str):
    text = (CORPUS / name).read_text(encoding="utf-8")
    doc = make_document(name, text)
    return text, doc, Chunker(ChunkSettings(max_tokens=120)).chunk(doc)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def in_some_chunk(line: str, chunks) -> bool:
    """Every sentence of the line stands whole in some chunk."""
    texts = [" ".join(c.text.split()) for c in chunks]
    return all(any(" ".join(line[a:b].split()) in t for t in texts) for a, b in sentences(line))


def test_scrape_chunks_hold_exactly_the_article():
    text, _, chunks = chunks_of(SCRAPE)
    start = text.index("SCO, Red Cross sign memorandum of understanding\n13.06.2017")
    end = text.index("(Geneva).") + len("(Geneva).")
    article = set(lines(text[start:end]))
    boilerplate = [line for line in lines(text) if line not in article]
    assert len(boilerplate) > 50  # menus, headline lists, widgets, Russian interface text
    chunked = "\n".join(c.text for c in chunks)
    for line in boilerplate:
        assert line not in chunked, f"boilerplate in a chunk: {line!r}"
    for line in article:
        assert in_some_chunk(line, chunks), f"article line lost: {line!r}"


def test_every_sentence_of_the_original_article_survives_in_the_scrape():
    original = (CORPUS / ARTICLE).read_text(encoding="utf-8")
    _, _, chunks = chunks_of(SCRAPE)
    for start, end in sentences(original):
        assert in_some_chunk(original[start:end], chunks)


@pytest.mark.parametrize("name, furniture", [
    ("003_6e92cf0aa20c499b.txt", ["top of page", "Photo Credits: Society & Diplomatic Review", "Featured Posts",
                                  "Recent Posts", "Search By Tags", "Follow Us", "Facebook Basic Square",
                                  "bottom of page"]),
    ("002_7249c5024e0c0fdf.txt", ["« Back"]),
])
def test_page_furniture_left_out(name, furniture):
    text, _, chunks = chunks_of(name)
    chunked = "\n".join(c.text for c in chunks)
    for item in furniture:
        assert item not in chunked
    prose = [line for line in lines(text) if len(line.split()) >= 8 and line not in furniture]
    for line in prose:
        assert in_some_chunk(line, chunks), f"article line lost: {line!r}"


@pytest.mark.parametrize("name, expected", [
    ("000_8b84643337e2ca64.txt", "2017-06-09"),
    ("001_fc58cf3dceaf584f.txt", "2017-06-13"),  # the article's dateline, not the headline list's
    ("002_7249c5024e0c0fdf.txt", "2020-11-23"),
    ("003_6e92cf0aa20c499b.txt", "2019-11-19"),
    ("004_8703ce6526d76945.txt", "2022-07-14"),
])
def test_dates_of_the_seeds(name, expected):
    assert make_document(name, (CORPUS / name).read_text(encoding="utf-8")).date == expected


@pytest.mark.parametrize("text, expected", [
    ("Signed on March 3rd, 2021 in Tashkent.", "2021-03-03"),
    ("Posted 2020-02-30, corrected 5 May 2020.", "2020-05-05"),
    ("No date at all, just July 14.", None),
])
def test_date_formats(text, expected):
    assert find_date(text, ((0, len(text)),)) == expected


def test_plain_prose_is_all_content():
    text = "A title\n\nThe first paragraph says something about the organisation and its members.\n" \
           "The second paragraph adds that the meeting was held in the capital of the country."
    cleaned = clean(text)
    assert cleaned.content == ((0, len(text)),)
    assert cleaned.title == "A title"


def test_foreign_interface_text_and_cookie_notice_left_out():
    text = ("The summit adopted a declaration on regional security and economic cooperation today.\n"
            "Сообщите об орфографической ошибке\n"
            "We use cookies to improve your experience. By browsing you accept our cookie policy.\n")
    cleaned = clean(text)
    kept = "".join(text[s:e] for s, e in cleaned.content)
    assert "Сообщите" not in kept and "cookies" not in kept and "declaration" in kept
