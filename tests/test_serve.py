"""The chat server: the /ask API contract, concurrent sessions, errors, uploads, and HTML safety.

One real server per module (real Assistant over the seed corpus, copied so uploads land in a
temporary folder). Assertions hold whatever the reader answers today: the contract, not the answer.
"""
from __future__ import annotations

import shutil
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from scoqa import cli
from scoqa.answer import Answer, Assistant, Citation
from scoqa.build import build_index
from scoqa.index import Index
from scoqa.records import Chunk, Document, Hit
from scoqa.serve import add_uploads, chat_html, serve, sources_html

from conftest import CORPUS

# gradio's queue statistics call pandas APIs that pandas 3 deprecates: gradio's noise, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio.queueing")

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """(assistant, url, documents folder) of a live server on a free loopback port."""
    docs = tmp_path_factory.mktemp("serve") / "docs"
    shutil.copytree(CORPUS, docs)
    folder = docs.parent / "index"
    build_index([docs], folder, embedder, progress=False)
    assistant = Assistant.open(folder, embedder=embedder)
    assert assistant.retriever.embedder is embedder  # the model that built the index is reused
    port = free_port()
    demo = serve(assistant, port=port, block=False)
    yield assistant, f"http://127.0.0.1:{port}/", docs
    demo.close()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server[1], verbose=False)


def check_contract(payload: dict, question: str, docs: Path) -> None:
    """The JSON of `Answer.to_json()`, every quote the document's own text at its offsets."""
    assert list(payload)[:5] == ["question", "answer", "confidence", "evidence", "citations"]
    assert payload["question"] == question
    assert payload["answer"] is None or isinstance(payload["answer"], str)
    assert isinstance(payload["confidence"], float) and 0.0 <= payload["confidence"] <= 1.0
    assert (payload["answer"] is None) == (payload["evidence"] is None) == (payload["citations"] == [])
    quoted = payload["citations"] + payload["related"] + ([payload["span"]] if payload["span"] else [])
    for c in quoted:
        assert isinstance(c["start"], int) and isinstance(c["end"], int)
        text = (docs / c["source"]).read_text(encoding="utf-8")
        assert text[c["start"]:c["end"]] == c["quote"]
    for c in payload["citations"]:
        assert set(c) == {"source", "start", "end", "quote", "date", "page"}


def test_ask_returns_the_json_contract(server, client):
    payload = client.predict("When was the memorandum signed?", api_name="/ask")
    check_contract(payload, "When was the memorandum signed?", server[2])
    if payload["answer"] is not None:
        first, span = payload["citations"][0], payload["span"]
        assert first["source"] == span["source"] and first["start"] <= span["start"] < span["end"] <= first["end"]


def test_eight_concurrent_sessions_get_their_own_answers(server, monkeypatch):
    """Eight client sessions at once: each waits at a barrier inside the server until all eight
    are in flight together (so they truly run concurrently), and each gets its own answer."""
    assistant, url, docs = server
    together, ask = threading.Barrier(len(QUESTIONS), timeout=120), assistant.ask

    def ask_together(*args, **kwargs):
        together.wait()
        return ask(*args, **kwargs)

    monkeypatch.setattr(assistant, "ask", ask_together)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        payloads = list(pool.map(lambda q: Client(url, verbose=False).predict(q, api_name="/ask"), QUESTIONS))
    for question, payload in zip(QUESTIONS, payloads):
        check_contract(payload, question, docs)


@pytest.mark.parametrize("args, message", [
    (("   ",), "the question is empty"),
    (("x" * 3000,), "too long"),
    (("When was the memorandum signed?", 0), "k must be between 1 and"),
])
def test_bad_requests_are_clear_errors(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/ask")


@pytest.mark.parametrize("args, message", [(["serve", "-k", "0"], "-k must be at least 1"),
                                           (["serve", "--port", "70000"], "--port must be between 1 and 65535")])
def test_serve_command_refuses_bad_settings(args, message, capsys):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


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
        assert "[1]" in page and "evil&lt;i&gt;.txt" in page and "2017-06-09" in page
    for page in (chat_html(found), sources_html(found)):
        assert "On <mark>&lt;b&gt;9 June&lt;/b&gt;</mark> the" in page
        assert f"{start}–{end}" in page
    assert "scoqa-notfound" in chat_html(not_found) and "Not found in the documents" in chat_html(not_found)
    assert "Related passages" in sources_html(not_found) and f"0–{len(text)}" in sources_html(not_found)


def test_upload_makes_a_new_fact_findable_and_refuses_bad_files_one_by_one(server, client, tmp_path):
    assistant, _, docs = server
    before = len(assistant.retriever.index.documents)
    good = tmp_path / "zorblax.txt"
    good.write_text("The Zorblax Accord was signed in Reykjavik on 3 March 2031 by Ada Quill.\n", encoding="utf-8")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00" * 100)
    garbage = tmp_path / "broken.pdf"
    garbage.write_bytes(bytes(range(256)) * 20)

    message = add_uploads(assistant, [good, exe, garbage])

    assert "uploads/zorblax.txt: added" in message
    assert "tool.exe: not added: not a file type scoqa reads" in message
    assert "broken.pdf: not added:" in message
    assert sorted(p.name for p in (docs / "uploads").iterdir()) == ["zorblax.txt"]
    index = Index.open(assistant.retriever.index.folder)
    assert len(index.documents) == before + 1 and f"{before + 1} documents are searchable" in message

    assert assistant.retriever.search("Zorblax Accord Reykjavik", k=1)[0].chunk.source == "uploads/zorblax.txt"
    payload = client.predict("Where was the Zorblax Accord signed?", api_name="/ask")
    check_contract(payload, "Where was the Zorblax Accord signed?", docs)
    seed = client.predict("When was the memorandum signed?", api_name="/ask")
    check_contract(seed, "When was the memorandum signed?", docs)
    assert any(c["source"].startswith("00") for c in seed["citations"] + seed["related"])
