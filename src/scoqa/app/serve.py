"""The chat UI and the `/ask` API: a thin Gradio layer over one `Assistant` per process.

Nothing here answers questions; it renders what `Assistant.ask` returns. Every piece of text,
the user's own included, is made inert (HTML and Markdown) before it reaches the page, and
nothing is fetched from the internet. Errors a user causes (`ScoqaError`) become a toast in the
chat and an AppError for API clients, never a traceback.
"""
import html
import re
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import gradio as gr  # noqa: E402

from ..answer.assistant import NOT_FOUND, UNSURE, Answer, Assistant, Citation  # noqa: E402
from ..errors import ScoqaError  # noqa: E402
from ..index.uploads import MAX_UPLOAD_BYTES, UploadReport  # noqa: E402
from ..packaged import offline  # noqa: E402
from ..records import Document  # noqa: E402
from ..retrieve.fusion import Mode, names  # noqa: E402
from ..text import loose_pattern  # noqa: E402
from ..userinput import require_whole_number  # noqa: E402

EXAMPLES = (
    "When was the memorandum signed?",
    "Who signed the memorandum between the SCO and the ICRC?",
    "Which states are members of the SCO?",
    "What did the SCO declare about Syria?",
)
CONCURRENCY = 8  # questions answered at once, UI and API together; more wait in the queue
MAX_K = 20
# Markdown's punctuation, as HTML entities: shown as typed, never read as links, images or emphasis
# (":" too, or "http://..." would become a link that swallows the entities after it).
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_[](){}!#|~$<>:"})
_WWW = re.compile(r"(?i)\b(www)\.")


class PortInUse(ScoqaError):
    """The port asked for is taken by another program."""

CSS = """
.scoqa-found, .scoqa-notfound { line-height: 1.5; }
.scoqa-answer-text { font-size: 1.15em; font-weight: 600; margin: 0 0 .4em; }
.scoqa-notfound .scoqa-answer-text { color: #9a3412; font-style: italic; }
.scoqa-notfound { border-left: 4px solid #f59e0b; padding-left: .6em; }
.scoqa-found { border-left: 4px solid #16a34a; padding-left: .6em; }
.scoqa-unsure { border-left: 4px dashed #a855f7; padding-left: .6em; line-height: 1.5; }
.scoqa-unsure .scoqa-answer-text { font-weight: 400; font-style: italic; color: #6b21a8; }
.scoqa-unsure .scoqa-flag { display: inline-block; font-size: .8em; font-weight: 600; color: #6b21a8;
  border: 1px solid #a855f7; border-radius: 4px; padding: 0 .35em; margin-bottom: .3em; }
.scoqa-unsure mark { background: #ede9fe; color: #111827; padding: 0 .15em; border-radius: 3px; }
.scoqa-evidence { margin: 0 0 .5em; }
.scoqa-found mark, .scoqa-sources mark { background: #fde68a; color: #111827; padding: 0 .15em; border-radius: 3px; }
.scoqa-cites { list-style: none; padding: 0; margin: 0; font-size: .9em; }
.scoqa-cites li { margin: .15em 0; }
.scoqa-n { font-weight: 600; color: #1d4ed8; margin-right: .3em; }
.scoqa-where, .scoqa-muted { color: #6b7280; font-size: .9em; }
.scoqa-sources summary { cursor: pointer; color: #1d4ed8; margin: .3em 0; }
a.scoqa-n { text-decoration: none; }
.scoqa-title { font-style: italic; }
.scoqa-card { border: 1px solid #e5e7eb; border-radius: 8px; padding: .6em .8em; margin-bottom: .6em; }
.scoqa-card-head { font-size: .9em; margin-bottom: .3em; }
.scoqa-file { font-family: ui-monospace, monospace; font-size: .95em; }
.scoqa-quote { line-height: 1.5; }
.scoqa-upload ul { list-style: none; padding-left: 0; }
.scoqa-upload .refused { color: #b91c1c; }
"""


def build(assistant: Assistant) -> gr.Blocks:
    """The app around one loaded Assistant: its models are loaded once and shared by all sessions."""
    offline()

    def respond(question: str, chat: list[dict], asked: list[str], k: float, mode: str) -> tuple:
        """One chat turn; the session's earlier questions go along so that follow-ups resolve.
        A question that cannot be asked gets a warning toast and leaves the page as it was."""
        try:
            answer = assistant.ask(question, history=asked, k=int(k), mode=mode)
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), gr.skip(), gr.skip()
        turn = [{"role": "user", "content": _text(answer.question)},
                {"role": "assistant", "content": chat_html(answer, len(asked) + 1, assistant.documents)}]
        return [*chat, *turn], [*asked, answer.question], ""

    def ask(question: str, k: int = assistant.k) -> dict[str, Any]:
        """Answer one question from the documents: the answer (null when the documents do not
        say), its confidence, evidence sentence and citations with exact character offsets."""
        try:
            return assistant.ask(question, k=require_whole_number(k, "k", 1, MAX_K)).to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, None]:
        """Index the files dropped on the upload control; each gets its own status line."""
        if not files:
            return "", None
        progress(0, desc=f"Indexing {len(files)} file(s)")
        try:
            return upload_html(add_received_files(assistant, files, notify=lambda message: progress(None, desc=message))), None
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), None

    def add_documents(files: list[str] | None) -> dict[str, Any]:
        """Add .txt, .md, .html, .pdf or .docx files to the index: one entry per file (added, replaced,
        unchanged, or refused with the reason) and how many documents are searchable."""
        try:
            return add_received_files(assistant, files or []).to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    with gr.Blocks(title="scoqa", analytics_enabled=False) as demo:
        gr.Markdown("## scoqa: ask the documents\nAnswers come from the indexed documents only, each with the "
                    "file and character offsets it stands at.")
        asked = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat", height=620, buttons=[], latex_delimiters=[], feedback_options=None,
                    examples=[{"text": q} for q in EXAMPLES], elem_id="scoqa-chat",
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the documents", show_label=False,
                                     container=False, scale=5, max_length=assistant.settings.max_question_chars, autofocus=True, elem_id="scoqa-question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="scoqa-ask")
            with gr.Column(scale=2):
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, MAX_K, value=assistant.k, step=1, label="Passages to read (top-k)")
                    mode = gr.Radio(names(Mode), value=Mode.HYBRID.value, label="Retrieval")
                with gr.Accordion("Add documents", open=False):
                    files = gr.File(file_count="multiple", label=".txt, .md, .html, .pdf or .docx, up to "
                                                                  f"{MAX_UPLOAD_BYTES // 2**20} MB each", elem_id="scoqa-files")
                    status = gr.HTML(elem_id="scoqa-upload-status")
                # Never shown: the typed input and output of the /add_documents API.
                api_files = gr.File(file_count="multiple", visible=False)
                api_report = gr.JSON(visible=False)

        turn = dict(fn=respond, inputs=[box, chat, asked, k, mode], outputs=[chat, asked, box],
                    concurrency_limit=CONCURRENCY, concurrency_id="answer", api_visibility="private")
        box.submit(**turn)
        send.click(**turn)
        chat.example_select(_example_text, None, box, api_visibility="private").then(**turn)
        chat.clear(lambda: [], None, asked, api_visibility="private")
        files.upload(upload, files, [status, files], api_visibility="private", concurrency_id="upload")
        api_files.upload(add_documents, api_files, api_report, api_name="add_documents", concurrency_id="upload")
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="answer")
    return demo


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> gr.Blocks:
    """Launch on host:port; with block=False return at once (the server runs in a thread).
    Raises PortInUse if another program holds the port. File sizes are judged server-side, file
    by file (a size limit in the browser would refuse a whole batch for one large file)."""
    check_port(host, port)
    demo = build(assistant)
    demo.launch(server_name=host, server_port=port, share=False,
                prevent_thread_lock=True, quiet=True, css=CSS, footer_links=["api", "settings"], run_history=False,
                enable_monitoring=False, pwa=False, mcp_server=False, ssr_mode=False)
    print(f"scoqa: serving the chat on http://{host}:{demo.server_port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def add_received_files(assistant: Assistant, files: Sequence[str | Path],
                notify: Callable[[str], None] = lambda message: None) -> UploadReport:
    """Add files received by the server (the upload control's and `/add_documents`' work), then
    delete the server's temporary copies, whatever became of them."""
    try:
        return assistant.add_files([Path(f) for f in files], notify=notify)
    finally:
        for file in map(Path, files):
            file.unlink(missing_ok=True)
            try:
                file.parent.rmdir()  # gradio keeps each upload in a folder of its own
            except OSError:
                pass


def check_port(host: str, port: int) -> None:
    """Raises PortInUse unless host:port can be bound now (checked before models load)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise PortInUse(f"cannot serve on {host}:{port} ({err.strerror or err}); choose another port with --port") from None


def chat_html(answer: Answer, turn: int = 1, documents: Mapping[str, Document] | None = None) -> str:
    """The answer with its span marked in the evidence sentence, numbered citations that link to
    their passages, and those passages inline (collapsed), so each answer keeps its own sources;
    or, when the documents do not say, a visibly different note with the closest passages; or,
    when the assistant is unsure, the best candidate as a possible answer, styled apart (no bold
    answer, a dashed border, an "unsure" flag), marked in its evidence for the user to check.
    `turn` numbers the answer within the chat (its anchors must be unique on the page); `documents`
    supplies the documents' titles."""
    if answer.status == UNSURE and answer.guess is not None:
        c = answer.citations[0]
        where = _where(turn, 1, c.source, c.start, c.end, c.date, _title(documents, c.source), c.page)
        return (f"<div class='scoqa-unsure'><span class='scoqa-flag'>unsure: check the evidence</span>"
                f"<p class='scoqa-answer-text'>Possibly: {_text(answer.guess.quote)}</p>"
                f"<p class='scoqa-evidence'>{_quote_html(c, answer)} {_number(turn, 1)}</p>"
                f"<ul class='scoqa-cites'><li>{where}</li></ul>"
                f"<p class='scoqa-muted'>confidence {answer.confidence:.2f}, below the "
                f"answering threshold</p>{sources_html(answer, turn, documents)}</div>")
    if answer.text is None:
        items = "".join(f"<li>{_where(turn, n, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.document.date, h.chunk.document.title)}</li>"
                        for n, h in enumerate(answer.related, 1))
        related = f"<p>Closest passages:</p><ul class='scoqa-cites'>{items}</ul>" if items else ""
        return (f"<div class='scoqa-notfound'><p class='scoqa-answer-text'>{_text(NOT_FOUND.capitalize())}.</p>"
                f"{related}{sources_html(answer, turn, documents)}</div>")
    evidence = _quote_html(answer.citations[0], answer) if answer.citations else _text(answer.evidence or "")
    items = "".join(f"<li>{_where(turn, n, c.source, c.start, c.end, c.date, _title(documents, c.source), c.page)}</li>"
                    for n, c in enumerate(answer.citations, 1))
    return (f"<div class='scoqa-found'><p class='scoqa-answer-text'>{_text(answer.text)}</p>"
            f"<p class='scoqa-evidence'>{evidence} {_number(turn, 1)}</p>"
            f"<ul class='scoqa-cites'>{items}</ul>"
            f"<p class='scoqa-muted'>confidence {answer.confidence:.2f}</p>{sources_html(answer, turn, documents)}</div>")


def sources_html(answer: Answer, turn: int = 1, documents: Mapping[str, Document] | None = None) -> str:
    """Each cited passage with the answer marked, or the related passages when nothing was
    found, as a collapsed section of the answer; each passage is the target of its [n]."""
    if not answer.citations:
        cards = [_card(turn, n, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.document.date,
                       h.chunk.document.title, _text(h.chunk.text)) for n, h in enumerate(answer.related, 1)]
        head = "Related passages"
    else:
        cards = [_card(turn, n, c.source, c.start, c.end, c.date, _title(documents, c.source), _quote_html(c, answer),
                       c.page)
                 for n, c in enumerate(answer.citations, 1)]
        head = "Sources"
    if not cards:
        return ""
    return f"<details class='scoqa-sources'><summary>{head} ({len(cards)})</summary>{''.join(cards)}</details>"


def upload_html(report: UploadReport) -> str:
    """One line per uploaded file, so no file goes unexplained."""
    marks = {"added": "✓", "replaced": "✓", "unchanged": "=", "refused": "✗"}
    lines = []
    for o in report.outcomes:
        why = f": {_text(o.reason)}" if o.reason else ""
        warning = f" (⚠ {_text(o.warning)})" if o.warning else ""
        lines.append(f"<li class='{o.status}'>{marks[o.status]} {_text(o.source)}: {o.status}{why}{warning}</li>")
    return (f"<div class='scoqa-upload'><ul>{''.join(lines)}</ul>"
            f"<p class='scoqa-muted'>{report.documents} documents are searchable.</p></div>")


def _refusal(err: Exception) -> gr.Error:
    """A message for the user (the client's AppError, the page's error toast), not a server traceback."""
    return gr.Error(html.escape(str(err)), print_exception=False)


def _example_text(event: gr.SelectData) -> str:
    return event.value["text"]


def _quote_html(c: Citation, answer: Answer) -> str:
    """The quote, escaped, with the answer in <mark>: each part of it (or the span, or an unsure
    answer's guess) at its exact
    offsets where it lies in this quote, else wherever its words stand (a copy of the sentence in
    another document, or another sentence that names the same item)."""
    marks: list[tuple[int, int]] = []
    for piece in answer.parts or ((answer.span,) if answer.span else (answer.guess,) if answer.guess else ()):
        if piece.source == c.source and c.start <= piece.start and piece.end <= c.end:
            found = [(piece.start - c.start, piece.end - c.start)]
        else:
            words = loose_pattern(piece.quote)
            found = [m.span() for m in re.finditer(rf"(?<!\w){words}(?!\w)", c.quote)] if words else []
        marks += [(a, b) for a, b in found if all(b <= x or y <= a for x, y in marks)]
    out, at = [], 0
    for a, b in sorted(marks):
        out.append(f"{_text(c.quote[at:a])}<mark>{_text(c.quote[a:b])}</mark>")
        at = b
    return "".join(out) + _text(c.quote[at:])


def _title(documents: Mapping[str, Document] | None, source: str) -> str | None:
    document = documents.get(source) if documents is not None else None
    return document.title if document is not None else None


def _anchor(turn: int, n: int) -> str:
    return f"scoqa-a{turn}-{n}"


def _number(turn: int, n: int) -> str:
    return f"<a class='scoqa-n' href='#{_anchor(turn, n)}'>[{n}]</a>"


def _card(turn: int, n: int, source: str, start: int, end: int, date: str | None, title: str | None,
          quote_html: str, page: int | None = None) -> str:
    return (f"<div class='scoqa-card' id='{_anchor(turn, n)}'><div class='scoqa-card-head'>"
            f"{_where(turn, n, source, start, end, date, title, page)}</div><div class='scoqa-quote'>{quote_html}</div></div>")


def _where(turn: int, n: int, source: str, start: int, end: int, date: str | None, title: str | None,
           page: int | None = None) -> str:
    when = f" · {_text(date)}" if date else ""
    named = f" <span class='scoqa-title'>{_text(title)}</span>" if title else ""
    where = f"page {page} · chars" if page else "chars"
    return (f"{_number(turn, n)}<span class='scoqa-file'>{_text(source)}</span>{named} "
            f"<span class='scoqa-where'>{where} {start}–{end}{when}</span>")


def _text(text: str) -> str:
    """Text made inert on the page (a user's question or a document's text): HTML escaped,
    whitespace runs folded to one space (a blank line would end the HTML block in the chat's
    Markdown), and Markdown's punctuation and `$ { }` as entities, so that no Markdown, template
    or math renderer acts on it (an image in a question would make the browser fetch it)."""
    escaped = re.sub(r"\s+", " ", text).replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#x27;")
    return _WWW.sub(r"\1&#46;", escaped.translate(_MARKDOWN))
