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

import gradio as gr

from ..answer.assistant import NOT_FOUND, UNSURE, Answer, Assistant, AssistantSettings, Citation
from ..errors import ScoqaError
from ..index.uploads import MAX_UPLOAD_BYTES, UploadReport
from ..packaged import offline
from ..records import Document
from ..retrieve.fusion import Mode, names
from ..text import loose_pattern
from ..userinput import require_text, require_whole_number
from .views import VIEW_PATH, VIEW_POLICY, documents_html, open_link, status_html, viewer_html
from .workspace import Workspace

# The seed corpus's own facts, each answered right by the shipped reader (tests/test_serve.py
# asks them through the API); chosen among 12 candidates for their confidence above the
# threshold (0.97, 0.86, 0.83 and 0.60 for the list, against 0.505).
EXAMPLES = (
    "When was the memorandum signed?",
    "What does ICRC stand for?",
    "Which UN General Assembly resolution granted the SCO official Observer status?",
    "Which states are members of the SCO?",
)
CONCURRENCY = 8  # questions answered at once, UI and API together; more wait in the queue
STATUS_SECONDS = 2.0  # how often a page asks for the status line and whether the index changed
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
.scoqa-open { font-size: .85em; margin-left: .4em; }
.scoqa-status { padding: .4em .7em; border-radius: 6px; background: #f3f4f6; }
.scoqa-status.scoqa-loading { background: #fef3c7; }
.scoqa-status.scoqa-failed { background: #fee2e2; color: #991b1b; }
.scoqa-changes { margin: .2em 0 0; padding-left: 1.2em; font-size: .9em; color: #374151; }
.scoqa-docs { width: 100%; font-size: .85em; border-collapse: collapse; }
.scoqa-docs th, .scoqa-docs td { text-align: left; padding: .2em .3em; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
.scoqa-documents { max-height: 420px; overflow: auto; }
.scoqa-badge { font-size: .75em; background: #dbeafe; border-radius: 4px; padding: 0 .3em; }
.scoqa-skipped { font-size: .85em; }
"""


def build(workspace: Workspace, settings: AssistantSettings = AssistantSettings()) -> gr.Blocks:
    """The app around one Workspace: its Assistant is loaded once and shared by all sessions;
    until it is, the page says so and questions are answered "still loading"."""
    offline()

    def respond(question: str, chat: list[dict], asked: list[str], k: float, mode: str) -> tuple:
        """One chat turn; the session's earlier questions go along so that follow-ups resolve.
        A question that cannot be asked gets a warning toast and leaves the page as it was."""
        try:
            assistant = workspace.assistant()
            answer = assistant.ask(question, history=asked, k=int(k), mode=mode)
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), gr.skip(), gr.skip()
        turn = [{"role": "user", "content": _text(answer.question)},
                {"role": "assistant", "content": chat_html(answer, len(asked) + 1, assistant.documents)}]
        return [*chat, *turn], [*asked, answer.question], ""

    def ask(question: str, k: int = settings.k) -> dict[str, Any]:
        """Answer one question from the documents: the answer (null when the documents do not
        say), its confidence, evidence sentence and citations with exact character offsets."""
        try:
            return workspace.assistant().ask(question, k=require_whole_number(k, "k", 1, MAX_K)).to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, None]:
        """Index the files dropped on the upload control; each gets its own status line."""
        if not files:
            return "", None
        progress(0, desc=f"Indexing {len(files)} file(s)")
        try:
            report = add_received_files(workspace, files, notify=lambda message: progress(None, desc=message),
                                        on_progress=_progress_to(progress))
            return upload_html(report), None
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), None

    def add_documents(files: list[str] | None) -> dict[str, Any]:
        """Add .txt, .md, .html, .pdf or .docx files to the index: one entry per file (added, replaced,
        unchanged, or refused with the reason) and how many documents are searchable."""
        try:
            return add_received_files(workspace, files or []).to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    def documents() -> dict[str, Any]:
        """Every indexed document (source, title, date, pages, passages, when indexed, warning,
        removable) and every skipped file with its reason, each sorted by source."""
        try:
            return workspace.catalog().to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    def remove_document(source: str) -> dict[str, Any]:
        """Remove an uploaded document (a source under uploads/) from the folder and the index;
        returns the removed source and how many documents remain."""
        try:
            return workspace.remove(require_text(source, "the source")).to_json()
        except ScoqaError as err:
            raise _refusal(err) from None

    def panel(name_filter: str) -> tuple[str, Any]:
        """The documents panel and the choice of removable documents, filtered by name."""
        try:
            everything = workspace.catalog()
        except ScoqaError:
            return "<p class='scoqa-muted'>The documents are listed once scoqa has started.</p>", gr.update(choices=[])
        shown = everything.matching(name_filter or "")
        removable = [d.source for d in everything.documents if d.removable]
        return documents_html(shown, len(everything.documents)), gr.update(choices=removable, value=None)

    def refresh(seen: int, name_filter: str) -> tuple:
        """Each tick: the status line, and the documents panel when the index has changed."""
        version = workspace.version if workspace.status().state == "ready" else -1
        if version == seen:
            return status_html(workspace.status()), gr.skip(), gr.skip(), seen
        return (status_html(workspace.status()), *panel(name_filter), version)

    def remove_chosen(source: str | None, name_filter: str) -> tuple:
        if not source:
            gr.Warning("Choose an uploaded document to remove.")
            return gr.skip(), gr.skip(), gr.skip()
        try:
            removal = workspace.remove(source)
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), gr.skip(), gr.skip()
        gr.Info(html.escape(f"Removed {removal.source}; {removal.documents} documents remain."))
        return (*panel(name_filter), status_html(workspace.status()))

    def reindex_now(name_filter: str, progress: gr.Progress = gr.Progress()) -> tuple:
        progress(0, desc="Re-indexing the folder")
        try:
            report = workspace.reindex(on_progress=_progress_to(progress))
        except ScoqaError as err:
            gr.Warning(html.escape(str(err)))
            return gr.skip(), gr.skip(), gr.skip()
        gr.Info(html.escape(f"Re-indexed: {report.changes() or 'nothing had changed'}."))
        return (*panel(name_filter), status_html(workspace.status()))

    with gr.Blocks(title="scoqa", analytics_enabled=False) as demo:
        gr.Markdown("## scoqa: ask the documents\nAnswers come from the indexed documents only, each with the "
                    "file and character offsets it stands at; **open ↗** shows a citation in its document.")
        status = gr.HTML(status_html(workspace.status()), elem_id="scoqa-status")
        asked = gr.State([])
        seen = gr.State(-2)
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat", height=620, buttons=[], latex_delimiters=[], feedback_options=None,
                    examples=[{"text": q} for q in EXAMPLES], elem_id="scoqa-chat",
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the documents", show_label=False,
                                     container=False, scale=5, max_length=settings.max_question_chars, autofocus=True, elem_id="scoqa-question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="scoqa-ask")
            with gr.Column(scale=2):
                with gr.Accordion("Documents", open=True, elem_id="scoqa-documents-panel"):
                    name_filter = gr.Textbox(placeholder="Filter by name or title", show_label=False, container=False,
                                             elem_id="scoqa-filter")
                    listing = gr.HTML(elem_id="scoqa-documents")
                    with gr.Row():
                        removable = gr.Dropdown([], label="Uploaded document", scale=3, elem_id="scoqa-removable")
                        remove = gr.Button("Remove", variant="stop", scale=1, elem_id="scoqa-remove")
                    reindex = gr.Button("Re-index the folder now", size="sm", elem_id="scoqa-reindex")
                with gr.Accordion("Add documents", open=False):
                    files = gr.File(file_count="multiple", label=".txt, .md, .html, .pdf or .docx, up to "
                                                                  f"{MAX_UPLOAD_BYTES // 2**20} MB each", elem_id="scoqa-files")
                    upload_status = gr.HTML(elem_id="scoqa-upload-status")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, MAX_K, value=settings.k, step=1, label="Passages to read (top-k)")
                    mode = gr.Radio(names(Mode), value=Mode.HYBRID.value, label="Retrieval")
                # Never shown: the typed input and output of the /add_documents API.
                api_files = gr.File(file_count="multiple", visible=False)
                api_report = gr.JSON(visible=False)
        timer = gr.Timer(STATUS_SECONDS)

        turn = dict(fn=respond, inputs=[box, chat, asked, k, mode], outputs=[chat, asked, box],
                    concurrency_limit=CONCURRENCY, concurrency_id="answer", api_visibility="private")
        box.submit(**turn)
        send.click(**turn)
        chat.example_select(_example_text, None, box, api_visibility="private").then(**turn)
        chat.clear(lambda: [], None, asked, api_visibility="private")
        quiet = dict(api_visibility="private", show_progress="hidden")
        timer.tick(refresh, [seen, name_filter], [status, listing, removable, seen], **quiet)
        demo.load(refresh, [seen, name_filter], [status, listing, removable, seen], **quiet)
        name_filter.change(panel, name_filter, [listing, removable], **quiet)
        remove.click(remove_chosen, [removable, name_filter], [listing, removable, status], api_visibility="private",
                     concurrency_id="upload")
        reindex.click(reindex_now, name_filter, [listing, removable, status], api_visibility="private",
                      concurrency_id="upload")
        files.upload(upload, files, [upload_status, files], api_visibility="private", concurrency_id="upload")
        api_files.upload(add_documents, api_files, api_report, api_name="add_documents", concurrency_id="upload")
        gr.api(ask, api_name="ask", concurrency_limit=CONCURRENCY, concurrency_id="answer")
        gr.api(documents, api_name="documents")
        gr.api(remove_document, api_name="remove_document", concurrency_id="upload")
    return demo


class Server:
    """A running server: its address, its workspace, and `close()`, which stops both."""

    def __init__(self, demo: gr.Blocks, workspace: Workspace, url: str):
        self.demo, self.workspace, self.url = demo, workspace, url

    def block(self) -> None:
        self.demo.block_thread()

    def close(self) -> None:
        self.workspace.close()
        self.demo.close()


def serve(target: Assistant | Workspace, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
          settings: AssistantSettings | None = None, watch: bool = True) -> Server:
    """Launch on host:port; with block=False return at once (the server runs in a thread).
    `target` is a Workspace (whose Assistant may still be loading) or an Assistant already
    loaded; `watch` (for an Assistant) watches its folder. Raises PortInUse if another program
    holds the port. File sizes are judged server-side, file by file (a size limit in the
    browser would refuse a whole batch for one large file)."""
    check_port(host, port)
    workspace = target if isinstance(target, Workspace) else Workspace.of(target, watch=watch)
    if settings is None:
        settings = target.settings if isinstance(target, Assistant) else AssistantSettings()
    demo = build(workspace, settings)
    demo.launch(server_name=host, server_port=port, share=False,
                prevent_thread_lock=True, quiet=True, css=CSS, footer_links=["api", "settings"], run_history=False,
                enable_monitoring=False, pwa=False, mcp_server=False, ssr_mode=False)
    demo.app.add_api_route(f"/{VIEW_PATH}", _viewer(workspace), methods=["GET"], include_in_schema=False)
    url = f"http://{host}:{demo.server_port}/"
    print(f"scoqa: serving the chat on {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    server = Server(demo, workspace, url)
    if block:
        try:
            server.block()
        finally:
            workspace.close()
    return server


def _viewer(workspace: Workspace) -> Callable:
    """The source viewer's route: GET view?source=S[&start=A&end=B][&v=SHA][&page=N]."""
    from fastapi.responses import HTMLResponse, PlainTextResponse

    def view(source: str, start: int | None = None, end: int | None = None, v: str | None = None,
             page: int | None = None):
        headers = {"Content-Security-Policy": VIEW_POLICY, "X-Content-Type-Options": "nosniff",
                   "Referrer-Policy": "no-referrer"}
        try:
            doc = workspace.assistant().documents.get(source)
        except ScoqaError as err:
            return PlainTextResponse(str(err), status_code=503, headers=headers)
        if doc is None:
            return PlainTextResponse(f"{source} is not in the index", status_code=404, headers=headers)
        if (start is None) != (end is None):
            return PlainTextResponse("give both start and end, or neither", status_code=400, headers=headers)
        try:
            return HTMLResponse(viewer_html(doc, start, end, v, page), headers=headers)
        except ValueError as err:
            return PlainTextResponse(str(err), status_code=400, headers=headers)

    return view


def _progress_to(progress: gr.Progress) -> Callable[[str, int, int], None]:
    """A build's progress (stage, done, total) as the page's progress bar."""
    return lambda stage, done, total: progress((done, total) if total else None, desc=f"{stage}", unit="")


def add_received_files(workspace: Workspace, files: Sequence[str | Path],
                       notify: Callable[[str], None] = lambda message: None,
                       on_progress: Callable[[str, int, int], None] | None = None) -> UploadReport:
    """Add files received by the server (the upload control's and `/add_documents`' work), then
    delete the server's temporary copies, whatever became of them."""
    try:
        return workspace.add_files([Path(f) for f in files], notify=notify, on_progress=on_progress)
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
        where = _where(turn, 1, c.source, c.start, c.end, c.date, _title(documents, c.source), c.page,
                       _sha(documents, c.source))
        return (f"<div class='scoqa-unsure'><span class='scoqa-flag'>unsure: check the evidence</span>"
                f"<p class='scoqa-answer-text'>Possibly: {_text(answer.guess.quote)}</p>"
                f"<p class='scoqa-evidence'>{_quote_html(c, answer)} {_number(turn, 1)}</p>"
                f"<ul class='scoqa-cites'><li>{where}</li></ul>"
                f"<p class='scoqa-muted'>confidence {answer.confidence:.2f}, below the "
                f"answering threshold</p>{sources_html(answer, turn, documents)}</div>")
    if answer.text is None:
        items = "".join(f"<li>{_where(turn, n, h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.document.date, h.chunk.document.title, sha256=h.chunk.document.sha256)}</li>"
                        for n, h in enumerate(answer.related, 1))
        related = f"<p>Closest passages:</p><ul class='scoqa-cites'>{items}</ul>" if items else ""
        return (f"<div class='scoqa-notfound'><p class='scoqa-answer-text'>{_text(NOT_FOUND.capitalize())}.</p>"
                f"{related}{sources_html(answer, turn, documents)}</div>")
    evidence = _quote_html(answer.citations[0], answer) if answer.citations else _text(answer.evidence or "")
    items = "".join(f"<li>{_where(turn, n, c.source, c.start, c.end, c.date, _title(documents, c.source), c.page, _sha(documents, c.source))}</li>"
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
                       h.chunk.document.title, _text(h.chunk.text), sha256=h.chunk.document.sha256)
                 for n, h in enumerate(answer.related, 1)]
        head = "Related passages"
    else:
        cards = [_card(turn, n, c.source, c.start, c.end, c.date, _title(documents, c.source), _quote_html(c, answer),
                       c.page, _sha(documents, c.source))
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


def _sha(documents: Mapping[str, Document] | None, source: str) -> str | None:
    document = documents.get(source) if documents is not None else None
    return document.sha256 if document is not None else None


def _card(turn: int, n: int, source: str, start: int, end: int, date: str | None, title: str | None,
          quote_html: str, page: int | None = None, sha256: str | None = None) -> str:
    return (f"<div class='scoqa-card' id='{_anchor(turn, n)}'><div class='scoqa-card-head'>"
            f"{_where(turn, n, source, start, end, date, title, page, sha256)}</div><div class='scoqa-quote'>{quote_html}</div></div>")


def _where(turn: int, n: int, source: str, start: int, end: int, date: str | None, title: str | None,
           page: int | None = None, sha256: str | None = None) -> str:
    """A citation's head: its number, file, title, where it stands, date, and a link that opens
    it in the source viewer."""
    when = f" · {_text(date)}" if date else ""
    named = f" <span class='scoqa-title'>{_text(title)}</span>" if title else ""
    where = f"page {page} · chars" if page else "chars"
    return (f"{_number(turn, n)}<span class='scoqa-file'>{_text(source)}</span>{named} "
            f"<span class='scoqa-where'>{where} {start}–{end}{when}</span>{open_link(source, start, end, sha256, page)}")


def _text(text: str) -> str:
    """Text made inert on the page (a user's question or a document's text): HTML escaped,
    whitespace runs folded to one space (a blank line would end the HTML block in the chat's
    Markdown), and Markdown's punctuation and `$ { }` as entities, so that no Markdown, template
    or math renderer acts on it (an image in a question would make the browser fetch it)."""
    escaped = re.sub(r"\s+", " ", text).replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#x27;")
    return _WWW.sub(r"\1&#46;", escaped.translate(_MARKDOWN))
