"""The gold-set evaluation behind `scoqa eval`: asks every gold question, scores the answers,
their evidence and citations, abstentions, retrieval and latency, and writes a report.

A gold file is JSON lines, one question each: `id`, `question`, `answers` ([] when the documents
do not say), `source` and `evidence` (a string, a list or null), `type`, and optionally `parts`
(items a list answer must hold) and `after` (the id of the earlier question this one follows up).
"""
from __future__ import annotations

import json
import re
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from ..errors import ScoqaError
from ..text import loose_pattern
from .metrics import exact_match, f1_score, normalize_answer

if TYPE_CHECKING:
    from ..answer.assistant import Answer, Assistant, Citation
    from ..records import Document, Hit

TYPES = ("factoid", "paraphrase", "list", "multi_doc", "time", "number", "date", "acronym", "unanswerable")
CORRECT_F1 = 0.5
RELIABILITY_BINS = 10
PLOTS = {"reliability": "reliability.png", "tradeoff": "abstention_tradeoff.png", "latency": "latency.png"}


class GoldError(ScoqaError):
    """A gold file the harness cannot use; the message names the file and line."""


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    type: str
    sources: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    after: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read and check the whole file first, so a typo stops the run before any model loads."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GoldError(f"no gold file at {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise GoldError(f"{path}: cannot read the gold file ({err})") from None
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            question = _gold_question(json.loads(line), seen)
        except json.JSONDecodeError as err:
            raise GoldError(f"{path}:{number}: not JSON ({err.msg}, column {err.colno})") from None
        except GoldError as err:
            raise GoldError(f"{path}:{number}: {err}") from None
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise GoldError(f"{path}: no questions")
    return questions


def _gold_question(row: Any, seen: set[str]) -> GoldQuestion:
    if not isinstance(row, dict):
        raise GoldError("expected a JSON object")
    missing = [key for key in ("id", "question", "answers", "type") if key not in row]
    if missing:
        raise GoldError(f"missing {', '.join(missing)}")
    if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool):
        raise GoldError("id must be a string")
    qid = str(row["id"])
    if qid in seen:
        raise GoldError(f"id {qid!r} appears twice")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise GoldError("question must be a non-empty string")
    if row["type"] not in TYPES:
        raise GoldError(f"type {row['type']!r} is not one of {', '.join(TYPES)}")
    answers = _strings(row, "answers", allow_single=False)
    if (row["type"] == "unanswerable") != (not answers):
        raise GoldError("answers must be [] exactly when type is unanswerable")
    after = row.get("after")
    if after is not None and str(after) not in seen:
        raise GoldError(f"after names {after!r}, which no earlier line defines")
    return GoldQuestion(qid, row["question"], answers, row["type"], _strings(row, "source"),
                        _strings(row, "evidence"), _strings(row, "parts", allow_single=False),
                        None if after is None else str(after))


def _strings(row: dict, key: str, allow_single: bool = True) -> tuple[str, ...]:
    """A field that is a list of strings, a single string (where allowed), or null/absent."""
    value = row.get(key)
    if value is None:
        return ()
    if allow_single and isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise GoldError(f"{key} must be {'a string or ' if allow_single else ''}a list of strings")


@dataclass(frozen=True)
class QuestionResult:
    """One question scored. `correct`: for an answerable question the answer is right (F1 >= 0.5,
    or every list part found); for an unanswerable one the assistant did not answer. `status` is
    the answer's tier ("answered", "unsure", "not_found"). `guess` is the best candidate, also
    when the assistant did not answer (`confidence` is then its confidence), and `guess_correct`
    whether answering with it would have been right: the abstention trade-off, and what an
    "unsure" answer showed."""

    id: str
    type: str
    question: str
    expected: tuple[str, ...]
    got: str | None
    confidence: float
    exact_match: float
    f1: float
    parts_found: float | None
    correct: bool
    guess: str | None
    guess_correct: bool
    evidence_hit: float | None
    retrieval_recall: float | None
    citations: tuple[Citation, ...]
    span: Citation | None
    inexact: tuple[Citation, ...]
    latency_s: float
    status: str = "not_found"

    @property
    def answerable(self) -> bool:
        return bool(self.expected)

    @property
    def right_shown(self) -> bool:
        """Answered right, or shown as a possible answer ("unsure") that is right."""
        return self.correct if self.got is not None else self.status == "unsure" and self.guess_correct

    @property
    def abstained(self) -> bool:
        return self.got is None


@dataclass(frozen=True)
class Totals:
    """Means over the questions each figure applies to; None where none does."""

    questions: int
    answerable: int
    unanswerable: int
    exact_match: float
    f1: float
    answer_correct: float | None
    answered_wrong: float | None
    right_shown: float | None
    guess_correct: float | None
    unsure: float
    evidence_hit: float | None
    citation_exactness: float | None
    citations_checked: int
    abstained: float
    abstain_precision: float | None
    abstain_recall: float | None
    unanswerable_not_found: float | None
    wrongly_abstained: float | None
    retrieval_recall: float | None
    latency_p50_ms: float
    latency_p95_ms: float


@dataclass(frozen=True)
class EvalReport:
    gold_file: str | None
    index: str
    k: int
    threshold: float
    totals: Totals
    by_type: dict[str, Totals]
    questions: tuple[QuestionResult, ...]
    gold_problems: tuple[str, ...]

    @property
    def failures(self) -> tuple[QuestionResult, ...]:
        return tuple(r for r in self.questions if not r.correct)


def evaluate(assistant: Assistant, gold: Sequence[GoldQuestion], gold_file: Path | None = None,
             progress: bool = True) -> EvalReport:
    """Ask every question (follow-ups with their earlier questions as history) after one untimed
    warm-up, so the first question does not pay for lazy loading. Recall@k is measured on the
    passages the answer was read from (`Answer.hits`)."""
    by_id = {q.id: q for q in gold}
    documents = assistant.documents
    problems = [p for q in gold for p in _gold_problems(q, documents)]
    assistant.ask(gold[0].question)
    results = []
    for q in tqdm(gold, desc="eval", unit="q", disable=not progress):
        history = _history(q, by_id)
        started = time.perf_counter()
        answer = assistant.ask(q.question, history)
        latency = time.perf_counter() - started
        results.append(_score(q, answer, documents, latency))
    types = sorted({r.type for r in results}, key=TYPES.index)
    return EvalReport(None if gold_file is None else str(gold_file), str(assistant.index_folder),
                      assistant.k, assistant.threshold, totals(results),
                      {t: totals([r for r in results if r.type == t]) for t in types}, tuple(results), tuple(problems))


def _history(q: GoldQuestion, by_id: dict[str, GoldQuestion]) -> list[str]:
    """The earlier questions of a chat, oldest first (`after` always names an earlier line)."""
    chain = []
    while q.after is not None:
        q = by_id[q.after]
        chain.append(q.question)
    return chain[::-1]


def _score(q: GoldQuestion, answer: Answer, documents: dict[str, Document], latency: float) -> QuestionResult:
    got = answer.text
    em, f1, parts, correct = _grade(q, got)
    if got is not None:
        guess, guess_correct = got, correct
    elif answer.guess is not None:
        guess, guess_correct = answer.guess.quote, _grade(q, answer.guess.quote)[3]
    else:
        guess, guess_correct = None, False
    quotes = [_squash(c.quote) for c in answer.citations]
    evidence = _share(q.evidence, lambda e: any(_squash(e) in quote for quote in quotes))
    recall = _share(q.evidence, lambda e: _retrieved(e, q.sources, answer.hits, documents))
    checked = answer.citations + ((answer.span,) if answer.span is not None else ())
    inexact = tuple(c for c in checked if c.source not in documents
                    or documents[c.source].text[c.start:c.end] != c.quote)
    return QuestionResult(q.id, q.type, q.question, q.answers, got, float(answer.confidence), em, f1, parts,
                          correct, guess, guess_correct, evidence, recall, tuple(answer.citations), answer.span,
                          inexact, latency, answer.status)


def _grade(q: GoldQuestion, got: str | None) -> tuple[float, float, float | None, bool]:
    """(EM, F1, share of list parts found, correct). Abstaining scores 1 on an unanswerable
    question and 0 on an answerable one, as in SQuAD 2.0."""
    if not q.answerable:
        return float(got is None), float(got is None), None, got is None
    if got is None:
        return 0.0, 0.0, 0.0 if q.parts else None, False
    em = max(exact_match(got, gold) for gold in q.answers)
    f1 = max(f1_score(got, gold) for gold in q.answers)
    parts = _parts_found(got, q.parts) if q.parts else None
    return em, f1, parts, f1 >= CORRECT_F1 or parts == 1.0


def _squash(text: str) -> str:
    return " ".join(text.split())


def _share(evidence: Sequence[str], found: Callable[[str], bool]) -> float | None:
    return sum(map(found, evidence)) / len(evidence) if evidence else None


def _parts_found(text: str, parts: Sequence[str]) -> float:
    """Share of list items that stand in the answer as whole words, SQuAD-normalised."""
    words = f" {normalize_answer(text)} "
    return sum(f" {normalize_answer(p)} " in words for p in parts) / len(parts)


def _locate(evidence: str, text: str) -> list[tuple[int, int]]:
    """Where the evidence stands in a document, allowing any whitespace between its words."""
    pattern = re.compile(loose_pattern(evidence))
    return [m.span() for m in pattern.finditer(text)]


def _retrieved(evidence: str, sources: Sequence[str], hits: Sequence[Hit],
               documents: dict[str, Document]) -> bool:
    """The evidence is inside a retrieved passage, or overlaps one (or one of its copies) in a
    gold source: a chunk boundary may cut the sentence."""
    squashed = _squash(evidence)
    if any(squashed in _squash(h.chunk.text) for h in hits):
        return True
    passages = [(h.chunk.source, h.chunk.start, h.chunk.end) for h in hits]
    passages += [(p.source, p.start, p.end) for h in hits for p in h.also_in]
    return any(source == s and a < end and start < b
               for s in sources if s in documents for a, b in _locate(evidence, documents[s].text)
               for source, start, end in passages)


def _gold_problems(q: GoldQuestion, documents: dict[str, Document]) -> list[str]:
    """Gold sources missing from the index, and evidence that stands in none of its sources:
    either silently lowers evidence hit and recall@k."""
    problems = [f"{q.id}: source {s!r} is not in the index" for s in q.sources if s not in documents]
    known = [documents[s].text for s in q.sources if s in documents]
    if known:
        problems += [f"{q.id}: evidence not found in {', '.join(q.sources)}: {textwrap.shorten(e, 100)}"
                     for e in q.evidence if not any(_locate(e, text) for text in known)]
    return problems


def totals(results: Sequence[QuestionResult]) -> Totals:
    """The figures of the report, for all questions or one type of them."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    abstained = [r for r in results if r.abstained]
    checked = sum(len(r.citations) + (r.span is not None) for r in results)
    latencies = np.array([r.latency_s for r in results]) * 1000
    return Totals(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        exact_match=_mean([r.exact_match for r in results]) or 0.0,
        f1=_mean([r.f1 for r in results]) or 0.0,
        answer_correct=_mean([r.correct for r in answerable]),
        answered_wrong=_mean([not r.abstained and not r.correct for r in answerable]),
        right_shown=_mean([r.right_shown for r in answerable]),
        guess_correct=_mean([r.guess_correct for r in answerable]),
        unsure=_mean([r.status == "unsure" for r in results]) or 0.0,
        evidence_hit=_mean([r.evidence_hit for r in results if r.evidence_hit is not None]),
        citation_exactness=1 - sum(len(r.inexact) for r in results) / checked if checked else None,
        citations_checked=checked,
        abstained=_mean([r.abstained for r in results]) or 0.0,
        abstain_precision=_mean([not r.answerable for r in abstained]),
        abstain_recall=_mean([r.abstained for r in unanswerable]),
        unanswerable_not_found=_mean([r.status == "not_found" for r in unanswerable]),
        wrongly_abstained=_mean([r.abstained for r in answerable]),
        retrieval_recall=_mean([r.retrieval_recall for r in results if r.retrieval_recall is not None]),
        latency_p50_ms=float(np.percentile(latencies, 50)) if len(results) else 0.0,
        latency_p95_ms=float(np.percentile(latencies, 95)) if len(results) else 0.0,
    )


def _mean(values: Sequence[float | bool]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def tradeoff(results: Sequence[QuestionResult], thresholds: Sequence[float]) -> list[dict[str, float | None]]:
    """What each no-answer threshold would do: a question is answered with its best candidate
    when that candidate's confidence reaches the threshold. (At another threshold a list answer
    could gather other parts; the best candidate stands for it.)"""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    rows = []
    for t in thresholds:
        kept = {r.id for r in results if r.guess is not None and r.confidence >= t}
        rows.append({"threshold": float(t),
                     "answerable_correct": _mean([r.id in kept and r.guess_correct for r in answerable]),
                     "unanswerable_abstained": _mean([r.id not in kept for r in unanswerable]),
                     "answerable_abstained": _mean([r.id not in kept for r in answerable])})
    return rows


def reliability(results: Sequence[QuestionResult], bins: int = RELIABILITY_BINS) -> list[dict[str, float | int | None]]:
    """Answered questions by confidence bin: how often the answer was right."""
    answered = [r for r in results if not r.abstained]
    rows = []
    for i in range(bins):
        low, high = i / bins, (i + 1) / bins
        inside = [r for r in answered if low <= r.confidence < high or (i == bins - 1 and r.confidence == 1.0)]
        rows.append({"low": low, "high": high, "count": len(inside),
                     "mean_confidence": _mean([r.confidence for r in inside]),
                     "correct": _mean([r.correct for r in inside])})
    return rows


def write_report(report: EvalReport, folder: Path) -> list[Path]:
    """report.md, report.json and the plots; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    curve = tradeoff(report.questions, np.linspace(0, 1, 101))
    bins = reliability(report.questions)
    plots = _plots(report, curve, bins, folder)
    payload = {**asdict(report), "failures": [r.id for r in report.failures],
               "reliability": bins, "tradeoff": curve, "plots": {k: p.name for k, p in plots.items()}}
    (folder / "report.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(_markdown(report, plots), encoding="utf-8")
    return [folder / "report.md", folder / "report.json", *plots.values()]


def _plots(report: EvalReport, curve: list[dict], bins: list[dict], folder: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    paths = {name: folder / file for name, file in PLOTS.items()}

    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    shares = [b["correct"] or 0.0 for b in bins]
    bars = ax.bar(centres, shares, width=1 / len(bins), edgecolor="black", alpha=0.7, label="share correct")
    for bar, b in zip(bars, bins):
        if b["count"]:
            ax.annotate(f"n={b['count']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.set(xlim=(0, 1), ylim=(0, 1.1), xlabel="confidence", ylabel="share of answers correct",
           title=f"Reliability ({sum(b['count'] for b in bins)} answered questions)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(paths["reliability"], dpi=100)

    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    x = [row["threshold"] for row in curve]
    for key, label in (("answerable_correct", "answerable answered correctly"),
                       ("unanswerable_abstained", "unanswerable abstained"),
                       ("answerable_abstained", "answerable wrongly abstained")):
        if curve[0][key] is not None:
            ax.plot(x, [row[key] for row in curve], label=label)
    ax.axvline(report.threshold, color="grey", linestyle=":", label=f"assistant's threshold {report.threshold:.2f}")
    ax.set(xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="confidence threshold", ylabel="share of questions",
           title="Abstention trade-off")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(paths["tradeoff"], dpi=100)

    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.hist([r.latency_s * 1000 for r in report.questions], bins=20, edgecolor="black")
    for value, label in ((report.totals.latency_p50_ms, "p50"), (report.totals.latency_p95_ms, "p95")):
        ax.axvline(value, color="red", linestyle="--")
        ax.annotate(f"{label} {value:.0f} ms", (value, 0), xytext=(3, 10), textcoords="offset points",
                    rotation=90, fontsize=8)
    ax.set(xlabel="latency of assistant.ask (ms)", ylabel="questions", title="Latency per question (warm)")
    fig.tight_layout()
    fig.savefig(paths["latency"], dpi=100)
    return paths


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


TOTAL_ROWS = (
    ("exact match (SQuAD 2.0: abstaining on unanswerable scores 1)", lambda t: _pct(t.exact_match)),
    ("token F1 (same convention)", lambda t: _pct(t.f1)),
    (f"answer correct (F1 >= {CORRECT_F1} or all list parts), answerable", lambda t: _pct(t.answer_correct)),
    ("answered wrong, answerable", lambda t: _pct(t.answered_wrong)),
    ("right answer shown (answered, or unsure and right), answerable", lambda t: _pct(t.right_shown)),
    ("best guess right (answering always), answerable", lambda t: _pct(t.guess_correct)),
    ("unsure (a possible answer shown), all questions", lambda t: _pct(t.unsure)),
    ("evidence hit (a citation holds the gold evidence)", lambda t: _pct(t.evidence_hit)),
    ("citation exactness (quote == document[start:end], answer spans too)",
     lambda t: f"{_pct(t.citation_exactness)} of {t.citations_checked}"),
    ("abstention precision (abstained -> unanswerable)", lambda t: _pct(t.abstain_precision)),
    ("abstention recall (unanswerable -> not answered)", lambda t: _pct(t.abstain_recall)),
    ("unanswerable shown as not found", lambda t: _pct(t.unanswerable_not_found)),
    ("answerable wrongly abstained", lambda t: _pct(t.wrongly_abstained)),
    ("retrieval recall@k (gold evidence in the passages)", lambda t: _pct(t.retrieval_recall)),
    ("latency p50 / p95", lambda t: f"{t.latency_p50_ms:.0f} / {t.latency_p95_ms:.0f} ms"),
)

TYPE_COLUMNS = (
    ("n", lambda t: str(t.questions)),
    ("EM", lambda t: _pct(t.exact_match)),
    ("F1", lambda t: _pct(t.f1)),
    ("correct", lambda t: _pct(t.answer_correct)),
    ("abstained", lambda t: _pct(t.abstained)),
    ("evidence hit", lambda t: _pct(t.evidence_hit)),
    ("recall@k", lambda t: _pct(t.retrieval_recall)),
    ("p50 ms", lambda t: f"{t.latency_p50_ms:.0f}"),
)


def summary_table(report: EvalReport) -> str:
    """The plain-text summary printed at the end of `scoqa eval`."""
    t = report.totals
    width = max(len(label) for label, _ in TOTAL_ROWS)
    lines = [f"{t.questions} questions ({t.answerable} answerable, {t.unanswerable} unanswerable), "
             f"k={report.k}; {len(report.failures)} failures"]
    lines += [f"  {label:<{width}}  {cell(t)}" for label, cell in TOTAL_ROWS]
    header = ["type"] + [name for name, _ in TYPE_COLUMNS]
    rows = [[name] + [cell(tt) for _, cell in TYPE_COLUMNS] for name, tt in report.by_type.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines.append("")
    lines += ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in [header, *rows]]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _got(r: QuestionResult) -> str:
    if r.got is not None:
        return f"{r.got} ({r.confidence:.2f})"
    if r.status == "unsure":
        return f"(unsure; possibly {r.guess!r} at {r.confidence:.2f})"
    return "(not found)" if r.guess is None else f"(not found; best guess {r.guess!r} at {r.confidence:.2f})"


def _cited(r: QuestionResult) -> str:
    if not r.citations:
        return "—"
    c = r.citations[0]
    return f"{c.source} [{c.start}:{c.end}]: {textwrap.shorten(c.quote, 200)}"


def _markdown(report: EvalReport, plots: dict[str, Path]) -> str:
    t = report.totals
    out = ["# scoqa evaluation", "",
           f"Gold: `{report.gold_file}` · index: `{report.index}` · k = {report.k} · "
           f"{t.questions} questions ({t.answerable} answerable, {t.unanswerable} unanswerable)", "",
           "| measure | value |", "|---|---|"]
    out += [f"| {label} | {cell(t)} |" for label, cell in TOTAL_ROWS]
    out += ["", "## By type", "", "| type | " + " | ".join(name for name, _ in TYPE_COLUMNS) + " |",
            "|---|" + "---:|" * len(TYPE_COLUMNS)]
    out += [f"| {name} | " + " | ".join(cell(tt) for _, cell in TYPE_COLUMNS) + " |"
            for name, tt in report.by_type.items()]
    out += ["", "## Plots", "",
            f"![Reliability diagram]({plots['reliability'].name})", "",
            "Answered questions by confidence bin (count above each bar) against the share answered correctly.", "",
            f"![Abstention trade-off]({plots['tradeoff'].name})", "",
            "Each question answered with its best candidate when its confidence reaches the threshold "
            f"(the assistant's own is {report.threshold:.2f}); a list answer is stood for by its best part.", "",
            f"![Latency histogram]({plots['latency'].name})", "",
            f"## Failures ({len(report.failures)})", ""]
    if report.failures:
        out += ["| id | type | question | expected | got | cited passage |", "|---|---|---|---|---|---|"]
        out += [f"| {_cell(r.id)} | {r.type} | {_cell(r.question)} | "
                f"{_cell(' / '.join(r.expected) or '(not in the documents)')} | "
                f"{_cell(_got(r))} | {_cell(_cited(r))} |"
                for r in report.failures]
    else:
        out.append("None.")
    inexact = [(r.id, c) for r in report.questions for c in r.inexact]
    if inexact:
        out += ["", f"## Inexact citations ({len(inexact)})", "", "| id | source | start | end | quote |",
                "|---|---|---:|---:|---|"]
        out += [f"| {_cell(qid)} | {_cell(c.source)} | {c.start} | {c.end} | {_cell(textwrap.shorten(c.quote, 120))} |"
                for qid, c in inexact]
    if report.gold_problems:
        out += ["", f"## Gold set problems ({len(report.gold_problems)})", ""]
        out += [f"- {_cell(p)}" for p in report.gold_problems]
    return "\n".join(out) + "\n"
