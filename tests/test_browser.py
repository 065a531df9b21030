"""The chat in a real browser: Debian's chromium, headless, driven by Playwright, with every
request that leaves the local server blocked and counted (the page must need no internet).

The server watches a copy of the seed corpus, so a file copied into it while the page is open
must become answerable; the tests run in file order, the first on a server of its own that is
still loading, the rest on one page."""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest

from conftest import CORPUS, REPO, free_port

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (`apt-get install -y chromium`; .ci/run "
                "installs it); Playwright's own browser download is never used", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from scoqa.answer import Assistant  # noqa: E402
from scoqa.app.serve import EXAMPLES, serve  # noqa: E402
from scoqa.app.workspace import Workspace  # noqa: E402
from scoqa.index.build import build_index  # noqa: E402

# gradio's queue statistics call pandas APIs that pandas 3 deprecates: gradio's noise, not ours.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "runs" / "browser" / "chat.png"
EMPTY_SCREENSHOT = REPO / "runs" / "browser" / "empty-question.png"
SOURCES_SCREENSHOT = REPO / "runs" / "browser" / "earlier-sources.png"
VIEWER_SCREENSHOT = REPO / "runs" / "browser" / "source-viewer.png"
WATCHED_SCREENSHOT = REPO / "runs" / "browser" / "watched-file-answered.png"
REMOVED_SCREENSHOT = REPO / "runs" / "browser" / "upload-removed.png"
STARTING_SCREENSHOT = REPO / "runs" / "browser" / "starting.png"
QUESTION = "When was the memorandum signed?"  # one the current reader answers
TRACKER = "![x](http://tracker.example/p.png)"


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    """A copy of the seed corpus: the folder the server indexes and watches."""
    folder = tmp_path_factory.mktemp("browser") / "docs"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.fixture(scope="module")
def url(docs, embedder, reader):
    """A live server over the copy, watching it."""
    build_index([docs], docs.parent / "index", embedder, progress=False)
    served = serve(Assistant.open(docs.parent / "index", reader=reader, embedder=embedder), port=free_port(), block=False)
    yield served.url
    served.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        expect.set_options(timeout=120_000)
        yield browser
        browser.close()


def open_page(browser, url: str, outside: list[str]):
    """A new page at `url` that may fetch from the server only; each other request is
    refused and appended to `outside`."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
               else (outside.append(route.request.url), route.abort()))
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def page(browser, url):
    outside: list[str] = []
    page = open_page(browser, url, outside)
    yield page
    page.close()
    assert outside == [], f"the page fetched from outside the server: {outside}"


def test_the_page_is_usable_while_the_models_load(browser, docs, embedder, reader):
    """Served before the Assistant has loaded (held back until the test lets it go), the page
    says it is starting; a question asked meanwhile gets a "still starting" warning and leaves
    the page usable; once loaded the page says it is ready and the same question is answered."""
    build_index([docs], docs.parent / "index", embedder, progress=False)
    release = threading.Event()

    def load(note):
        note("loading the reader")
        release.wait(300)
        return Assistant.open(docs.parent / "index", reader=reader, embedder=embedder)

    served = serve(Workspace(load, watch=False), port=free_port(), block=False)
    outside: list[str] = []
    page = open_page(browser, served.url, outside)
    try:
        status = page.locator("#scoqa-status .scoqa-status")
        expect(status).to_have_attribute("data-state", "loading")
        expect(status).to_contain_text("Starting: loading the reader")
        expect(page.locator("#scoqa-documents")).to_contain_text("listed once scoqa has started")
        box = page.locator("#scoqa-question textarea")
        box.fill(QUESTION)
        box.press("Enter")
        expect(page.get_by_text(re.compile(r"scoqa is still starting \(loading the reader, \d+ s so far\); "
                                           r"ask again in a few seconds"))).to_be_visible()
        STARTING_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(STARTING_SCREENSHOT))  # the viewport: a full-page shot leaves the toast out
        expect(page.locator("#scoqa-chat .bot")).to_have_count(0)
        expect(box).to_have_value(QUESTION)  # the question stays, to be asked again
        expect(page.get_by_text(EXAMPLES[0])).to_be_visible()

        release.set()
        expect(status).to_have_attribute("data-state", "ready")
        expect(status).to_contain_text("Ready: 5 documents")
        box.press("Enter")
        expect(page.locator("#scoqa-chat .bot .scoqa-found .scoqa-answer-text")).to_contain_text("2017")
    finally:
        release.set()
        page.close()
        served.close()
    assert outside == [], f"the page fetched from outside the server: {outside}"


def test_examples_show_on_first_load(page):
    for example in EXAMPLES:
        expect(page.get_by_text(example)).to_be_visible()
    expect(page.locator("#scoqa-status")).to_contain_text("Ready: 5 documents")


def test_an_empty_question_is_refused_without_covering_the_page(page):
    page.locator("#scoqa-ask").click()
    expect(page.get_by_text("the question is empty")).to_be_visible()
    EMPTY_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(EMPTY_SCREENSHOT), full_page=True)
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)  # no error overlay on any component
    expect(page.get_by_text(EXAMPLES[-1])).to_be_visible()  # examples stay
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


def test_a_citation_opens_its_document_with_the_quote_marked(page):
    """The first answer's [1] "open" link, and its card's in the Sources panel, open the cited
    file in the viewer, the quote marked and scrolled into view."""
    first = page.locator("#scoqa-chat .scoqa-found").first
    head = first.locator(".scoqa-cites li").first
    source, start, end = re.search(r"\[1\]\s*(\S+)(?: .*?)? chars (\d+)–(\d+)", head.inner_text()).groups()
    quote = (CORPUS / source).read_text(encoding="utf-8")[int(start):int(end)]
    for link in (head.locator("a.scoqa-open"), first.locator("#scoqa-a1-1 a.scoqa-open")):
        with page.expect_popup() as opened:
            link.click()
        viewer = opened.value
        viewer.wait_for_load_state()
        mark = viewer.locator("mark#quote")
        expect(mark).to_be_visible()
        expect(mark).to_be_in_viewport()
        assert mark.inner_text() == quote
        expect(viewer.locator("h1")).to_have_text(source)
        VIEWER_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(path=str(VIEWER_SCREENSHOT))
        viewer.close()


def ask(page, question: str):
    """Ask in the chat; the new answer's element (found or not found)."""
    answers = page.locator("#scoqa-chat .bot")
    before = answers.count()
    box = page.locator("#scoqa-question textarea")
    box.fill(question)
    box.press("Enter")
    expect(answers).to_have_count(before + 1)
    answer = answers.nth(before).locator(".scoqa-found, .scoqa-notfound")
    expect(answer).to_be_visible()
    return answer


def test_a_file_copied_into_the_folder_is_answered_without_a_restart(page, docs):
    (docs / "oslo.md").write_text("# Delegations\n\nThe delegation from Oslo was led by Ingrid Moe.\n", encoding="utf-8")
    expect(page.locator("#scoqa-status")).to_contain_text("1 added: oslo.md")  # the page says what changed
    answer = ask(page, "Who led the delegation from Oslo?")
    expect(answer.locator(".scoqa-answer-text")).to_contain_text("Ingrid Moe")
    expect(answer.locator(".scoqa-cites li").first).to_contain_text("oslo.md")
    expect(page.locator("#scoqa-documents tr[data-source='oslo.md']")).to_contain_text("Delegations")
    page.locator("#scoqa-filter textarea, #scoqa-filter input").first.fill("oslo")
    expect(page.locator("#scoqa-documents tbody tr")).to_have_count(1)
    page.screenshot(path=str(WATCHED_SCREENSHOT), full_page=True)
    page.locator("#scoqa-filter textarea, #scoqa-filter input").first.fill("")
    expect(page.locator("#scoqa-documents tbody tr")).to_have_count(6)


def test_removing_an_uploaded_document_makes_its_answer_not_found(page, tmp_path):
    upload = tmp_path / "kestrel.md"
    upload.write_text("The Kestrel Pact was signed in Valparaiso on 2 May 2031.\n", encoding="utf-8")
    page.get_by_text("Add documents").click()
    page.locator("#scoqa-files input[type=file]").set_input_files(str(upload))
    expect(page.locator("#scoqa-upload-status")).to_contain_text("uploads/kestrel.md: added")
    answer = ask(page, "Where was the Kestrel Pact signed?")
    expect(answer.locator(".scoqa-answer-text")).to_contain_text("Valparaiso")
    expect(page.locator("#scoqa-documents tr[data-source='uploads/kestrel.md']")).to_be_visible()

    page.locator("#scoqa-removable input").click()
    page.get_by_role("option", name="uploads/kestrel.md").click()
    page.locator("#scoqa-remove").click()
    expect(page.locator("#scoqa-documents tr[data-source='uploads/kestrel.md']")).to_have_count(0)
    expect(page.locator("#scoqa-status")).to_contain_text("removed: uploads/kestrel.md")
    gone = ask(page, "Where was the Kestrel Pact signed?")
    expect(gone).to_have_class(re.compile("scoqa-notfound"))
    for question in (QUESTION, "Who led the delegation from Oslo?"):  # every other document still answers
        expect(ask(page, question)).to_have_class(re.compile("scoqa-found"))
    page.screenshot(path=str(REMOVED_SCREENSHOT), full_page=True)


def check_card(card) -> None:
    """The card's quote is the cited file's own text at the offsets its head names."""
    head = card.locator(".scoqa-card-head").inner_text()
    source, start, end = re.search(r"\[\d+\]\s*(\S+)(?: .*?)? chars (\d+)–(\d+)", head).groups()
    cited = (CORPUS / source).read_text(encoding="utf-8")[int(start):int(end)]
    assert card.locator(".scoqa-quote").inner_text().split() == cited.split()
