"""The `scoqa` command. Exit codes: 0 success, 2 bad usage or input, 1 internal failure."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from ..errors import ScoqaError
from ..index.registry import DEFAULT, store_forms
from ..packaged import offline
from ..retrieve.fusion import Mode, names

if TYPE_CHECKING:
    from ..answer.assistant import Assistant
    from ..retrieve.embed import Embedder

DEFAULT_INDEX = ".scoqa/index"
READ_K_HELP = "passages to read per question (default: the Assistant's, the number its reader was calibrated reading)"


class UsageError(ScoqaError):
    """A bad argument; printed as one line, exit code 2."""


def index_folder(arg: str | None) -> Path:
    """The index folder named by --index, else $SCOQA_INDEX, else the default; never a file."""
    folder = Path(arg or os.environ.get("SCOQA_INDEX") or DEFAULT_INDEX)
    if folder.exists() and not folder.is_dir():
        named = "--index" if arg else "$SCOQA_INDEX" if os.environ.get("SCOQA_INDEX") else "the index folder"
        raise UsageError(f"{named} names {folder}, which is a file, not a folder")
    return folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scoqa", description="Offline question answering over your documents.")
    sub = parser.add_subparsers(dest="command", required=True)
    index_help = f"index folder (default: $SCOQA_INDEX, else {DEFAULT_INDEX})"

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="*", type=Path, default=[Path("corpus")], help="files or folders (default: corpus/)")
    p.add_argument("--index", help=index_help)
    p.add_argument("--model", help="embedding model: all-MiniLM-L6-v2 or a local sentence-transformers folder "
                                   "(default: the index's own model, else all-MiniLM-L6-v2)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything, ignoring the existing index")
    p.add_argument("--store", help=f"where the index data lives: {store_forms()}; "
                                   f"default: where it lives now, else {DEFAULT}")
    p.add_argument("--dense", choices=("auto", "flat", "ivf"), default="auto",
                   help="dense index: exact (flat), approximate (ivf), or chosen by size (auto)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("ask", help="answer a question from the documents, with citations")
    p.add_argument("question", help='the question; "-" reads one question per line and writes JSON lines')
    p.add_argument("-k", type=int, help=READ_K_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index", help=index_help)

    p = sub.add_parser("search", help="ranked passages for a query, with exact offsets")
    p.add_argument("query", nargs="?", help="the query; without it, read queries one per line")
    p.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--mode", choices=names(Mode), default=Mode.HYBRID.value)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index", help=index_help)

    p = sub.add_parser("serve", help="the chat UI and its /ask API in the browser (builds a missing index)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("-k", type=int, help=READ_K_HELP)
    p.add_argument("--index", help=index_help)
    p.add_argument("--no-watch", action="store_true",
                   help="do not watch the indexed folder (by default files added, changed or removed there while "
                        "the server runs are indexed within seconds)")

    p = sub.add_parser("documents", help="list the indexed documents and the skipped files with their reasons")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index", help=index_help)

    p = sub.add_parser("eval", help="score the assistant on a gold question set and write a report "
                                    "(builds a missing index)")
    p.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"),
                   help="gold questions, one JSON object a line (default eval/gold.jsonl)")
    p.add_argument("--report", type=Path, default=Path("runs/eval"),
                   help="folder for report.md, report.json and the plots (default runs/eval)")
    p.add_argument("--index", help=index_help)
    p.add_argument("-k", type=int, help=READ_K_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    offline()
    try:
        return {"index": _index, "search": _search, "ask": _ask, "serve": _serve, "documents": _documents,
                "eval": _eval}[args.command](args)
    except (ScoqaError, FileNotFoundError) as err:
        print(f"scoqa: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scoqa: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if os.environ.get("SCOQA_DEBUG"):
            raise
        print(f"scoqa: internal error: {type(err).__name__}: {err} (set SCOQA_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..index.build import build_index
    from ..index.registry import indexed_model, normalise_location
    from ..retrieve.embed import DEFAULT_MODEL, Embedder

    folder = index_folder(args.index)
    store = normalise_location(args.store) if args.store else None
    model = args.model or indexed_model(folder) or DEFAULT_MODEL
    report = build_index(
        args.paths, folder, Embedder(model), rebuild=args.rebuild, dense=args.dense, store=store,
        progress=not args.quiet, notify=lambda message: tqdm.write(f"scoqa: {message}", file=sys.stderr),
    )
    print(report.summary())
    return 0


def _search(args: argparse.Namespace) -> int:
    from ..index.registry import open_store
    from ..retrieve.embed import Embedder
    from ..retrieve.retriever import Retriever
    from ..userinput import printable, require_text

    if args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.query is not None and not require_text(args.query, "the query").strip():
        raise UsageError("the query is empty")
    index = open_store(index_folder(args.index))
    retriever = Retriever(index, Embedder(index.model))
    for query in [args.query] if args.query is not None else _read_queries():
        try:
            hits = retriever.search(require_text(query, "the query"), k=args.k, mode=args.mode)
        except ScoqaError as err:  # one bad line of a batch: say so and go on
            if args.json:
                print(json.dumps({"query": printable(query), "error": str(err)}, ensure_ascii=False), flush=True)
            else:
                print(f"scoqa: error: {err}", file=sys.stderr, flush=True)
            continue
        print(json.dumps(_hits_json(query, hits), ensure_ascii=False) if args.json else _hits_text(hits))
        sys.stdout.flush()
    return 0


def _ensure_index(folder: Path, note=lambda message: None) -> Embedder | None:
    """`ask`, `serve` and `eval` work on a fresh clone: without an index they build one from
    corpus/, and return the embedder that built it, for the Assistant to reuse."""
    from tqdm import tqdm

    from ..index.build import build_index
    from ..index.registry import index_exists
    from ..retrieve.embed import DEFAULT_MODEL, Embedder

    if index_exists(folder):
        return None
    print(f"scoqa: no index at {folder}; indexing corpus/ first", file=sys.stderr)
    note("indexing corpus/ (there was no index yet)")
    embedder = Embedder(DEFAULT_MODEL)
    report = build_index([Path("corpus")], folder, embedder,
                         notify=lambda message: tqdm.write(f"scoqa: {message}", file=sys.stderr))
    print(f"scoqa: {report.summary()}", file=sys.stderr)
    return embedder


def _check_read_k(args: argparse.Namespace) -> None:
    if args.k is not None and args.k < 1:
        raise UsageError("-k must be at least 1")


def _settings(args: argparse.Namespace):
    from ..answer.assistant import AssistantSettings

    return AssistantSettings() if args.k is None else AssistantSettings(k=args.k)


def _open_assistant(args: argparse.Namespace, note=lambda message: None) -> Assistant:
    """The Assistant over --index (built from corpus/ if missing), reading -k passages or its
    default; `note` hears what it is doing."""
    from ..answer.assistant import Assistant

    folder = index_folder(args.index)
    embedder = _ensure_index(folder, note)
    note("loading the embedding model, the reader and the index")
    return Assistant.open(folder, settings=_settings(args), embedder=embedder)


def _ask(args: argparse.Namespace) -> int:
    from ..userinput import printable, require_text

    _check_read_k(args)
    if args.question != "-" and not require_text(args.question, "the question").strip():
        raise UsageError("the question is empty")
    assistant = _open_assistant(args)
    if args.question != "-":
        answer = assistant.ask(args.question)
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else _answer_text(answer))
        return 0
    _tolerant_stdin()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            payload = assistant.ask(line).to_json()
        except ScoqaError as err:  # one bad line of a batch gets its own error and the batch goes on
            payload = {"question": printable(line.strip()[:200]), "answer": None, "confidence": 0.0,
                       "evidence": None, "citations": [], "status": None, "guess": None, "error": str(err)}
        print(json.dumps(payload, ensure_ascii=False), flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The page is served at once; the Assistant loads behind it (the page says so meanwhile)."""
    from .workspace import Workspace
    from .serve import check_port, serve

    _check_read_k(args)
    if not 0 < args.port < 65536:
        raise UsageError("--port must be between 1 and 65535")
    index_folder(args.index)
    check_port(args.host, args.port)
    workspace = Workspace(lambda note: _open_assistant(args, note), watch=not args.no_watch)
    serve(workspace, host=args.host, port=args.port, settings=_settings(args))
    return 0


def _documents(args: argparse.Namespace) -> int:
    from ..index.catalog import catalog
    from ..index.registry import open_store

    listing = catalog(open_store(index_folder(args.index)))
    if args.json:
        print(json.dumps(listing.to_json(), ensure_ascii=False))
        return 0
    for d in listing.documents:
        pages = f", {d.pages} pages" if d.pages else ""
        facts = " · ".join(x for x in (d.title, d.date, f"indexed {d.indexed}" if d.indexed else None) if x)
        print(f"{d.source}  ({d.passages} passages{pages}{', uploaded' if d.removable else ''})" + (f"  {facts}" if facts else ""))
        if d.warning:
            print(f"    warning: {d.warning}")
    print(f"{len(listing.documents)} documents")
    if listing.skipped:
        print(f"{len(listing.skipped)} skipped:")
        for s in listing.skipped:
            print(f"  {s.source}: {s.reason}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ..evaluate.harness import evaluate, load_gold, summary_table, write_report

    _check_read_k(args)
    gold = load_gold(args.gold)
    report = evaluate(_open_assistant(args), gold, gold_file=args.gold)
    write_report(report, args.report)
    print(summary_table(report))
    print(f"report: {args.report / 'report.md'}")
    return 0


def _answer_text(answer) -> str:
    from ..answer.assistant import NOT_FOUND, UNSURE

    if answer.status == UNSURE:
        lines = [f"Possibly: {answer.guess.quote}   (unsure, confidence {answer.confidence:.2f}; check the evidence)", ""]
        lines += _citation_lines(answer.citations, [answer.guess.quote])
        return "\n".join(lines)
    if answer.text is None:
        lines = [f"{NOT_FOUND[0].upper()}{NOT_FOUND[1:]}."]
        if answer.related:
            lines.append("Related passages:")
            lines += [f"  - {h.chunk.source} [{h.chunk.start}:{h.chunk.end}]: "
                      f"{textwrap.shorten(' '.join(h.chunk.text.split()), 160)}" for h in answer.related[:3]]
        return "\n".join(lines)
    lines = [f"{answer.text}   (confidence {answer.confidence:.2f})", ""]
    lines += _citation_lines(answer.citations, [p.quote for p in answer.parts] or [answer.text])
    return "\n".join(lines)


def _citation_lines(citations, marked: list[str]) -> list[str]:
    """Each citation's place and its quote, the answer «marked» in it."""
    lines = []
    for n, c in enumerate(citations, 1):
        date = f", {c.date}" if c.date else ""
        page = f" page {c.page}" if c.page else ""
        encoding = f", read as {c.encoding}" if c.encoding not in (None, "utf-8") else ""
        lines.append(f"[{n}] {c.source}{page} [{c.start}:{c.end}]{date}{encoding}")
        lines.append(textwrap.indent(textwrap.fill(_mark(" ".join(c.quote.split()), marked), 100), "    "))
    return lines


def _mark(quote: str, texts: list[str]) -> str:
    """«Answer» marked wherever it stands in the quote (copies differ in whitespace)."""
    from ..text import loose_pattern

    pattern = "|".join(loose_pattern(t) for t in sorted(texts, key=len, reverse=True))
    return re.sub(f"(?<!\\w)(?:{pattern})(?!\\w)", lambda m: f"«{m.group()}»", quote) if pattern else quote


def _tolerant_stdin() -> None:
    """Keep undecodable bytes on stdin as lone surrogates (as in sys.argv), so that a bad line
    is refused on its own instead of ending the batch."""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")


def _read_queries() -> Iterator[str]:
    _tolerant_stdin()
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("query> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and not line:
            return
        if line.strip():
            yield line.strip()


def _hits_json(query: str, hits) -> dict:
    return {"query": query, "hits": [
        {"rank": r, "score": round(h.score, 6),
         "dense": None if h.dense is None else round(h.dense, 6),
         "bm25": None if h.bm25 is None else round(h.bm25, 6),
         "source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end, "date": h.chunk.document.date,
         "text": h.chunk.text,
         "also_in": [{"source": p.source, "start": p.start, "end": p.end} for p in h.also_in]}
        for r, h in enumerate(hits, 1)]}


def _hits_text(hits) -> str:
    if not hits:
        return "no passages found"
    out = []
    for r, h in enumerate(hits, 1):
        date = f"  ({h.chunk.document.date})" if h.chunk.document.date else ""
        out.append(f"[{r}] {h.chunk.source} [{h.chunk.start}:{h.chunk.end}]{date}  score {h.score:.3f}")
        out.append(textwrap.indent(textwrap.fill(" ".join(h.chunk.text.split()), 100), "    "))
        for p in h.also_in:
            out.append(f"    also in {p.source} [{p.start}:{p.end}]")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
