"""The chat server: the /ask and /add_documents API contracts, concurrent sessions, errors,
uploads, and HTML safety.

One real server per module (real Assistant over the seed corpus, copied so uploads land in a
temporary folder). Assertions hold whatever the reader answers today: the contract, not the answer.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from scoqa.answer import Answer, Assistant, Citation
from scoqa.app import cli
from scoqa.app.serve import EXAMPLES, _text, add_received_files, chat_html, serve, sources_html, upload_html
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.records import Chunk, Document, Hit

from conftest import CORPUS, free_port

# The chat server is a service, and this module imports gradio: none of it is unit. gradio's
# queue statistics call pandas APIs that pandas 3 deprecates: gradio's noise, not ours.
pytestmark = [pytest.mark.service, pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")]

QUESTIONS = [
    "When was the memorandum signed?",
    "Who signed the memorandum between the SCO and the ICRC?",
    "Which states are members of the SCO?",
    "What did the SCO declare about Syria?",
    "Where was the memorandum signed?",
    "Who is the Secretary-General of the SCO?",
    "What does the ICRC do in armed conflicts?",
    "What did the SCO say about terrorism?",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, reader):
    """(assistant, url, documents folder, workspace) of a live server on a free loopback port."""
    docs = tmp_path_factory.mktemp("serve") / "docs"
    shutil.copytree(CORPUS, docs)
    folder = docs.parent / "index"
    build_index([docs], folder, embedder, progress=False)
    assistant = Assistant.open(folder, reader=reader, embedder=embedder)
    assert assistant.retriever.embedder is embedder  # the model that built the index is reused
    port = free_port()
    served = serve(assistant, port=port, block=False, watch=False)
    yield assistant, f"http://127.0.0.1:{port}/", docs, served.workspace
    served.close()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server[1], verbose=False)


def check_contract(payload: dict, question: str, docs: Path) -> None:
    """The JSON of `Answer.to_json()`, every quote the document's own text at its offsets."""
    assert list(payload)[:5] == ["question", "answer", "confidence", "evidence", "citations"]
    assert payload["question"] == question
    assert payload["answer"] is None or isinstance(payload["answer"], str)
    assert isinstance(payload["confidence"], float) and 0.0 <= payload["confidence"] <= 1.0
    assert payload["status"] in ("answered", "unsure", "not_found")
    assert (payload["answer"] is None) == (payload["status"] != "answered")
    assert (payload["status"] == "not_found") == (payload["evidence"] is None) == (payload["citations"] == [])
    if payload["status"] == "unsure":  # a possible answer, marked inside its cited evidence
        guess, evidence = payload["guess"], payload["citations"][0]
        assert evidence["source"] == guess["source"] and evidence["start"] <= guess["start"] < guess["end"] <= evidence["end"]
    quoted = payload["citations"] + payload["related"] + ([payload["span"]] if payload["span"] else [])
    quoted += [payload["guess"]] if payload["guess"] else []
    assert quoted, "an answer cites its evidence; an abstention offers the closest passages"
    for c in quoted:
        assert isinstance(c["start"], int) and isinstance(c["end"], int)
        text = (docs / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"]:c["end"]] == c["quote"]
    for c in payload["citations"]:
        assert set(c) == {"source", "start", "end", "quote", "date", "page", "encoding"}
    span = payload["span"]  # the answer where it stands, inside the first citation; none without an answer
    if payload["answer"] is None:
        assert span is None
    else:
        first = payload["citations"][0]
        assert first["source"] == span["source"] and first["start"] <= span["start"] < span["end"] <= first["end"]


# What each example question must answer (the seed corpus's own words).
EXAMPLE_ANSWERS = {
    "When was the memorandum signed?": ["9 June 2017"],
    "What does ICRC stand for?": ["International Committee of the Red Cross"],
    "Which UN General Assembly resolution granted the SCO official Observer status?": ["59/48"],
    "Which states are members of the SCO?": ["India", "China", "Kazakhstan", "Kyrgyzstan", "Pakistan", "Russia",
                                             "Tajikistan", "Uzbekistan"],
}


@pytest.mark.parametrize("question", EXAMPLES)
def test_each_example_question_is_answered_right(client, server, question):
    """The examples a visitor clicks first must work: asked through the API, each is answered
    (not "not found") with the document's own answer, and cited."""
    payload = client.predict(question, api_name="/ask")
    check_contract(payload, question, server[2])
    assert payload["answer"] is not None, f"{question!r} was not answered"
    answer = " ".join(payload["answer"].split())
    assert all(part in answer for part in EXAMPLE_ANSWERS[question]), answer


def test_ask_returns_the_json_contract(server, client):
    payload = client.predict("When was the memorandum signed?", api_name="/ask")
    check_contract(payload, "When was the memorandum signed?", server[2])


def test_eight_concurrent_sessions_get_their_own_answers(server, monkeypatch):
    """Eight client sessions at once: each waits at a barrier inside the server until all eight
    are in flight together (so they truly run concurrently), and each gets its own answer."""
    assistant, url, docs, _ = server
    together, ask = threading.Barrier(len(QUESTIONS), timeout=120), assistant.ask

    def ask_together(*args, **kwargs):
        together.wait()
        return ask(*args, **kwargs)

    monkeypatch.setattr(assistant, "ask", ask_together)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        payloads = list(pool.map(lambda q: Client(url, verbose=False).predict(q, api_name="/ask"), QUESTIONS))
    for question, payload in zip(QUESTIONS, payloads):
        check_contract(payload, question, docs)
    assert any(p["answer"] is not None for p in payloads), "the seed corpus answers some of its own questions"


@pytest.mark.parametrize("args, message", [
    (("   ",), "the question is empty"),
    (("x" * 3000,), "too long"),
    (("When was the memorandum signed?", 0), "k must be a whole number between 1 and 20"),
    (("When was the memorandum signed?", 2.5), "k must be a whole number"),
    (("When was the memorandum signed?", "3"), "k must be a whole number"),
    ((None,), "the question must be text"),
])
def test_bad_requests_are_clear_errors(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/ask")


@pytest.mark.parametrize("args, message", [(["serve", "-k", "0"], "-k must be at least 1"),
                                           (["serve", "--port", "70000"], "--port must be between 1 and 65535")])
def test_serve_command_refuses_bad_settings(args, message, capsys):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_a_lone_surrogate_in_a_question_is_a_clear_error(server):
    """JSON may carry a lone surrogate (gradio_client cannot send one, so this speaks HTTP)."""
    body = json.dumps({"data": ["Who signed the \ud800 memorandum?", 5]})  # ASCII JSON, "\\ud800" escaped
    call = httpx.post(f"{server[1]}gradio_api/call/ask", content=body, headers={"Content-Type": "application/json"})
    events = httpx.get(f"{server[1]}gradio_api/call/ask/{call.json()['event_id']}", timeout=60).text
    assert "event: error" in events and "not valid UTF-8" in events


def test_serve_refuses_a_port_in_use_naming_the_port_option(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert cli.main(["serve", "--port", str(taken.getsockname()[1]), "--index", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "--port" in err and "GRADIO" not in err and len(err.strip().splitlines()) == 1


def test_markdown_in_a_question_is_shown_as_typed():
    typed = "![x](http://tracker.example/p.png) **bold** <img src=x> `code` # head www.example.org"
    shown = _text(typed)
    assert not any(mark in shown for mark in ("![", "](", "**", "<img", "`", "# head", "http:", "www."))
    assert html.unescape(shown) == typed


def test_answer_html_escapes_document_text_and_marks_the_answer():
    text = "Intro. On <b>9 June</b> the $$x$$ {{y}} deal <script>alert(1)</script> was signed.\n\nMore."
    doc = Document("evil<i>.txt", text, "0", date="2017-06-09")
    start, end, a = text.index("On <b>"), text.index("\n\nMore"), text.index("<b>9")
    quote = Citation(doc.source, start, end, text[start:end], doc.date)
    span = Citation(doc.source, a, a + len("<b>9 June</b>"), "<b>9 June</b>", doc.date)
    found = Answer(question="When?", text=span.quote, confidence=0.9, evidence=quote.quote, citations=(quote,), span=span)
    not_found = Answer(question="Why?", text=None, confidence=0.0, evidence=None, citations=(),
                       related=(Hit(Chunk(doc, 0, len(text)), 0.5),))
    for page in (chat_html(found), sources_html(found), chat_html(not_found), sources_html(not_found)):
        assert "<script>" not in page and "<b>" not in page and "<i>" not in page
        assert "$$" not in page and "{{" not in page and "\n" not in page
        assert "[1]</a>" in page and "evil&#60;i&#62;.txt" in page and "2017-06-09" in page
    for page in (chat_html(found), sources_html(found)):
        assert "On <mark>&#60;b&#62;9 June&#60;/b&#62;</mark> the" in page
        assert f"{start}–{end}" in page
    assert "scoqa-notfound" in chat_html(not_found) and "Not found in the documents" in chat_html(not_found)
    assert "Related passages" in sources_html(not_found) and f"0–{len(text)}" in sources_html(not_found)


def test_each_answer_carries_its_own_linked_sources_with_titles(server):
    """Turn 3's [1] links to turn 3's first passage, which stands inside turn 3's answer; the
    citation names the document's title beside its file."""
    assistant = server[0]
    doc = next(d for d in assistant.documents.values() if d.title)
    quote = Citation(doc.source, 0, 20, doc.text[:20], doc.date)
    answer = Answer(question="Q?", text=doc.text[:5], confidence=0.9, evidence=quote.quote, citations=(quote,))
    page = chat_html(answer, 3, assistant.documents)
    assert page.count("href='#scoqa-a3-1'") >= 2 and "id='scoqa-a3-1'" in page
    assert page.index("<details") < page.index("id='scoqa-a3-1'")
    assert _text(doc.title) in page and "scoqa-a1-" not in page


def test_upload_makes_a_new_fact_findable_and_refuses_bad_files_one_by_one(server, client, tmp_path):
    assistant, _, docs, workspace = server
    before = len(assistant.retriever.index.documents)
    good = tmp_path / "zorblax.txt"
    good.write_text("The Zorblax Accord was signed in Reykjavik on 3 March 2031 by Ada Quill.\n", encoding="utf-8")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00" * 100)
    garbage = tmp_path / "broken.pdf"
    garbage.write_bytes(bytes(range(256)) * 20)

    message = upload_html(add_received_files(workspace, [good, exe, garbage]))

    assert "uploads/zorblax.txt: added" in message
    assert "tool.exe: refused: not a file type scoqa reads" in message
    assert "broken.pdf: refused:" in message
    assert not any(f.exists() for f in (good, exe, garbage))  # the server's received copies are gone
    assert sorted(p.name for p in (docs / "uploads").iterdir()) == ["zorblax.txt"]
    index = FolderStore.open(assistant.retriever.index.folder)
    assert len(index.documents) == before + 1 and f"{before + 1} documents are searchable" in message

    assert assistant.retriever.search("Zorblax Accord Reykjavik", k=1)[0].chunk.source == "uploads/zorblax.txt"
    payload = client.predict("Where was the Zorblax Accord signed?", api_name="/ask")
    check_contract(payload, "Where was the Zorblax Accord signed?", docs)
    seed = client.predict("When was the memorandum signed?", api_name="/ask")
    check_contract(seed, "When was the memorandum signed?", docs)
    assert any(c["source"].startswith("00") for c in seed["citations"] + seed["related"])


def test_add_documents_api_keeps_a_good_file_when_a_bad_one_of_its_name_follows(server, client, tmp_path):
    """Through /add_documents: a good inject.md, then a binary inject.md; the good one stays on
    disk and in the index, and a question about its text is answered from it."""
    assistant, _, docs, _ = server
    good_text = "The Velmora Compact was ratified in Quetzaltenango on 14 April 2029.\n"
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good = tmp_path / "good" / "inject.md"
    good.write_text(good_text, encoding="utf-8")
    bad = tmp_path / "bad" / "inject.md"
    bad.write_bytes(b"\x00\xff\x00binary" * 64)

    added = client.predict([handle_file(str(good))], api_name="/add_documents")
    assert added["files"] == [{"source": "uploads/inject.md", "status": "added", "reason": None, "warning": None}]
    refused = client.predict([handle_file(str(bad))], api_name="/add_documents")
    assert [(f["source"], f["status"]) for f in refused["files"]] == [("uploads/inject.md", "refused")]
    assert "binary" in refused["files"][0]["reason"] and refused["documents"] == added["documents"]
    again = client.predict([handle_file(str(good))], api_name="/add_documents")
    assert [f["status"] for f in again["files"]] == ["unchanged"]

    assert (docs / "uploads" / "inject.md").read_text(encoding="utf-8") == good_text
    payload = client.predict("Where was the Velmora Compact ratified?", api_name="/ask")
    check_contract(payload, "Where was the Velmora Compact ratified?", docs)
    cited = payload["citations"] + payload["related"]
    assert cited and cited[0]["source"] == "uploads/inject.md"


def test_documents_api_lists_every_document_and_remove_document_takes_out_an_upload(server, client, tmp_path):
    assistant, url, docs, _ = server
    listed = client.predict(api_name="/documents")
    sources = [d["source"] for d in listed["documents"]]
    assert sources == sorted(assistant.documents) and listed["skipped"] == []
    first = listed["documents"][0]
    assert set(first) == {"source", "title", "date", "pages", "passages", "indexed", "warning", "removable"}
    assert first["passages"] > 0 and first["indexed"] and first["removable"] is False
    with pytest.raises(AppError, match="not an uploaded document"):
        client.predict(first["source"], api_name="/remove_document")

    note = tmp_path / "kestrel.md"
    note.write_text("The Kestrel Pact was signed in Valparaiso.\n", encoding="utf-8")
    client.predict([handle_file(str(note))], api_name="/add_documents")
    assert "uploads/kestrel.md" in [d["source"] for d in client.predict(api_name="/documents")["documents"]]
    removed = client.predict("uploads/kestrel.md", api_name="/remove_document")
    assert removed == {"removed": "uploads/kestrel.md", "documents": len(assistant.documents)}
    assert not (docs / "uploads" / "kestrel.md").exists() and "uploads/kestrel.md" not in assistant.documents
    with pytest.raises(AppError, match="not in the index"):
        client.predict("uploads/kestrel.md", api_name="/remove_document")


def test_the_source_viewer_shows_the_cited_text_marked(server, client):
    assistant, url, docs, _ = server
    payload = client.predict("Who signed the memorandum between the SCO and the ICRC?", api_name="/ask")
    cited = (payload["citations"] + payload["related"])[0]
    page = httpx.get(f"{url}view", params={"source": cited["source"], "start": cited["start"], "end": cited["end"]})
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    marked = re.search(r"<mark id='quote'>(.*?)</mark>", page.text, re.S).group(1)
    assert html.unescape(marked) == cited["quote"]
    assert httpx.get(f"{url}view", params={"source": "nothing.txt"}).status_code == 404
    assert httpx.get(f"{url}view", params={"source": cited["source"], "start": 0, "end": 10**9}).status_code == 400


def test_the_page_is_served_while_the_models_load(tmp_path, hashing_embedder):
    """The page and the API answer at once, "still starting", until the Assistant is loaded."""
    from scoqa.app.workspace import Workspace
    from scoqa.retrieve import Retriever

    class SilentReader:
        no_answer_threshold = 0.5

        def read(self, question, passages, top_n=1, threshold=0.0):
            return []

    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    build_index([docs], tmp_path / "index", hashing_embedder, progress=False)
    release = threading.Event()

    def load(note):
        note("loading the reader")
        release.wait(60)
        return Assistant(Retriever(FolderStore.open(tmp_path / "index"), hashing_embedder), SilentReader())

    port = free_port()
    served = serve(Workspace(load, watch=False), port=port, block=False)
    try:
        client = Client(served.url, verbose=False)
        with pytest.raises(AppError, match="still starting .loading the reader"):
            client.predict("When was the memorandum signed?", api_name="/ask")
        assert served.workspace.status().state == "loading"
        release.set()
        served.workspace.wait_loaded(60)
        assert client.predict("When was the memorandum signed?", api_name="/ask")["answer"] is None
        assert served.workspace.status().message.startswith("Ready: 5 documents")
    finally:
        served.close()
