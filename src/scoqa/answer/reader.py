"""Extractive reader: answers are spans of the passages, never paraphrases.

The model is scoqa's own: low-rank adapters and a span head, trained by
``scripts/train_reader.py`` on SQuAD articles kept apart from the benchmark and shipped in the
package, merged at load time into all-mpnet-base-v2 from its packages, so reading needs no
network.

torch and transformers are imported when a model is loaded or run, not with this module: the
decoding of a window's logits into spans (`decode_window`) is plain numpy, tested on hand-set
logits.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np

from ..errors import ModelUnavailable
from ..packaged import MPNET, mpnet_folder, offline
from ..records import Span
from ..text import FUNCTION_WORDS, PARAGRAPH_BREAK, TOKEN, sentences, trim, whole_code
from . import exported
from .exported import ExportedNetwork

if TYPE_CHECKING:
    import torch

MODEL_DIR = Path(__file__).parents[1] / "models" / "reader"  # the package data of scoqa
SETTINGS_FILE = "reader.json"
# A reader trained with low-rank adapters ships only them and its span head (``HEAD``).
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
HEAD = "qa_outputs"

# A question is cut to this many word pieces, so that it leaves most of a window (384) to the
# passage; a question longer than this is a pasted paragraph, not a question.
_MAX_QUESTION_TOKENS = 64
# What `span_features` returns, in order; `reader.json` holds one calibration weight for each.
FEATURES = ("margin", "log_prob", "sentence_overlap", "answer_in_question")


class Reads(Protocol):
    """What the Assistant needs of a reader: calibrated spans, most confident first, and the
    confidence below which it should not answer. A second reader is a new class with these."""

    @property
    def no_answer_threshold(self) -> float:
        """The confidence below which the reader's best span should not be given as an answer."""
        ...

    def read(self, question: str, passages: Sequence[str], top_n: int = 5,
             threshold: float | None = None) -> list[Span]:
        """At most `top_n` spans of `passages`, most confident first (ties: passage index, then
        offsets), each with ``passages[span.passage_index][span.start:span.end] == span.text``
        (code points), none overlapping a more confident one of the same passage. Spans below
        `threshold` (None: `no_answer_threshold`; 0 keeps every guess) are left out, so an empty
        list means "no answer". Neither whitespace nor a paragraph break begins, ends or runs
        through a span, and no span cuts a word. Must be safe to call from several threads.
        A span names its passage by its place in `passages`; the Assistant places each one in
        the passage itself (`records.AnswerSpan`) once it is read and re-ranked."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A scored span before calibration; the training script fits the calibration on these.
    ``state`` as in ``Span``."""

    passage_index: int
    start: int
    end: int
    text: str
    features: tuple[float, ...]
    state: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ReaderSettings:
    """Decoding settings and the calibration, stored next to the weights in ``reader.json``.

    ``calibration`` holds the weights of a logistic model over ``Candidate.features`` followed
    by its bias, fitted on the tuning articles to predict "this span is a right answer"
    (F1 >= 0.5 against the gold answers; any span is wrong for an unanswerable question).
    """

    # Word pieces a window holds, and those two windows of one passage share: the usual SQuAD
    # settings (Hugging Face's run_qa.py: max_seq_length 384, doc_stride 128), trained with.
    max_length: int = 384
    stride: int = 128
    # The longest span considered: longer ones are rarely right (the tuning articles, gold
    # paragraph, answering always: F1 86.57 at 30 tokens, 87.05 at 25, 87.22 at 20, 87.28 at 15),
    # and a list is widened to its whole enumeration after reading.
    max_answer_tokens: int = 20
    # Start and end tokens a window offers, and spans it keeps: run_qa.py's n_best_size.
    top_k: int = 20
    # Windows a forward pass, sorted by length: on 2 cores, few windows a pass pad least (a
    # list question's ten passages read in 1.0 s against 1.4 s at 32, the same spans).
    batch_size: int = 4
    # A calibrated probability: 0.5 answers when right is likelier than wrong, until the
    # calibration script sets the threshold it measured (reader.json: 0.505).
    no_answer_threshold: float = 0.5
    calibration: tuple[float, ...] = (1.0, *[0.0] * len(FEATURES))  # the margin alone, until fitted
    bf16: bool = False
    base: str | None = None  # the packaged encoder the adapters apply to; None: full weights

    @classmethod
    def from_json(cls, path: Path) -> ReaderSettings:
        """The settings in a model's ``reader.json``. Its notes of how the model was made
        (`NOTES`) are not settings and are skipped; a retired setting at its only value
        (`RETIRED`) is dropped. Raises ModelUnavailable for the file unreadable, any other
        key, or a retired setting at another value: a model that wants what this reader
        does not do."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ModelUnavailable(f"{path}: cannot read the reader's settings ({err})") from None
        for key, value in RETIRED.items():
            held = raw.pop(key, value)
            if held != value:
                raise ModelUnavailable(f"{path}: {key}={held!r} is no longer supported (this reader computes "
                                       f"as if {key}={value!r})")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__) - NOTES)
        if unknown:
            raise ModelUnavailable(f"{path}: unknown settings {', '.join(unknown)} (this reader knows "
                                   f"{', '.join(cls.__dataclass_fields__)})")
        settings = {k: v for k, v in raw.items() if k not in NOTES}
        settings["calibration"] = tuple(settings.get("calibration", cls.calibration))
        return cls(**settings)


# Keys of reader.json that say how the model was made, for people, not settings: written by
# scripts/train_reader.py and scripts/calibrate_reader.py.
NOTES = frozenset({"tuning_articles", "calibrated_on"})
# Settings a shipped reader.json may still hold, at the one value they may have: int8 dynamic
# quantisation was measured and not used (MODEL_CARD.md), so reader.json says "quantize": false.
RETIRED = {"quantize": False}


def span_features(
    question: str, passage: str, passage_sentences: Sequence[tuple[int, int]], start: int, end: int,
    margin: float, log_prob: float,
) -> tuple[float, ...]:
    """Neural scores plus two signals classic readers relied on.

    - ``margin``: span score minus the window's no-answer score; the usual SQuAD 2.0 decision value.
    - ``log_prob``: log of the span's start and end probabilities in its window, no-answer included.
    - sentence overlap: share of the question's content words found in the sentence holding the
      span (sliding-window and DrQA-style readers leaned on this heavily).
    - answer-in-question: share of the span's words already in the question; right answers
      rarely repeat the question.

    The expected answer type (a date for "when", a name for "who"), by question form or by
    spaCy entity, did not help on the tuning articles; the model card has the figures.
    """
    q_words = {w for w in TOKEN.findall(question.lower()) if w not in FUNCTION_WORDS}
    around = [(a, b) for a, b in passage_sentences if a < end and start < b] or [(start, end)]
    sentence = set(TOKEN.findall(passage[around[0][0]:around[-1][1]].lower()))
    overlap = len(q_words & sentence) / len(q_words) if q_words else 0.0
    a_words = TOKEN.findall(passage[start:end].lower())
    all_q = set(TOKEN.findall(question.lower()))
    in_question = sum(w in all_q for w in a_words) / len(a_words) if a_words else 1.0
    return (margin, log_prob, overlap, in_question)


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen to whole words and whole hyphenated codes ("KX-4471-B", `text.whole_code`), trim
    whitespace, and drop a bracket at either end that the span does not also open or close
    ("ICRC)" of "(ICRC)" is "ICRC").

    A window can begin or end inside a word (its subword pieces split across windows), and the
    model can stop on a subword or a bracket; none of these may cut or pad the answer.
    """
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    start, end = whole_code(text, *trim(text, start, end))
    for opening, closing in ("()", "[]"):
        if start < end and text[end - 1] == closing and opening not in text[start:end - 1]:
            start, end = trim(text, start, end - 1)
        if start < end and text[start] == opening and closing not in text[start + 1:end]:
            start, end = trim(text, start + 1, end)
    return start, end


def decode_window(
    settings: ReaderSettings,
    question: str,
    passage: str,
    p: int,
    sequence_ids: list[int | None],
    offsets: list[tuple[int, int]],
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    hidden: np.ndarray,
) -> list[Candidate]:
    """The best spans of one window of passage `p`, as candidates whose margin is relative to
    the window's no-answer score (the first token's).

    `sequence_ids` (None for special tokens, 0 the question, 1 the passage) and `offsets`
    ((start, end) code points into `passage`) describe the window's tokens, as the tokenizer
    gives them; `start_logits` and `end_logits` have one score per token (longer rows, padded,
    are cut to the window); `hidden` is the window's last hidden layer, shape ``(tokens,
    hidden)``. Spans run over at most `settings.max_answer_tokens` passage tokens, from the
    `settings.top_k` best start and end tokens; of the `top_k` best pairs, each widened to
    whole words, those that cross a paragraph break are dropped. Candidates come best first."""
    s = settings
    n = len(sequence_ids)
    context = np.array([sid == 1 for sid in sequence_ids])
    allowed = context.copy()
    allowed[0] = True  # [CLS] carries the no-answer score
    start, end = start_logits[:n], end_logits[:n]
    log_p_start = start - _logsumexp(start[allowed])
    log_p_end = end - _logsumexp(end[allowed])
    null = float(start[0] + end[0])
    ctx = np.flatnonzero(context)
    starts = ctx[np.argsort(-start[ctx], kind="stable")[: s.top_k]]
    ends = ctx[np.argsort(-end[ctx], kind="stable")[: s.top_k]]
    pairs = [
        (float(start[i] + end[j]), int(i), int(j))
        for i in starts
        for j in ends
        if i <= j < i + s.max_answer_tokens
    ]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    out: list[Candidate] = []
    passage_sentences = sentences(passage)  # once a window, not once a candidate
    for score, i, j in pairs[: s.top_k]:
        a, b = _snap(passage, offsets[i][0], offsets[j][1])
        # A passage can hold several paragraphs (a chunk, or a scrape's menu lines); an
        # answer never runs from one into the next.
        if a >= b or PARAGRAPH_BREAK.search(passage, a, b):
            continue
        features = span_features(
            question, passage, passage_sentences, a, b, score - null, float(log_p_start[i] + log_p_end[j])
        )
        out.append(Candidate(p, a, b, passage[a:b], features, hidden[[i, j, 0]]))
    return out


class Reader:
    """Reads passages for a question and returns calibrated answer spans.

    Confidence is a calibrated probability, not a per-window softmax: a logistic model over the
    span's margin above the no-answer score, its in-window probability and two lexical signals,
    fitted on the tuning articles against "the span is right". A softmax is only comparable
    inside one window; a probability of being right is comparable across windows, passages
    and questions, and the no-answer threshold is a plain cut on it.

    The network is a torch module or the same network exported for ONNX Runtime
    (`scoqa.answer.exported`; `load` chooses). One instance is safe to share between threads:
    per-call state lives on the stack, the model runs under ``torch.inference_mode`` (or in an
    ONNX Runtime session, whose ``run`` is thread-safe), and the tokenizer (whose Rust side
    keeps truncation state) is guarded by a lock.
    """

    def __init__(self, model: torch.nn.Module | ExportedNetwork, tokenizer: Any, settings: ReaderSettings) -> None:
        self.model = model if isinstance(model, ExportedNetwork) else model.eval()
        self.tokenizer = tokenizer
        self.settings = settings
        self._tokenizer_lock = threading.Lock()
        # bf16 matmuls where the CPU has them (the model was trained under bf16 autocast).
        self._bf16 = not isinstance(model, ExportedNetwork) and settings.bf16 and cpu_has_bf16()

    @property
    def no_answer_threshold(self) -> float:
        return self.settings.no_answer_threshold

    @property
    def compute(self) -> str:
        """How the network computes: "onnx fp32" (`scoqa.answer.exported`), "torch bf16" or
        "torch fp32"."""
        if isinstance(self.model, ExportedNetwork):
            return "onnx fp32"
        return f"torch {'bf16' if self._bf16 else 'fp32'}"

    @classmethod
    def load(cls, path: str | Path | None = None, runtime: str = "auto", **overrides: Any) -> Reader:
        """Load the shipped model (or ``path``); ``overrides`` replace ``reader.json`` settings.

        Weights ship in fp16 to stay small and run in fp32 (fp16 matmuls are slow on CPU), or
        bf16 where the settings and the CPU allow. `runtime`: "onnx" reads with the reader
        exported for ONNX Runtime (`scoqa.answer.exported`, exported on first use), "torch"
        with torch; "auto" takes ONNX Runtime for a reader of adapters over the packaged base,
        unless the CPU computes bf16 natively (there torch's bf16 is the measured path), and
        falls back to torch, saying so, where the export cannot be written. Raises
        ModelUnavailable for a model folder that is missing, damaged, or calibrated on other
        features than this reader computes, and for "onnx" without ONNX Runtime installed or
        an export that cannot be written.
        """
        folder = Path(path) if path is not None else MODEL_DIR
        settings = ReaderSettings.from_json(folder / SETTINGS_FILE)
        settings = replace(settings, **overrides)
        if len(settings.calibration) != len(FEATURES) + 1:
            raise ModelUnavailable(
                f"{folder / SETTINGS_FILE}: the calibration has {len(settings.calibration)} values, this "
                f"reader computes {len(FEATURES)} features (plus a bias); "
                f"recalibrate it: python scripts/calibrate_reader.py --data ../shared/benchmarks/squad --model {folder}"
            )
        offline()  # before transformers is imported
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        if (folder / ADAPTER_CONFIG).is_file():
            if settings.base != MPNET:
                raise ModelUnavailable(f"{folder / SETTINGS_FILE}: unknown reader base {settings.base!r}")
            if _reads_exported(runtime, settings):
                try:
                    network = _exported(folder)
                except OSError as err:  # a cache folder that cannot be written (full, read-only)
                    if runtime == "onnx":
                        raise ModelUnavailable(f"cannot export the reader for ONNX Runtime ({err})") from None
                    print(f"cannot export the reader for ONNX Runtime ({err}); reading with torch",
                          file=sys.stderr, flush=True)
                else:
                    return cls(network, AutoTokenizer.from_pretrained(mpnet_folder()), settings)
            model, tokenizer = merged_reader(folder)
        else:
            model = AutoModelForQuestionAnswering.from_pretrained(folder, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(folder)
        return cls(model, tokenizer, settings)

    def confidence(self, features: Sequence[float]) -> float:
        """Probability that a span is right, from the logistic calibration."""
        *weights, bias = self.settings.calibration
        z = bias + float(np.dot(weights, features))
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))

    def read(self, question: str, passages: Sequence[str], top_n: int = 5,
             threshold: float | None = None) -> list[Span]:
        """Best spans over all passages, most confident first; empty means "no answer".

        Spans below `threshold` (default: the no-answer threshold setting) are dropped; 0 keeps
        the best guesses, for callers that decide themselves. Spans that overlap a more
        confident one in the same passage are dropped, so the list offers distinct answers
        rather than variants of one.
        """
        threshold = self.no_answer_threshold if threshold is None else threshold
        spans = [
            Span(c.passage_index, c.start, c.end, c.text, self.confidence(c.features), c.features, c.state)
            for c in self.candidates(question, passages)
        ]
        spans.sort(key=lambda s: (-s.confidence, s.passage_index, s.start, s.end))
        kept: list[Span] = []
        for span in spans:
            if span.confidence < threshold or len(kept) == top_n:
                break
            if not any(k.passage_index == span.passage_index and k.start < span.end and span.start < k.end
                       for k in kept):
                kept.append(span)
        return kept

    def candidates(self, question: str, passages: Sequence[str]) -> list[Candidate]:
        """Every plausible span with its features, one per distinct (passage, start, end)."""
        question = self._clip_question(question.strip())
        if not question or not passages:
            return []
        s = self.settings
        with self._tokenizer_lock:
            enc = self.tokenizer(
                [question] * len(passages),
                list(passages),
                truncation="only_second",
                max_length=s.max_length,
                stride=s.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
        windows = range(len(enc["input_ids"]))
        order = sorted(windows, key=lambda w: len(enc["input_ids"][w]))
        best: dict[tuple[int, int, int], Candidate] = {}
        for i in range(0, len(order), s.batch_size):
            batch = order[i : i + s.batch_size]
            start_logits, end_logits, states = self._forward(enc, batch)
            for row, w in enumerate(batch):
                p = enc["overflow_to_sample_mapping"][w]
                for cand in decode_window(
                    s, question, passages[p], p, enc.sequence_ids(w), enc["offset_mapping"][w],
                    start_logits[row], end_logits[row], states[row],
                ):
                    key = (cand.passage_index, cand.start, cand.end)
                    if key not in best or cand.features[0] > best[key].features[0]:
                        best[key] = cand
        return list(best.values())

    def _clip_question(self, question: str) -> str:
        """Keep long questions from leaving no room for the passage in a window."""
        with self._tokenizer_lock:
            offsets = self.tokenizer(
                question, add_special_tokens=False, return_offsets_mapping=True
            )["offset_mapping"]
        if len(offsets) <= _MAX_QUESTION_TOKENS:
            return question
        return question[: offsets[_MAX_QUESTION_TOKENS - 1][1]]

    def _forward(self, enc: Any, batch: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One padded forward pass over a batch of windows of similar length, feeding the model
        only the inputs its tokenizer names (MPNet takes no token type ids). Returns the start
        and end logits, shape ``(windows, width)``, and the last hidden layer, the span head's
        input, shape ``(windows, width, hidden)``. Reads with the exported network
        (`scoqa.answer.exported`) or torch, whichever the reader holds."""
        width = max(len(enc["input_ids"][w]) for w in batch)
        names = [n for n in self.tokenizer.model_input_names if n != "attention_mask"]
        inputs = {n: np.full((len(batch), width), self.tokenizer.pad_token_id if n == "input_ids" else 0, np.int64)
                  for n in names}
        inputs["attention_mask"] = np.zeros((len(batch), width), np.int64)
        for row, w in enumerate(batch):
            n = len(enc["input_ids"][w])
            for name in names:
                inputs[name][row, :n] = enc[name][w]
            inputs["attention_mask"][row, :n] = 1
        if isinstance(self.model, ExportedNetwork):
            return self.model(inputs)
        import torch

        device = next(self.model.parameters()).device  # a GPU while training evaluates
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=self._bf16):
            out = self.model(**{n: torch.from_numpy(t).to(device) for n, t in inputs.items()},
                             output_hidden_states=True)
        return (out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy(),
                out.hidden_states[-1].float().cpu().numpy())


def _reads_exported(runtime: str, settings: ReaderSettings) -> bool:
    """Whether `Reader.load` reads with the exported network (its `runtime` argument)."""
    if runtime not in ("auto", "onnx", "torch"):
        raise ValueError(f"unknown reader runtime {runtime!r} (auto, onnx or torch)")
    if runtime == "onnx" and not exported.available():
        raise ModelUnavailable("the reader's ONNX Runtime is not installed: pip install onnxruntime")
    return runtime == "onnx" or runtime == "auto" and exported.available() and not (settings.bf16 and cpu_has_bf16())


def _exported(folder: Path) -> ExportedNetwork:
    """The reader of `folder` exported for ONNX Runtime, exporting it first if it is not yet."""
    path = exported.exported_path(folder)
    if not path.is_file():
        print(f"exporting the reader for ONNX Runtime to {path} (once)", file=sys.stderr, flush=True)
        exported.export(merged_reader(folder)[0], path)
    return ExportedNetwork(path)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (oneDNN says so)."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def merged_reader(folder: Path = MODEL_DIR, base: Path | None = None) -> tuple[torch.nn.Module, Any]:
    """The base (``base``, a folder of its files; default the packaged one) with the adapters
    and span head of ``folder`` merged into its weights, so reading costs what the plain model
    costs; and the base's tokenizer. fp32 weights, on the CPU."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    base = base or mpnet_folder()
    model = AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, folder).merge_and_unload()
    return model, AutoTokenizer.from_pretrained(base)


def _logsumexp(x: np.ndarray) -> float:
    m = float(x.max())
    return m + float(np.log(np.exp(x - m).sum()))
