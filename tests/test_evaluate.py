"""The eval harness on a hand-made gold set over the seed corpus, with a scripted reader whose
answers and confidences are known, so every figure of the report can be worked out by hand."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scoqa.answer import Answer, Assistant, AssistantSettings, Citation
from scoqa.answer.assistant import ReaderOrder
from scoqa.app import cli
from scoqa.evaluate.harness import GoldError, evaluate, load_gold, summary_table, tradeoff, write_report, _retrieved
from scoqa.records import Chunk, Hit, Location, Span
from scoqa.retrieve import Retriever

SIGNED = "The document was signed by SCO Secretary-General Rashid Alimov and ICRC Vice President Christine Beerli."
ASTANA = ("On 9 June 2017, the Shanghai Cooperation Organisation (SCO) Secretariat and the International Committee "
          "of the Red Cross (ICRC) signed a memorandum of understanding on the sidelines of the SCO Heads of State "
          "Council Meeting in Astana.")
ADMISSION = ("With the admission of India and Pakistan as full members in 2017, the SCO has become the largest "
             "trans-regional organization with a share of over 44% of the world's population, most them being "
             "young and economically active.")
EIGHT = ("The SCO comprises eight Member States - India, China, Kazakhstan, Kyrgyzstan, Pakistan, Russia, "
         "Tajikistan and Uzbekistan.")
MEMO = "000_8b84643337e2ca64.txt"
UN = "003_6e92cf0aa20c499b.txt"

GOLD = [
    # right answer
    {"id": "signed", "question": "Who signed the memorandum for the SCO?", "answers": ["Rashid Alimov"],
     "source": MEMO, "evidence": SIGNED, "type": "factoid"},
    # right answer to a chat follow-up
    {"id": "icrc", "question": "And who signed it for the ICRC?", "answers": ["Christine Beerli"],
     "source": MEMO, "evidence": SIGNED, "type": "factoid", "after": "signed"},
    # wrong answer, cited from the wrong sentence
    {"id": "where", "question": "Where was the memorandum signed?", "answers": ["Astana"],
     "source": MEMO, "evidence": ASTANA, "type": "factoid"},
    # unanswerable, no candidate at all
    {"id": "chair", "question": "Who chairs the SCO Business Council?", "answers": [], "source": None,
     "evidence": None, "type": "unanswerable"},
    # unanswerable, a weak wrong candidate
    {"id": "budget", "question": "What is the annual budget of the SCO?", "answers": [], "source": None,
     "evidence": None, "type": "unanswerable"},
    # answerable, right candidate below the threshold: wrongly abstained
    {"id": "members", "question": "How many member states does the SCO have?", "answers": ["eight"],
     "source": UN, "evidence": EIGHT, "type": "number"},
    # list: F1 below 0.5 but every part found; one of two evidence sentences cited
    {"id": "admitted", "question": "Which countries were admitted as full members of the SCO?",
     "answers": ["India and Pakistan"], "parts": ["India", "Pakistan"], "source": UN,
     "evidence": [ADMISSION, EIGHT], "type": "list"},
]

SCRIPT = {  # question: (answer span, confidence)
    "Who signed the memorandum for the SCO?": ("Rashid Alimov", 0.9),
    "And who signed it for the ICRC?": ("Christine Beerli", 0.8),
    "Where was the memorandum signed?": ("Christine Beerli", 0.7),
    "What is the annual budget of the SCO?": ("eight Member States", 0.3),
    "How many member states does the SCO have?": ("eight", 0.4),
    "Which countries were admitted as full members of the SCO?":
        ("admission of India and Pakistan as full members in 2017", 0.8),
}


class Scripted:
    """A reader that finds its scripted answer wherever it stands, at one fixed confidence."""

    no_answer_threshold = 0.5

    def read(self, question, passages, top_n=5, threshold=None):
        threshold = self.no_answer_threshold if threshold is None else threshold
        answer, confidence = SCRIPT.get(question, ("", 0.0))
        spans = [Span(p, text.find(answer), text.find(answer) + len(answer), answer, confidence)
                 for p, text in enumerate(passages) if answer and answer in text and confidence >= threshold]
        return spans[:top_n]


class Recording(Assistant):
    """Remembers the history each question was asked with."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def ask(self, question, history=(), k=None, mode=None):
        self.asked.append((question, tuple(history)))
        return super().ask(question, history, k, mode)


def where(sentence: str, text: str) -> tuple[int, int]:
    """The sentence's offsets in a document that may space it with no-break spaces."""
    return re.search(r"\s+".join(map(re.escape, sentence.split())), text).span()


def write_gold(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def assistant(seed_index, embedder):
    return Recording(Retriever(seed_index, embedder), Scripted())


@pytest.fixture(scope="module")
def report(assistant, tmp_path_factory):
    gold = load_gold(write_gold(tmp_path_factory.mktemp("gold") / "gold.jsonl", GOLD))
    return evaluate(assistant, gold, progress=False)


def by_id(report, qid):
    return next(r for r in report.questions if r.id == qid)


def test_each_question_is_scored(report):
    signed, icrc, where = by_id(report, "signed"), by_id(report, "icrc"), by_id(report, "where")
    assert (signed.exact_match, signed.f1, signed.correct, signed.evidence_hit) == (1.0, 1.0, True, 1.0)
    assert icrc.correct and icrc.evidence_hit == 1.0
    assert (where.exact_match, where.f1, where.correct, where.evidence_hit) == (0.0, 0.0, False, 0.0)
    chair, budget = by_id(report, "chair"), by_id(report, "budget")
    assert chair.abstained and chair.correct and chair.guess is None and chair.evidence_hit is None
    assert budget.abstained and budget.correct and budget.guess == "eight Member States"
    assert (budget.exact_match, budget.f1) == (1.0, 1.0)
    members = by_id(report, "members")
    assert members.abstained and not members.correct and (members.exact_match, members.f1) == (0.0, 0.0)
    assert members.guess == "eight" and members.guess_correct and members.confidence == 0.4
    admitted = by_id(report, "admitted")
    assert admitted.f1 == pytest.approx(2 * 0.3 * 1 / 1.3) and admitted.f1 < 0.5
    assert admitted.parts_found == 1.0 and admitted.correct and admitted.evidence_hit == 0.5


def test_follow_up_is_asked_with_its_earlier_question(assistant, report):
    assert ("And who signed it for the ICRC?", ("Who signed the memorandum for the SCO?",)) in assistant.asked
    assert ("Who signed the memorandum for the SCO?", ()) in assistant.asked


def test_totals(report):
    t = report.totals
    assert (t.questions, t.answerable, t.unanswerable) == (7, 5, 2)
    assert t.exact_match == pytest.approx(4 / 7)  # signed, icrc, and both abstentions on unanswerable
    assert t.answer_correct == pytest.approx(3 / 5)  # signed, icrc, admitted
    assert t.evidence_hit == pytest.approx((1 + 1 + 0 + 0 + 0.5) / 5)
    assert t.citation_exactness == 1.0 and t.citations_checked > 0
    assert t.abstain_precision == pytest.approx(2 / 3)  # chair, budget right; members wrong
    assert t.abstain_recall == 1.0 and t.wrongly_abstained == pytest.approx(1 / 5)
    assert by_id(report, "signed").retrieval_recall == by_id(report, "icrc").retrieval_recall == 1.0  # cited, so read
    answerable = [r for r in report.questions if r.retrieval_recall is not None]
    assert [r.id for r in answerable] == ["signed", "icrc", "where", "members", "admitted"]  # not chair, budget
    assert all(r.retrieval_recall >= r.evidence_hit for r in answerable if r.evidence_hit is not None)  # cited: read
    assert t.retrieval_recall == pytest.approx(sum(r.retrieval_recall for r in answerable) / 5)
    assert 0 < t.latency_p50_ms <= t.latency_p95_ms
    assert [r.id for r in report.failures] == ["where", "members"]
    assert report.by_type["unanswerable"].abstain_recall == 1.0 and report.by_type["list"].answer_correct == 1.0
    assert list(report.by_type) == ["factoid", "list", "number", "unanswerable"]
    assert report.gold_problems == ()


def test_tiers(seed_index, embedder, tmp_path):
    """With an unsure tier from 0.35: "members" (0.4, right) is shown as a possible answer,
    "budget" (0.3, unanswerable) stays not found."""
    unsure = Assistant(Retriever(seed_index, embedder), Scripted(), reranker=ReaderOrder(0.5, 0.35))
    report = evaluate(unsure, load_gold(write_gold(tmp_path / "gold.jsonl", GOLD)), progress=False)
    assert [(r.id, r.status) for r in report.questions] == [
        ("signed", "answered"), ("icrc", "answered"), ("where", "answered"), ("chair", "not_found"),
        ("budget", "not_found"), ("members", "unsure"), ("admitted", "answered")]
    t = report.totals
    assert t.answer_correct == pytest.approx(3 / 5) and t.answered_wrong == pytest.approx(1 / 5)  # "where"
    assert t.right_shown == pytest.approx(4 / 5) and t.guess_correct == pytest.approx(4 / 5)
    assert t.unsure == pytest.approx(1 / 7) and t.unanswerable_not_found == 1.0 and t.abstain_recall == 1.0
    write_report(report, tmp_path / "out")
    assert "(unsure; possibly 'eight' at 0.40)" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "right answer shown" in summary_table(report)


def test_tradeoff_uses_the_best_candidate_of_abstentions(report):
    rows = {row["threshold"]: row for row in tradeoff(report.questions, [0.2, 0.35, 0.5, 0.95])}
    # 0.5 is the assistant's own threshold: what it did
    assert rows[0.5] == {"threshold": 0.5, "answerable_correct": 3 / 5, "unanswerable_abstained": 1.0,
                         "answerable_abstained": 1 / 5}
    # lower, "members" is answered right; lower still, "budget" is answered wrongly
    assert rows[0.35]["answerable_correct"] == 4 / 5 and rows[0.35]["answerable_abstained"] == 0.0
    assert rows[0.35]["unanswerable_abstained"] == 1.0 and rows[0.2]["unanswerable_abstained"] == 0.5
    assert rows[0.95] == {"threshold": 0.95, "answerable_correct": 0.0, "unanswerable_abstained": 1.0,
                          "answerable_abstained": 1.0}


def test_report_files(report, tmp_path):
    written = write_report(report, tmp_path / "out")
    assert sorted(p.name for p in written) == ["abstention_tradeoff.png", "latency.png", "reliability.png",
                                               "report.json", "report.md"]
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    for png in ("reliability.png", "abstention_tradeoff.png", "latency.png"):
        assert f"]({png})" in markdown
    assert "## Failures (2)" in markdown and "| where | factoid | Where was the memorandum signed? | Astana |" in markdown
    assert "(not found; best guess 'eight' at 0.40)" in markdown and f"{MEMO} [" in markdown
    assert "| list | 1 |" in markdown
    payload = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert payload["totals"]["answer_correct"] == pytest.approx(0.6) and payload["failures"] == ["where", "members"]
    assert len(payload["questions"]) == 7 and payload["questions"][0]["citations"][0]["source"] == MEMO
    bins = payload["reliability"]
    assert [b["count"] for b in bins] == [0] * 7 + [1, 2, 1]  # 0.7 wrong, 0.8 twice right, 0.9 right
    assert [b["correct"] for b in bins[7:]] == [0.0, 1.0, 1.0]
    assert "answer correct" in summary_table(report) and "unanswerable" in summary_table(report)


def test_inexact_citation_is_counted_and_listed(seed_index, tmp_path):
    """A citation whose quote is not the document's text at its offsets."""
    doc = seed_index.by_source[MEMO]
    start, end = where(SIGNED, doc.text)
    good = Citation(MEMO, start, end, doc.text[start:end])
    bad = Citation(MEMO, start + 1, end, doc.text[start:end])

    class Fixed:
        documents, index_folder = seed_index.by_source, seed_index.folder
        k, threshold = 5, 0.5

        def ask(self, question, history=()):
            return Answer(question, "Rashid Alimov", 0.9, SIGNED, (good, bad))

    gold = load_gold(write_gold(tmp_path / "gold.jsonl", GOLD[:1]))
    report = evaluate(Fixed(), gold, progress=False)
    assert report.totals.citation_exactness == 0.5 and by_id(report, "signed").inexact == (bad,)
    write_report(report, tmp_path / "out")
    assert "## Inexact citations (1)" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_recall_counts_containment_and_overlap_of_a_cut_sentence(seed_index):
    doc = seed_index.by_source[MEMO]
    start, end = where(SIGNED, doc.text)
    whole = Hit(Chunk(doc, start - 5, end + 5), 1.0)
    cut = Hit(Chunk(doc, start + 10, start + 400), 1.0)
    elsewhere = Hit(Chunk(doc, 0, 20), 1.0, also_in=(Location(MEMO, start, start + 10),))
    documents = seed_index.by_source
    spaced = SIGNED.replace(" ", "\n  ", 2)
    assert _retrieved(spaced, [MEMO], [whole], documents)
    assert _retrieved(SIGNED, [MEMO], [cut], documents) and not _retrieved(SIGNED, [], [cut], documents)
    assert _retrieved(SIGNED, [MEMO], [elsewhere], documents)
    assert not _retrieved(SIGNED, [MEMO], [Hit(Chunk(doc, 0, 20), 1.0)], documents)


def test_gold_problems_are_reported(assistant, tmp_path):
    rows = [{**GOLD[0], "evidence": "A sentence the memorandum never says."},
            {**GOLD[2], "source": "missing.txt"}]
    report = evaluate(assistant, load_gold(write_gold(tmp_path / "gold.jsonl", rows)), progress=False)
    assert report.gold_problems == ("signed: evidence not found in 000_8b84643337e2ca64.txt: "
                                    "A sentence the memorandum never says.",
                                    "where: source 'missing.txt' is not in the index")


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "question": "Q?", "answers": ["x"], "type": "factoid"', "not JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"id": "a", "question": "Q?", "type": "factoid"}', "missing answers"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "type": "trivia"}', "type 'trivia' is not one of"),
    ('{"id": "a", "question": "Q?", "answers": [], "type": "factoid"}', "answers must be [] exactly when"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "type": "list", "parts": "x"}', "parts must be a list"),
    ('{"id": "b", "question": "Q?", "answers": ["x"], "type": "factoid", "after": "z"}', "after names 'z'"),
])
def test_bad_gold_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOLD[0]) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=re.escape(message)) as err:
        load_gold(path)
    assert str(err.value).startswith(f"{path}:3: ")


def test_cli_exit_2_on_a_bad_or_missing_gold_file(tmp_path, capsys):
    bad = tmp_path / "gold.jsonl"
    bad.write_text(json.dumps(GOLD[0]) + "\n{oops\n", encoding="utf-8")
    assert cli.main(["eval", "--gold", str(bad), "--index", str(tmp_path / "no-index")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: not JSON" in err and len(err.strip().splitlines()) == 1
    assert cli.main(["eval", "--gold", str(tmp_path / "none.jsonl")]) == 2
    assert "no gold file at" in capsys.readouterr().err
    assert not (tmp_path / "no-index").exists()


def test_cli_writes_the_report_and_prints_a_summary(seed_index, embedder, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Assistant, "open", classmethod(
        lambda cls, folder, reader=None, settings=AssistantSettings(), **_: Assistant(Retriever(seed_index, embedder), Scripted(), settings)))
    gold = write_gold(tmp_path / "gold.jsonl", GOLD)
    assert cli.main(["eval", "--gold", str(gold), "--report", str(tmp_path / "out"),
                     "--index", str(seed_index.folder), "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "7 questions (5 answerable, 2 unanswerable), k=3" in out and "report.md" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"report.md", "report.json", "reliability.png"}
