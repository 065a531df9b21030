"""The chat UI and the `/ask` API: a thin Gradio layer over one `Assistant` per process.

Nothing here answers questions; it renders what `Assistant.ask` returns. Every piece of document
text is HTML-escaped before it reaches the page, and nothing is fetched from the internet.
"""
import html
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no telemetry and no version check, in any gradio app here

import gradio as gr  # noqa: E402

from .answer import (  # noqa: E402
    MAX_QUESTION_CHARS, MAX_UPLOAD_BYTES, NOT_FOUND, Answer, Assistant, BadQuestion, Citation, loose_pattern,
)
from .build import BuildReport  # noqa: E402
from .fusion import Mode, names  # noqa: E402
from .index import IndexUnavailable  # noqa: E402

EXAMPLES = (
    "When was the memorandum signed?",
    "Who signed the memorandum between the SCO and the ICRC?",
    "Which states are members of the SCO?",
    "What did the SCO declare about Syria?",
)
CONCURRENCY = 8  # questions answered at once, UI and API together; more wait in the queue
MAX_K = 20
SOURCES_EMPTY = '<div class="scoqa-sources"><p class="scoqa-muted">The passages behind each answer appear here.</p></div>'

CSS = """
.scoqa-found, .scoqa-notfound { line-height: 1.5; }
.scoqa-answer-text { font-size: 1.15em; font-weight: 600; margin: 0 0 .4em; }
.scoqa-notfound .scoqa-answer-text { color: #9a3412; font-style: italic; }
.scoqa-notfound { border-left: 4px solid #f59e0b; padding-left: .6em; }
.scoqa-found { border-left: 4px solid #16a34a; padding-left: .6em; }
.scoqa-evidence { margin: 0 0 .5em; }
.scoqa-found mark, .scoqa-sources mark { background: #fde68a; color: #111827; padding: 0 .15em; border-radius: 3px; }
.scoqa-cites { list-style: none; padding: 0; margin: 0; font-size: .9em; }
.scoqa-cites li { margin: .15em 0; }
.scoqa-n { font-weight: 600; color: #1d4ed8; margin-right: .3em; }
.scoqa-where, .scoqa-muted { color: #6b7280; font-size: .9em; }
.scoqa-sources h3 { margin: 0 0 .5em; }
.scoqa-card { border: 1px solid #e5e7eb; border-radius: 8px; padding: .6em .8em; margin-bottom: .6em; }
.scoqa-card-head { font-size: .9em; margin-bottom: .3em; }
.scoqa-file { font-family: ui-monospace, monospace; font-size: .95em; }
.scoqa-quote { line-height: 1.5; }
.scoqa-upload ul { list-style: none; padding-left: 0; }
.scoqa-upload .bad { color: #b91c1c; }
"""


def build(assistant: Assistant) -> gr.Blocks:
    """The app around one loaded Assistant: its models are loaded once and shared by all sessions."""

    def respond(question: str, chat: list[dict], asked: list[str], k: float, mode: str) -> tuple:
        """One chat turn; the session's earlier questions go along so that follow-ups resolve."""
        try:
            answer = assistant.ask(question, history=asked, k=int(k), mode=mode)
        except BadQuestion as err:
            raise _refusal(err) from None
        turn = [{"role": "user", "content": _text(answer.question)},
                {"role": "assistant", "content": chat_html(answer)}]
        return [*chat, *turn], [*asked, answer.question], sources_html(answer), ""

    def ask(question: str, k: int = assistant.k) -> dict[str, Any]:
        """Answer one question from the documents: the answer (null when the documents do not
        say), its confidence, evidence sentence and citations with exact character offsets."""
        if not 1 <= k <= MAX_K:
            raise _refusal(f"k must be between 1 and {MAX_K}")
        try:
            return assistant.ask(question, k=k).to_json()
        except BadQuestion as err:
            raise _refusal(err) from None

    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, None]:
        """Index the uploaded files; each refused file gets its own reason."""
        if not files:
            return "", None
        progress(0, desc=f"Indexing {len(files)} file(s)")
        return add_uploads(assistant, files, notify=lambda message: progress(None, desc=message)), None

    with gr.Blocks(title="scoqa", analytics_enabled=False) as demo:
        gr.Markdown("## scoqa: ask the documents\nAnswers come from the indexed documents only, each with the "
                    "file and character offsets it stands at.")
        asked = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat", height=560, buttons=[], latex_delimiters=[], feedback_options=None,
                    examples=[{"text": q} for q in EXAMPLES], elem_id="scoqa-chat",
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the documents", show_label=False,
                                     container=False, scale=5, max_length=MAX_QUESTION_CHARS, autofocus=True, elem_id="scoqa-question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="scoqa-ask")
            with gr.Column(scale=2):
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, MAX_K, value=assistant.k, step=1, label="Passages to read (top-k)")
                    mode = gr.Radio(names(Mode), value=Mode.HYBRID.value, label="Retrieval")
                with gr.Accordion("Add documents", open=False):
                    files = gr.File(file_count="multiple", label=".txt, .md, .html, .pdf or .docx, up to "
                                                                  f"{MAX_UPLOAD_BYTES // 2**20} MB each")
                    status = gr.HTML()
                sources = gr.HTML(SOURCES_EMPTY, max_height=620, elem_id="scoqa-sources")

        turn = dict(fn=respond, inputs=[box, chat, asked, k, mode], outputs=[chat, asked, sources, box],
                    concurrency_limit=CONCURRENCY, concurrency_id="answer", api_visibility="private")
        box.submit(**turn)
        send.click(**turn)
        chat.example_select(_example_text, None, box, api_visibility="private").then(**turn)
        chat.clear(lambda: ([], SOURCES_EMPTY), None, [asked, sources], api_visibility="private")
        files.upload(upload, files, [status, files], api_visibility="private")
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="answer")
    return demo


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> gr.Blocks:
    """Launch on host:port; with block=False return at once (the server runs in a thread)."""
    demo = build(assistant)
    demo.launch(server_name=host, server_port=port, share=False, max_file_size=MAX_UPLOAD_BYTES,
                prevent_thread_lock=True, quiet=True, css=CSS, footer_links=["api", "settings"], run_history=False,
                enable_monitoring=False, pwa=False, mcp_server=False, ssr_mode=False)
    print(f"scoqa: serving the chat on http://{host}:{demo.server_port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def add_uploads(assistant: Assistant, files: Sequence[str | Path],
                notify: Callable[[str], None] = lambda message: None) -> str:
    """Index uploaded files (the upload control's work) and say, file by file, what became of them."""
    try:
        report = assistant.add_files([Path(f) for f in files], notify=notify)
    except IndexUnavailable as err:
        raise _refusal(err) from None
    return upload_html(report)


def chat_html(answer: Answer) -> str:
    """The answer with its span marked in the evidence sentence and numbered citations; or, when
    the documents do not say, a visibly different note with the closest passages."""
    if answer.text is None:
        items = "".join(f"<li>{_where(n, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.document.date)}</li>"
                        for n, h in enumerate(answer.related, 1))
        related = f"<p>Closest passages (in Sources):</p><ul class='scoqa-cites'>{items}</ul>" if items else ""
        return f"<div class='scoqa-notfound'><p class='scoqa-answer-text'>{_text(NOT_FOUND.capitalize())}.</p>{related}</div>"
    evidence = _quote_html(answer.citations[0], answer) if answer.citations else _text(answer.evidence or "")
    items = "".join(f"<li>{_where(n, c.source, c.start, c.end, c.date, c.page)}</li>" for n, c in enumerate(answer.citations, 1))
    return (f"<div class='scoqa-found'><p class='scoqa-answer-text'>{_text(answer.text)}</p>"
            f"<p class='scoqa-evidence'>{evidence} <span class='scoqa-n'>[1]</span></p>"
            f"<ul class='scoqa-cites'>{items}</ul>"
            f"<p class='scoqa-muted'>confidence {answer.confidence:.2f}</p></div>")


def sources_html(answer: Answer) -> str:
    """Each cited passage with the answer marked; the related passages when nothing was found."""
    if answer.text is None:
        cards = [_card(n, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.document.date, _text(h.chunk.text))
                 for n, h in enumerate(answer.related, 1)]
        head = "<h3>Related passages</h3><p class='scoqa-muted'>The documents do not answer this; these come closest.</p>"
    else:
        cards = [_card(n, c.source, c.start, c.end, c.date, _quote_html(c, answer), c.page)
                 for n, c in enumerate(answer.citations, 1)]
        head = "<h3>Sources</h3>"
    return f"<div class='scoqa-sources'>{head}{''.join(cards)}</div>"


def upload_html(report: BuildReport) -> str:
    """One line per added, updated or refused file, so a bad file never goes unexplained."""
    lines = [f"<li class='ok'>✓ {_text(s)}: added</li>" for s in report.added]
    lines += [f"<li class='ok'>✓ {_text(s)}: updated</li>" for s in report.changed]
    lines += [f"<li class='bad'>✗ {_text(name)}: not added: {_text(reason)}</li>" for name, reason in report.skipped]
    lines += [f"<li>⚠ {_text(s)}: {_text(warning)}</li>" for s, warning in report.warnings]
    if not lines:
        lines = ["<li>Nothing new: these files are already indexed.</li>"]
    return (f"<div class='scoqa-upload'><ul>{''.join(lines)}</ul>"
            f"<p class='scoqa-muted'>{report.documents} documents are searchable.</p></div>")


def _refusal(err: Exception | str) -> gr.Error:
    """A message for the user (the client's AppError, the page's error toast), not a server traceback."""
    return gr.Error(html.escape(str(err)), print_exception=False)


def _example_text(event: gr.SelectData) -> str:
    return event.value["text"]


def _quote_html(c: Citation, answer: Answer) -> str:
    """The quote, escaped, with the answer in <mark>: each part of it (or the span) at its exact
    offsets where it lies in this quote, else wherever its words stand (a copy of the sentence in
    another document, or another sentence that names the same item)."""
    marks: list[tuple[int, int]] = []
    for piece in answer.parts or ((answer.span,) if answer.span else ()):
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


def _card(n: int, source: str, start: int, end: int, date: str | None, quote_html: str,
          page: int | None = None) -> str:
    return (f"<div class='scoqa-card'><div class='scoqa-card-head'>{_where(n, source, start, end, date, page)}</div>"
            f"<div class='scoqa-quote'>{quote_html}</div></div>")


def _where(n: int, source: str, start: int, end: int, date: str | None, page: int | None = None) -> str:
    when = f" · {_text(date)}" if date else ""
    where = f"page {page} · chars" if page else "chars"
    return (f"<span class='scoqa-n'>[{n}]</span><span class='scoqa-file'>{_text(source)}</span> "
            f"<span class='scoqa-where'>{where} {start}–{end}{when}</span>")


def _text(text: str) -> str:
    """Document text made inert in HTML: escaped, whitespace runs folded to one space (a blank line
    would end the HTML block in the chat's Markdown), and `$ { }` as entities so that no template
    or math renderer acts on it."""
    escaped = html.escape(re.sub(r"\s+", " ", text))
    return escaped.replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")
