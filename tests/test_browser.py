"""The chat in a real browser: Debian's chromium, headless, driven by Playwright, with every
request that leaves the local server blocked and counted (the page must need no internet)."""
from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from conftest import CORPUS, REPO

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (`apt-get install -y chromium`; .ci/run "
                "installs it); Playwright's own browser download is never used", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from scoqa.answer import Assistant  # noqa: E402
from scoqa.app.serve import serve  # noqa: E402

# gradio's queue statistics call pandas APIs that pandas 3 deprecates: gradio's noise, not ours.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "runs" / "browser" / "chat.png"
EMPTY_SCREENSHOT = REPO / "runs" / "browser" / "empty-question.png"
SOURCES_SCREENSHOT = REPO / "runs" / "browser" / "earlier-sources.png"
QUESTION = "When was the memorandum signed?"  # one the current reader answers
TRACKER = "![x](http://tracker.example/p.png)"


@pytest.fixture(scope="module")
def url(seed_index, embedder, reader):
    """A live server over the seed index (read only: this test uploads nothing)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = serve(Assistant.open(seed_index.folder, reader=reader, embedder=embedder), port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def page(url):
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                   else (outside.append(route.request.url), route.abort()))
        page.goto(url)
        yield page
        browser.close()
    assert outside == [], f"the page fetched from outside the server: {outside}"


def test_examples_show_on_first_load(page):
    for example in ("When was the memorandum signed?", "What did the SCO declare about Syria?"):
        expect(page.get_by_text(example)).to_be_visible()


def test_an_empty_question_is_refused_without_covering_the_page(page):
    page.locator("#scoqa-ask").click()
    expect(page.get_by_text("the question is empty")).to_be_visible()
    EMPTY_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(EMPTY_SCREENSHOT), full_page=True)
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no error overlay on any component
    expect(page.get_by_text("What did the SCO declare about Syria?")).to_be_visible()  # examples stay
    box = page.locator("#scoqa-question textarea")
    box.click()
    expect(box).to_be_editable()


def test_ask_in_the_chat_shows_the_marked_answer_and_numbered_citations(page):
    box = page.locator("#scoqa-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    answer = page.locator("#scoqa-chat .scoqa-found")
    answer.wait_for()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    expect(page.locator("#scoqa-chat .user")).to_have_text(QUESTION)
    text = answer.locator(".scoqa-answer-text").inner_text()
    assert "2017" in text
    assert answer.locator(".scoqa-evidence mark").first.inner_text() in text
    first = answer.locator(".scoqa-cites li").first.inner_text()
    assert re.match(r"\[1\]\s*\S+\.txt .*chars \d+–\d+ · \d{4}-\d{2}-\d{2}", first), first

    answer.locator(".scoqa-sources summary").click()
    card = answer.locator(".scoqa-card").first
    expect(card).to_be_visible()
    check_card(card)
    assert card.locator("mark").first.inner_text() in text


def test_a_question_is_shown_as_typed_and_an_earlier_answer_keeps_its_sources(page):
    """A Markdown image in the question stays text (the page fixture fails on any request to
    its host); then the first answer's [1] still leads to the first answer's own passage."""
    box = page.locator("#scoqa-question textarea")
    box.fill(f"{TRACKER} What did the SCO declare about Syria?")
    box.press("Enter")
    expect(page.locator("#scoqa-chat .user").nth(1)).to_contain_text(TRACKER)
    expect(page.locator("#scoqa-chat .bot").nth(1).locator(".scoqa-found, .scoqa-notfound")).to_be_visible()
    first = page.locator("#scoqa-chat .scoqa-found").first
    first.locator(".scoqa-cites a.scoqa-n").first.click()
    card = page.locator("#scoqa-a1-1")
    expect(card).to_be_visible()
    page.screenshot(path=str(SOURCES_SCREENSHOT), full_page=True)
    assert first.locator("#scoqa-a1-1").count() == 1  # the passage stands inside the first answer
    check_card(card)


def check_card(card) -> None:
    """The card's quote is the cited file's own text at the offsets its head names."""
    head = card.locator(".scoqa-card-head").inner_text()
    source, start, end = re.search(r"\[\d+\]\s*(\S+)(?: .*?)? chars (\d+)–(\d+)", head).groups()
    cited = (CORPUS / source).read_text(encoding="utf-8")[int(start):int(end)]
    assert card.locator(".scoqa-quote").inner_text().split() == cited.split()
