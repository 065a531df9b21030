"""The shipped reader end to end: offline load, exact spans across passages and windows,
abstention, threads. What is asserted holds for any sound reader (answers right by the F1
measure `scoqa eval` counts, offsets exact); the decoding rules themselves are tested on
hand-set logits in test_reader.py."""

from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from scoqa.answer.reader import MODEL_DIR, Reader
from scoqa.evaluate.metrics import f1_score
from scoqa.records import Span

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


def test_a_passage_that_does_not_answer_gets_a_far_lower_confidence(reader: Reader) -> None:
    """Calibrated confidences compare across questions: the best guess in an unrelated passage
    stands far below a clear answer, and the no-answer threshold lies between them."""
    unrelated = reader.read("Which team won the 1998 football World Cup?", [PHOTOSYNTHESIS], top_n=1, threshold=0.0)
    answered = reader.read("Who was the Eiffel Tower named after?", [TOWER], top_n=1, threshold=0.0)
    assert unrelated and answered
    assert unrelated[0].confidence < reader.no_answer_threshold < answered[0].confidence
    assert answered[0].confidence - unrelated[0].confidence > 0.3


def test_long_passage_is_read_in_windows(reader: Reader) -> None:
    passage = FILLER * 12 + "The vault of the harbour board was opened by Margaret Holloway in 1931. " + FILLER * 3
    n_tokens = len(reader.tokenizer(passage)["input_ids"])
    assert n_tokens > 2 * reader.settings.max_length  # the answer lies beyond the first window
    spans = reader.read("Who opened the vault of the harbour board?", [passage])
    assert spans and "Margaret Holloway" in spans[0].text
    for span in spans:
        check_span(span, [passage])


def test_no_span_of_a_scrape_crosses_a_paragraph_break(reader: Reader) -> None:
    # From the seed scrape: unguarded, a model offered "Uzbekistan.\n\n\n\nThe Ambassador of Cambodia".
    passage = ("The SCO secretary-general informed the Ambassador about the Organisation’s current "
               "activities, including upcoming events in Uzbekistan.\n\n\n\nThe Ambassador of Cambodia "
               "reaffirmed her country’s interest in upgrading to observer status at the Organisation.")
    spans = reader.read("Which country plans to chair the SCO in 2022?", [passage], top_n=50, threshold=0.0)
    assert spans
    for span in spans:
        check_span(span, [passage])
        assert not re.search(r"\n\s*\n", span.text)


def test_deterministic_and_thread_safe(reader: Reader) -> None:
    calls = [("When did construction begin?", [TOWER]), ("Where does photosynthesis happen?", [PHOTOSYNTHESIS])]
    expected = [reader.read(q, p) for q, p in calls]
    assert expected == [reader.read(q, p) for q, p in calls]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: reader.read(*calls[i % 2]), range(8)))
    assert results == [expected[i % 2] for i in range(8)]


def test_the_exported_reader_reads_as_torch_does() -> None:
    """The reader exported for ONNX Runtime (the default where the CPU has no native bf16)
    gives the spans torch gives, in the same order, with the same confidence to the fourth
    decimal."""
    from scoqa.answer.exported import ExportedNetwork

    exported = Reader.load(runtime="onnx")
    assert isinstance(exported.model, ExportedNetwork)
    in_torch = Reader.load(runtime="torch", bf16=False)  # fp32, as the exported network reads
    passages = [TOWER, FILLER * 6, PHOTOSYNTHESIS]  # the filler is read in two windows
    for question in ("Who was the Eiffel Tower named after?", "Where does photosynthesis take place?",
                     "When was the harbour board founded?"):
        ours, theirs = (r.read(question, passages, top_n=10, threshold=0.0) for r in (exported, in_torch))
        assert [(s.passage_index, s.start, s.end) for s in ours] == [(s.passage_index, s.start, s.end) for s in theirs]
        assert [s.confidence for s in ours] == pytest.approx([s.confidence for s in theirs], abs=1e-4)
    with pytest.raises(ValueError, match="runtime"):
        Reader.load(runtime="tensorflow")


def test_a_cache_that_cannot_be_written_reads_with_torch(tmp_path, monkeypatch, capsys) -> None:
    """Where the export cannot be written (here: the cache is a file, not a folder), "auto" says
    so and reads with torch; "onnx" refuses with the reason."""
    from scoqa.answer import exported
    from scoqa.errors import ModelUnavailable

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(exported, "exported_path", lambda folder: blocked / "reader.onnx")
    reader = Reader.load(runtime="auto", bf16=False)
    assert reader.compute == "torch fp32"
    assert "reading with torch" in capsys.readouterr().err
    with pytest.raises(ModelUnavailable, match="cannot export"):
        Reader.load(runtime="onnx")
