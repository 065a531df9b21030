"""The reader's decoding on hand-set logits, its choice among scored spans, and its settings
file, as Haystack tests its reader: no model is loaded, so what is tested is scoqa's code, not
what the shipped model happens to say (that is test_reader_model.py)."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from scoqa.answer.reader import MODEL_DIR, SETTINGS_FILE, Candidate, Reader, ReaderSettings, _snap, decode_window
from scoqa.errors import ModelUnavailable

QUESTION = "When was the tower completed?"


def window(passage: str, pieces: list[tuple[int, int]] | None = None):
    """A window as a tokenizer gives it: [CLS], the question (sequence 0), two separators, the
    passage (sequence 1, one token a word or mark unless `pieces` are given), a separator."""
    pieces = pieces or [m.span() for m in re.finditer(r"\w+|[^\w\s]", passage)]
    question = [m.span() for m in re.finditer(r"\w+|[^\w\s]", QUESTION)]
    sequence_ids = [None] + [0] * len(question) + [None, None] + [1] * len(pieces) + [None]
    offsets = [(0, 0)] + question + [(0, 0), (0, 0)] + pieces + [(0, 0)]
    return sequence_ids, offsets


def logits(sequence_ids, offsets, passage: str, starts: dict[str, float], ends: dict[str, float]):
    """Start and end logits of -10, 0 for [CLS] (the no-answer score), and the given values at
    the first passage token whose text is each key."""
    start, end = np.full(len(offsets), -10.0), np.full(len(offsets), -10.0)
    start[0] = end[0] = 0.0
    at = {}
    for i, ((a, b), sid) in enumerate(zip(offsets, sequence_ids)):
        if sid == 1:
            at.setdefault(passage[a:b], i)
    for word, value in starts.items():
        start[at[word]] = value
    for word, value in ends.items():
        end[at[word]] = value
    return start, end, at


def test_a_window_is_decoded_into_its_best_spans_with_margins_and_states():
    passage = "The Eiffel Tower was completed in March 1889 in Paris."
    ids, offsets = window(passage)
    start, end, at = logits(ids, offsets, passage, {"March": 5.0, "1889": 3.0}, {"1889": 5.0})
    hidden = np.arange(len(offsets) * 2, dtype=np.float32).reshape(-1, 2)
    found = decode_window(ReaderSettings(top_k=2), QUESTION, passage, 7, ids, offsets, start, end, hidden)
    # the two best starts and ends make two pairs in order (an end before its start is none)
    assert [(c.passage_index, c.text, passage[c.start:c.end]) for c in found] == [
        (7, "March 1889", "March 1889"), (7, "1889", "1889")]
    assert [c.features[0] for c in found] == [10.0, 8.0]  # start + end over the no-answer score (0)
    allowed = [0] + [i for i, s in enumerate(ids) if s == 1]
    log_z_start, log_z_end = (math.log(np.exp(row[allowed]).sum()) for row in (start, end))
    assert found[0].features[1] == pytest.approx(5.0 - log_z_start + 5.0 - log_z_end)
    # every content word of the question (tower, completed) is in the span's sentence; none in the span
    assert found[0].features[2:] == (1.0, 0.0)
    assert np.array_equal(found[0].state, hidden[[at["March"], at["1889"], 0]])


def test_no_span_is_longer_than_the_longest_answer_setting():
    passage = "The Eiffel Tower was completed in March 1889 in Paris."
    ids, offsets = window(passage)
    start, end, _ = logits(ids, offsets, passage, {"March": 5.0, "1889": 3.0}, {"1889": 5.0})
    hidden = np.zeros((len(offsets), 2), dtype=np.float32)
    found = decode_window(ReaderSettings(top_k=2, max_answer_tokens=1), QUESTION, passage, 0, ids, offsets,
                          start, end, hidden)
    assert [c.text for c in found] == ["1889"]


def test_a_span_ending_inside_a_word_is_widened_to_the_whole_word():
    passage = "the Denver Broncos won"
    pieces = [(0, 3), (4, 7), (7, 10), (11, 15), (15, 18), (19, 22)]  # the, Den, ver, Bron, cos, won
    ids, offsets = window(passage, pieces)
    start, end, _ = logits(ids, offsets, passage, {"ver": 4.0}, {"Bron": 4.0})
    found = decode_window(ReaderSettings(top_k=1), QUESTION, passage, 0, ids, offsets, start, end,
                          np.zeros((len(offsets), 2), dtype=np.float32))
    assert [c.text for c in found] == ["Denver Broncos"]


def test_a_span_never_crosses_a_paragraph_break():
    # From the seed scrape: unguarded, a model offered "Uzbekistan.\n\n\n\nThe Ambassador of Cambodia".
    passage = ("The SCO secretary-general informed the Ambassador about the Organisation’s current "
               "activities, including upcoming events in Uzbekistan.\n\n\n\nThe Ambassador of Cambodia "
               "reaffirmed her country’s interest in upgrading to observer status at the Organisation.")
    ids, offsets = window(passage)
    # the crossing span scores best
    start, end, _ = logits(ids, offsets, passage, {"Uzbekistan": 9.0}, {"Cambodia": 9.0, "Uzbekistan": 5.0})
    found = decode_window(ReaderSettings(), QUESTION, passage, 0, ids, offsets, start, end,
                          np.zeros((len(offsets), 2), dtype=np.float32))
    assert found[0].text == "Uzbekistan" and not [c.text for c in found if re.search(r"\n\s*\n", c.text)]


def test_snap_never_cuts_a_word():
    text = "the Denver Broncos won"
    assert _snap(text, 6, 15) == (4, 18)  # "nver Bron" widened to "Denver Broncos"
    assert _snap(text, 3, 11) == (4, 10)  # " Denver " trimmed to "Denver"
    named = "the Red Cross (ICRC) and the UN (New York)"
    assert named[slice(*_snap(named, 15, 20))] == "ICRC"  # "ICRC)": the bracket it does not open goes
    assert named[slice(*_snap(named, 14, 19))] == "ICRC"  # "(ICRC": the bracket it does not close goes
    assert named[slice(*_snap(named, 32, 42))] == "(New York)"  # a bracket pair stays whole
    coded = "Contract No. KX-4471-B, COVID-19 rules, 2019-2020 and third-most"
    assert coded[slice(*_snap(coded, 13, 20))] == "KX-4471-B"  # a code cut at its inner hyphen
    assert coded[slice(*_snap(coded, 21, 22))] == "KX-4471-B"
    assert coded[slice(*_snap(coded, 24, 29))] == "COVID-19"
    assert coded[slice(*_snap(coded, 40, 44))] == "2019"  # a number range may be cut
    assert coded[slice(*_snap(coded, 54, 59))] == "third"  # so may a hyphenated word


class NoModel:
    """Stands in for the network: `read` only chooses among the candidates it is given."""

    def eval(self):
        return self


def reader_choosing_among(candidates: list[Candidate]) -> Reader:
    """A reader whose confidence is the logistic of the margin alone, over these candidates."""
    reader = Reader(NoModel(), None, ReaderSettings(calibration=(1.0, 0.0, 0.0, 0.0, 0.0), no_answer_threshold=0.5))
    reader.candidates = lambda question, passages: candidates
    return reader


def candidate(p: int, start: int, end: int, margin: float) -> Candidate:
    return Candidate(p, start, end, "x" * (end - start), (margin, 0.0, 0.0, 0.0))


def test_read_keeps_distinct_spans_above_the_threshold_most_confident_first():
    reader = reader_choosing_among([
        candidate(1, 10, 12, -1.0), candidate(0, 3, 8, 1.5), candidate(0, 0, 5, 2.0), candidate(1, 0, 5, 1.0),
        candidate(0, 20, 25, -3.0), candidate(2, 0, 5, 1.0)])
    spans = reader.read(QUESTION, ["passage"] * 3)
    # (0, 3, 8) overlaps a surer span of its passage; (1, 10, 12) and (0, 20, 25) fall below 0.5;
    # the tie at margin 1.0 goes to the earlier passage
    assert [(s.passage_index, s.start, s.end) for s in spans] == [(0, 0, 5), (1, 0, 5), (2, 0, 5)]
    assert [s.confidence for s in spans] == pytest.approx([1 / (1 + math.exp(-m)) for m in (2.0, 1.0, 1.0)])
    everything = reader.read(QUESTION, ["passage"] * 3, top_n=10, threshold=0.0)
    assert [(s.passage_index, s.start) for s in everything] == [(0, 0), (1, 0), (2, 0), (1, 10), (0, 20)]
    assert reader.read(QUESTION, ["passage"] * 3, top_n=1) == spans[:1]
    assert reader.read(QUESTION, ["passage"] * 3, threshold=0.9) == []


def test_the_shipped_settings_load_and_their_notes_are_not_settings():
    settings = ReaderSettings.from_json(MODEL_DIR / SETTINGS_FILE)
    raw = json.loads((MODEL_DIR / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert settings.no_answer_threshold == raw["no_answer_threshold"] and settings.calibration == tuple(raw["calibration"])
    assert raw["quantize"] is False and "tuning_articles" in raw  # the retired key and a note: both skipped


@pytest.mark.parametrize("extra, message", [({"beam_size": 4}, "unknown settings beam_size"),
                                            ({"quantize": True}, "quantize=True is no longer supported")])
def test_a_settings_file_asking_for_what_this_reader_does_not_do_is_refused(tmp_path, extra, message):
    raw = json.loads((MODEL_DIR / SETTINGS_FILE).read_text(encoding="utf-8"))
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(raw | extra), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match=message):
        ReaderSettings.from_json(tmp_path / SETTINGS_FILE)


def test_a_calibration_of_another_feature_set_is_refused_before_loading_anything():
    with pytest.raises(ModelUnavailable, match="recalibrate"):
        Reader.load(calibration=(0.2, 0.0, 1.4, -0.9, -0.2, -1.4))  # runs 4 and 5 had five features


def test_a_retrained_reader_is_exported_anew_and_a_recalibrated_one_is_not(tmp_path, monkeypatch):
    from scoqa.answer.exported import exported_path

    monkeypatch.setenv("SCOQA_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "reader"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    (folder / "reader.json").write_text('{"no_answer_threshold": 0.5}')
    first = exported_path(folder)
    assert first.parent == tmp_path / "cache" / "reader-onnx" and first.suffix == ".onnx"
    (folder / "reader.json").write_text('{"no_answer_threshold": 0.6}')
    assert exported_path(folder) == first
    (folder / "adapter_model.safetensors").write_bytes(b"retrained")
    assert exported_path(folder) != first


def test_make_model_removes_the_exports_of_earlier_readers_only(tmp_path):
    from scoqa.answer.exported import prune

    folder = tmp_path / "reader-onnx"
    folder.mkdir()
    for name in ("aaaa.onnx", "bbbb.onnx", "cccc.onnx.tmp", "notes.txt"):
        (folder / name).write_bytes(b"x")
    assert prune(folder / "bbbb.onnx") == [folder / "aaaa.onnx"]
    assert sorted(p.name for p in folder.iterdir()) == ["bbbb.onnx", "cccc.onnx.tmp", "notes.txt"]
    assert prune(folder / "bbbb.onnx") == []
