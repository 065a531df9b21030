"""Reader behaviour on the shipped model: offline load, exact spans, abstention, windows."""

from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from scoqa.answer.reader import MODEL_DIR, Reader, Span, _snap
from scoqa.errors import ModelUnavailable
from scoqa.evaluate.metrics import f1_score

pytestmark = pytest.mark.model

TOWER = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
    "Construction began in January 1887 and the tower was completed in March 1889, in time for "
    "the World's Fair."
)
PHOTOSYNTHESIS = (
    "Photosynthesis is the process by which green plants use sunlight to turn carbon dioxide and "
    "water into glucose and oxygen. It takes place mainly in the chloroplasts of leaf cells."
)
FILLER = (
    "The committee met again in the spring to review the yearly accounts of the harbour board. "
    "Several members asked for the minutes of the previous meeting to be read aloud once more. "
    "The weather that season was mild, and the fishing fleet stayed in port for most of April. "
)


def check_span(span: Span, passages: list[str]) -> None:
    text = passages[span.passage_index]
    assert text[span.start : span.end] == span.text
    assert span.text == span.text.strip() and span.text
    assert 0.0 <= span.confidence <= 1.0
    # Never a cut word: the characters just outside the span are not letters or digits
    # continuing a word that the span's edge characters belong to.
    assert span.start == 0 or not (text[span.start - 1].isalnum() and text[span.start].isalnum())
    assert span.end == len(text) or not (text[span.end - 1].isalnum() and text[span.end].isalnum())


def test_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    loaded = Reader.load(MODEL_DIR)
    assert 0.0 < loaded.no_answer_threshold < 1.0
    assert sum(f.stat().st_size for f in MODEL_DIR.iterdir()) < 60 * 2**20


def test_span_on_known_passage(reader: Reader) -> None:
    spans = reader.read("Who was the Eiffel Tower named after?", [TOWER])
    assert spans, "a clear question on its passage must be answered"
    assert f1_score(spans[0].text, "Gustave Eiffel") >= 0.5  # answer-correct, as scoqa eval counts it
    check_span(spans[0], [TOWER])
    spans = reader.read("When was the Eiffel Tower completed?", [TOWER])
    assert spans and "1889" in spans[0].text


def test_offsets_exact_across_passages(reader: Reader) -> None:
    passages = [PHOTOSYNTHESIS, "  " + TOWER + "\n", FILLER]
    spans = reader.read("Where is the Eiffel Tower?", passages, top_n=5)
    assert spans and spans[0].passage_index == 1
    assert "Paris" in spans[0].text or "Champ de Mars" in spans[0].text
    for span in spans:
        check_span(span, passages)
    confidences = [s.confidence for s in spans]
    assert confidences == sorted(confidences, reverse=True)


def test_abstains_on_unrelated_passage(reader: Reader) -> None:
    assert reader.read("Which team won the 1998 football World Cup?", [PHOTOSYNTHESIS]) == []


def test_threshold_is_a_setting(reader: Reader) -> None:
    eager = Reader(reader.model, reader.tokenizer, replace(reader.settings, no_answer_threshold=0.0))
    spans = eager.read("Which team won the 1998 football World Cup?", [PHOTOSYNTHESIS], top_n=3)
    assert spans and all(0.0 <= s.confidence <= 1.0 for s in spans)


def test_a_calibration_of_another_feature_set_is_refused() -> None:
    with pytest.raises(ModelUnavailable, match="recalibrate"):
        Reader.load(calibration=(0.2, 0.0, 1.4, -0.9, -0.2, -1.4))  # runs 4 and 5 had five features


def test_long_passage_is_read_in_windows(reader: Reader) -> None:
    passage = FILLER * 12 + "The vault of the harbour board was opened by Margaret Holloway in 1931. " + FILLER * 3
    n_tokens = len(reader.tokenizer(passage)["input_ids"])
    assert n_tokens > 2 * reader.settings.max_length  # the answer lies beyond the first window
    spans = reader.read("Who opened the vault of the harbour board?", [passage])
    assert spans and "Margaret Holloway" in spans[0].text
    for span in spans:
        check_span(span, [passage])


def test_span_never_crosses_a_paragraph_break(reader: Reader) -> None:
    # From the seed scrape: unguarded, a model offered "Uzbekistan.\n\n\n\nThe Ambassador of Cambodia".
    passage = ("The SCO secretary-general informed the Ambassador about the Organisation’s current "
               "activities, including upcoming events in Uzbekistan.\n\n\n\nThe Ambassador of Cambodia "
               "reaffirmed her country’s interest in upgrading to observer status at the Organisation.")
    question = "Which country plans to chair the SCO in 2022?"
    enc = reader.tokenizer(question, passage, return_offsets_mapping=True)
    offsets, ids = enc["offset_mapping"], enc.sequence_ids()
    at = {passage[a:b]: i for i, ((a, b), s) in enumerate(zip(offsets, ids)) if s == 1}
    start, end = np.full(len(offsets), -10.0), np.full(len(offsets), -10.0)
    start[at["Uzbekistan"]], end[at["Cambodia"]], end[at["Uzbekistan"]] = 9.0, 9.0, 5.0  # the crossing span scores best
    hidden = np.zeros((len(offsets), 4), dtype=np.float32)
    found = [c.text for c in reader._window_candidates(question, passage, 0, ids, offsets, start, end, hidden)]
    assert "Uzbekistan" in found and not [t for t in found if re.search(r"\n\s*\n", t)]
    for span in reader.read(question, [passage], top_n=50, threshold=0.0):
        check_span(span, [passage])
        assert not re.search(r"\n\s*\n", span.text)


def test_snap_never_cuts_a_word() -> None:
    text = "the Denver Broncos won"
    assert _snap(text, 6, 15) == (4, 18)  # "nver Bron" widened to "Denver Broncos"
    assert _snap(text, 3, 11) == (4, 10)  # " Denver " trimmed to "Denver"
    named = "the Red Cross (ICRC) and the UN (New York)"
    assert named[slice(*_snap(named, 15, 20))] == "ICRC"  # "ICRC)": the bracket it does not open goes
    assert named[slice(*_snap(named, 14, 19))] == "ICRC"  # "(ICRC": the bracket it does not close goes
    assert named[slice(*_snap(named, 32, 42))] == "(New York)"  # a bracket pair stays whole


def test_deterministic_and_thread_safe(reader: Reader) -> None:
    calls = [("When did construction begin?", [TOWER]), ("Where does photosynthesis happen?", [PHOTOSYNTHESIS])]
    expected = [reader.read(q, p) for q, p in calls]
    assert expected == [reader.read(q, p) for q, p in calls]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: reader.read(*calls[i % 2]), range(8)))
    assert results == [expected[i % 2] for i in range(8)]
