"""The re-ranking stage and the three answer tiers, on stand-in readers and hand-set re-rankers:
what is tested is the stage's mechanics (inputs, order, calibration, tiers, citations), not the
shipped model's answers."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import replace

import numpy as np
import pytest

from scoqa.answer import Assistant
from scoqa.answer.assistant import ReaderOrder
from scoqa.answer.cross_encoder import marked_context
from scoqa.answer.rerank import CROSS_ENCODER, CROSS_FLOOR, FEATURES, Reranker, RerankerSettings, candidate_features, question_kind
from scoqa.app import cli
from scoqa.errors import ModelUnavailable
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.records import Span
from scoqa.retrieve import Retriever

NOTE = ("The memorandum was signed in Astana on 9 June 2017 by the two organisations. "
        "It was signed by Secretary-General Rashid Alimov for the SCO.\n")
QUESTION = "Who signed the memorandum?"
WRONG, RIGHT = "the two organisations", "Rashid Alimov"


def span(passage: str, text: str, confidence: float, margin: float, index: int = 0) -> Span:
    start = passage.index(text)
    return Span(index, start, start + len(text), text, confidence, (margin, -1.0, 0.5, 0.0),
                np.zeros((3, 4), np.float32))


WITHOUT_CROSS = tuple(name for name in FEATURES if name != CROSS_ENCODER)


def logistic(**weights: float) -> Reranker:
    """A hand-set logistic re-ranker: one weight per named input (all but the cross-encoder's),
    the rest 0, no scaling."""
    n = len(WITHOUT_CROSS)
    w = {"mean": np.zeros(n, np.float32), "scale": np.ones(n, np.float32),
         "w_out": np.array([weights.get(name, 0.0) for name in WITHOUT_CROSS], np.float32),
         "b_out": np.float32(weights.get("bias", 0.0))}
    return Reranker(w, RerankerSettings(WITHOUT_CROSS, False, 0, (1.0, 0.0), answer_threshold=0.6,
                                        unsure_threshold=0.3))


class Fixed:
    """A stand-in reader: the wrong span first, the right one second, whatever is asked."""

    no_answer_threshold = 0.5

    def read(self, question, passages, top_n=5, threshold=None):
        found = [span(p, t, c, m, i) for i, p in enumerate(passages)
                 for t, c, m in ((WRONG, 0.61, 3.0), (RIGHT, 0.52, 2.0)) if t in p]
        return sorted(found, key=lambda s: -s.confidence)[:top_n]


class Constant:
    """A stand-in re-ranker that gives every candidate the same probability."""

    answer_threshold, unsure_threshold = 0.6, 0.3

    def __init__(self, probability: float):
        self.probability = probability

    def rerank(self, question, spans, passages, passage_scores):
        return [Span(s.passage_index, s.start, s.end, s.text, self.probability, s.features, s.state) for s in spans]


@pytest.fixture(scope="module")
def note_index(tmp_path_factory):
    from conftest import HashingEmbedder

    docs = tmp_path_factory.mktemp("notes")
    (docs / "note.txt").write_text(NOTE, encoding="utf-8")
    folder = docs.parent / "note-index"
    embedder = HashingEmbedder()
    build_index([docs], folder, embedder, progress=False)
    return Retriever(FolderStore.open(folder), embedder), docs / "note.txt"


def test_question_kinds():
    assert question_kind("Who signed it?") == "who"
    assert question_kind("How many states are members?") == "how_many"
    assert question_kind("In which year was it founded?") == "when"
    assert question_kind("What year was it founded?") == "when"
    assert question_kind("Where was it signed?") == "where"
    assert question_kind("What did they declare?") == "which_what"
    assert question_kind("Why did it matter?") == "why_how"
    assert question_kind("Name the members.") == "other"


def test_candidate_features_pool_evidence_and_read_the_answer_form():
    passages = [NOTE, "Rashid Alimov spoke in Astana."]
    spans = [span(NOTE, WRONG, 0.61, 3.0), span(NOTE, RIGHT, 0.52, 2.0), span(passages[1], RIGHT, 0.4, 1.0, 1)]
    x = candidate_features(QUESTION, spans, passages, [0.9, 0.5])
    assert x.shape == (3, len(FEATURES)) and x.dtype == np.float32
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert col["support"].tolist() == pytest.approx([0.0, np.log(2), np.log(2)])  # the name stands twice
    softmax = np.exp([3.0, 2.0, 1.0]) / np.exp([3.0, 2.0, 1.0]).sum()  # of the reader's margins
    assert col["support_share"].tolist() == pytest.approx([softmax[0], softmax[1] + softmax[2], softmax[1] + softmax[2]])
    assert col["asks_who"].tolist() == [1, 1, 1] and col["asks_when"].tolist() == [0, 0, 0]
    assert col["who_and_name"].tolist() == [0.0, 1.0, 1.0]  # "the two organisations" names no one
    assert col["reader_rank"][0] == 0 and col["margin_below_best"].tolist() == [0.0, 1.0, 2.0]
    assert col["passage_rank"][2] == pytest.approx(np.log(2)) and col["passage_score_below_best"][2] == pytest.approx(0.4)
    assert candidate_features(QUESTION, [], passages, [0.9, 0.5]).shape == (0, len(FEATURES))


def test_reranker_puts_the_right_candidate_first_with_probabilities():
    spans = [span(NOTE, WRONG, 0.61, 3.0), span(NOTE, RIGHT, 0.52, 2.0)]
    ranked = logistic(who_and_name=4.0, bias=-1.0).rerank(QUESTION, spans, [NOTE], [1.0])
    assert [s.text for s in ranked] == [RIGHT, WRONG]
    assert ranked[0].confidence == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert ranked[1].confidence == pytest.approx(1 / (1 + np.exp(1.0)))
    assert (ranked[0].start, ranked[0].end) == (spans[1].start, spans[1].end)  # offsets untouched
    assert logistic().rerank(QUESTION, [], [NOTE], [1.0]) == []


def test_a_hidden_layer_and_the_reader_state_are_read(tmp_path):
    n = len(WITHOUT_CROSS) + 12  # features, then the (3, 4) state flattened
    w1 = np.zeros((n, 2), np.float32)
    w1[len(WITHOUT_CROSS), 0] = 1.0  # the first unit reads the state's first value
    weights = {"mean": np.zeros(n, np.float32), "scale": np.ones(n, np.float32), "w1": w1,
               "b1": np.zeros(2, np.float32), "w_out": np.array([2.0, 0.0], np.float32), "b_out": np.float32(0.0)}
    settings = {"design": "mlp+state", "inputs": list(WITHOUT_CROSS), "state": True, "hidden": 2, "platt": [1.0, -1.0],
                "answer_threshold": 0.6, "unsure_threshold": 0.3}
    np.savez(tmp_path / "reranker.npz", **weights)
    (tmp_path / "reranker.json").write_text(json.dumps(settings))
    model = Reranker.load(tmp_path)
    low, high = span(NOTE, WRONG, 0.61, 3.0), span(NOTE, RIGHT, 0.52, 2.0)
    high = Span(high.passage_index, high.start, high.end, high.text, high.confidence, high.features,
                np.full((3, 4), 1.5, np.float32))
    ranked = model.rerank(QUESTION, [low, high], [NOTE], [1.0])
    assert [s.text for s in ranked] == [RIGHT, WRONG]
    assert [s.confidence for s in ranked] == pytest.approx([1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(1.0))])


def test_a_subset_of_inputs_is_read_in_its_order():
    n = 2
    w = {"mean": np.zeros(n, np.float32), "scale": np.ones(n, np.float32),
         "w_out": np.array([0.0, 4.0], np.float32), "b_out": np.float32(-1.0)}
    model = Reranker(w, RerankerSettings(("margin", "who_and_name"), False, 0, (1.0, 0.0), 0.6, 0.3))
    spans = [span(NOTE, WRONG, 0.61, 3.0), span(NOTE, RIGHT, 0.52, 2.0)]
    assert model.inputs(QUESTION, spans, [NOTE], [1.0]).tolist() == [[3.0, 0.0], [2.0, 1.0]]
    assert [s.text for s in model.rerank(QUESTION, spans, [NOTE], [1.0])] == [RIGHT, WRONG]


def test_the_candidate_is_marked_in_its_sentence_and_the_neighbours():
    text = "First sentence here. It was signed by Rashid Alimov for the SCO. Third one. Fourth."
    start = text.index(RIGHT)
    assert marked_context(text, start, start + len(RIGHT)) == (
        "First sentence here. It was signed by «Rashid Alimov» for the SCO. Third one.")
    assert marked_context(text, 0, 5, neighbours=0) == "«First» sentence here."
    assert marked_context(text, start, start + len(RIGHT), neighbours=5) == text.replace(RIGHT, f"«{RIGHT}»")


class MarkedName:
    """A stand-in cross-encoder: a high logit for a context that marks `name`, low otherwise."""

    def __init__(self, name: str):
        self.name, self.asked = name, []

    def score(self, question, contexts):
        self.asked.append((question, list(contexts)))
        return np.array([5.0 if f"«{self.name}»" in c else -5.0 for c in contexts], np.float32)


def test_a_design_that_reads_the_cross_encoder_runs_it_on_each_marked_candidate():
    w = {"mean": np.zeros(2, np.float32), "scale": np.ones(2, np.float32),
         "w_out": np.array([0.1, 1.0], np.float32), "b_out": np.float32(0.0)}
    settings = RerankerSettings(("margin", CROSS_ENCODER), False, 0, (1.0, 0.0), 0.6, 0.3)
    cross = MarkedName(RIGHT)
    spans = [span(NOTE, WRONG, 0.61, 3.0), span(NOTE, RIGHT, 0.52, 2.0)]
    ranked = Reranker(w, settings, cross).rerank(QUESTION, spans, [NOTE], [1.0])
    assert [s.text for s in ranked] == [RIGHT, WRONG]
    assert ranked[0].confidence == pytest.approx(1 / (1 + np.exp(-5.2)))
    (question, contexts), = cross.asked
    assert question == QUESTION and contexts == [marked_context(NOTE, s.start, s.end) for s in spans]
    with pytest.raises(ModelUnavailable, match="cross-encoder"):
        Reranker(w, settings).rerank(QUESTION, spans, [NOTE], [1.0])
    shallow = MarkedName(RIGHT)  # reads the reader's first candidate only; the second gets the floor
    x = Reranker(w, replace(settings, cross_depth=1), shallow).inputs(QUESTION, spans, [NOTE], [1.0])
    assert x[:, 1].tolist() == [-5.0, pytest.approx(CROSS_FLOOR)]
    assert shallow.asked == [(QUESTION, [marked_context(NOTE, spans[0].start, spans[0].end)])]


def test_a_reranker_of_other_inputs_is_refused(tmp_path):
    (tmp_path / "reranker.json").write_text(json.dumps({"inputs": ["margin", "a_feature_of_another_version"]}))
    with pytest.raises(ModelUnavailable, match="retrain"):
        Reranker.load(tmp_path)
    with pytest.raises(ModelUnavailable, match="cannot load"):
        Reranker.load(tmp_path / "missing")


@pytest.mark.model  # the shipped design may read the cross-encoder, which loads the MPNet base
def test_the_shipped_reranker_loads_and_scores_in_range():
    model = Reranker.load()
    assert 0.0 < model.unsure_threshold <= model.answer_threshold < 1.0
    state = np.zeros((3, 768), np.float32)
    spans = [Span(0, 0, 3, "The", 0.5, (1.0, -2.0, 0.5, 0.0), state)]
    (ranked,) = model.rerank(QUESTION, spans, [NOTE], [1.0])
    assert 0.0 <= ranked.confidence <= 1.0


def test_the_assistant_answers_with_the_reranked_candidate(note_index):
    retriever, path = note_index
    answer = Assistant(retriever, Fixed(), reranker=logistic(who_and_name=4.0, bias=-1.0)).ask(QUESTION)
    assert answer.status == "answered" and answer.text == RIGHT
    text = path.read_text(encoding="utf-8")
    assert text[answer.span.start:answer.span.end] == RIGHT
    assert answer.citations[0].quote == "It was signed by Secretary-General Rashid Alimov for the SCO."
    # without the stage, the reader's first candidate is the answer
    plain = Assistant(retriever, Fixed()).ask(QUESTION)
    assert plain.status == "answered" and plain.text == WRONG


@pytest.mark.parametrize(("probability", "status"), [(0.9, "answered"), (0.45, "unsure"), (0.1, "not_found")])
def test_three_tiers(note_index, probability, status):
    retriever, path = note_index
    answer = Assistant(retriever, Fixed(), reranker=Constant(probability)).ask(QUESTION)
    text = path.read_text(encoding="utf-8")
    assert answer.status == status and answer.confidence == probability
    assert text[answer.guess.start:answer.guess.end] == answer.guess.quote == WRONG  # ties keep reader order
    payload = answer.to_json()
    assert payload["status"] == status and payload["guess"]["quote"] == WRONG
    if status == "answered":
        assert payload["answer"] == WRONG and answer.citations
    elif status == "unsure":
        assert payload["answer"] is None and answer.text is None and answer.related == ()
        (evidence,) = answer.citations
        assert evidence.quote == answer.evidence == text[evidence.start:evidence.end]
        assert evidence.start <= answer.guess.start < answer.guess.end <= evidence.end
    else:
        assert payload["answer"] is None and answer.citations == () and answer.related


def test_reader_order_keeps_the_reader_threshold():
    order = ReaderOrder(0.5)
    assert order.answer_threshold == order.unsure_threshold == 0.5
    spans = [span(NOTE, WRONG, 0.61, 3.0)]
    assert order.rerank(QUESTION, spans, [NOTE], [1.0]) == spans


@pytest.mark.parametrize(("probability", "status", "first_line"), [
    (0.9, "answered", WRONG), (0.45, "unsure", f"Possibly: {WRONG}"), (0.1, "not_found", "Not found")])
def test_cli_ask_reports_each_tier(note_index, monkeypatch, probability, status, first_line):
    retriever, _ = note_index
    assistant = Assistant(retriever, Fixed(), reranker=Constant(probability))
    monkeypatch.setattr(cli, "_open_assistant", lambda args: assistant)
    for flags, check in ((["--json"], lambda out: json.loads(out)["status"] == status),
                         ([], lambda out: out.startswith(first_line))):
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli.main(["ask", QUESTION, *flags]) == 0
        assert check(out.getvalue()), out.getvalue()
    payload = json.loads(_ask_json(QUESTION))
    assert payload["answer"] == (WRONG if status == "answered" else None)
    assert set(payload["guess"]) == {"source", "start", "end", "quote", "date", "page", "encoding"}


def _ask_json(question: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        cli.main(["ask", question, "--json"])
    return out.getvalue()


@pytest.mark.service  # the chat server's module imports gradio, which the unit lane never loads
def test_the_chat_styles_each_tier_apart(note_index):
    from scoqa.app.serve import chat_html

    retriever, _ = note_index
    pages = {p: chat_html(Assistant(retriever, Fixed(), reranker=Constant(p)).ask(QUESTION))
             for p in (0.9, 0.45, 0.1)}
    assert "scoqa-found" in pages[0.9] and "Possibly" not in pages[0.9]
    unsure = pages[0.45]
    assert "scoqa-unsure" in unsure and "scoqa-found" not in unsure and "unsure: check the evidence" in unsure
    assert f"Possibly: {WRONG}" in unsure and f"<mark>{WRONG}</mark>" in unsure
    assert "scoqa-notfound" in pages[0.1] and "Possibly" not in pages[0.1]
