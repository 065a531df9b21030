"""Answer re-ranking: which of the reader's candidate spans answers the question.

The reader scores each span inside its own window; its best span is right for about four
questions in five, while the right one is among its first three for more than nine in ten
(``eval/gold.jsonl``, five passages read). A re-ranker looks at the candidates together, as
ReConsider does (Iyer et al., NAACL 2021: re-rank a reader's top predictions with a model
trained on that reader's own right and wrong ones), with evidence pooled across passages for
the same answer text (Wang et al., ICLR 2018) and the reader's own representation of the span
(Zhang et al., ACL 2021, calibrate with it), and returns a calibrated probability that each
candidate answers the question. The Assistant decides on that probability in three tiers.

The shipped model is trained by ``scripts/train_reranker.py`` on the reader's candidates for
SQuAD questions asked open book (``scripts/collect_rerank_cases.py``); its ``reranker.json``
names the design, its inputs, its thresholds and the figures they were chosen on. One input
can be the logit of a span-marked cross-encoder (``scoqa.answer.cross_encoder``, ReConsider's
second reading of each candidate); the shipped design reads it with the reader's own scores.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from ..errors import ModelUnavailable
from ..records import Span
from ..text import FUNCTION_WORDS, TOKEN, only_a_count, only_a_date
from .cross_encoder import marked_context

if TYPE_CHECKING:
    from .cross_encoder import CrossEncoder

MODEL_DIR = Path(__file__).parents[1] / "models" / "reranker"
SETTINGS_FILE = "reranker.json"
WEIGHTS_FILE = "reranker.npz"

# The question's wh-form, which says what kind of answer fits (a person for "who", a time for
# "when"): one indicator each.
QUESTION_KINDS = ("who", "when", "where", "how_many", "which_what", "why_how", "other")
_KIND_PATTERNS = (
    ("how_many", re.compile(r"\bhow\s+(?:many|much|long|old|far|large|big|high)\b", re.IGNORECASE)),
    ("when", re.compile(r"\bwhen\b|\bwhat\s+(?:year|date|day|month|century|decade|time)\b|\bin\s+which\s+year\b",
                        re.IGNORECASE)),
    ("where", re.compile(r"\bwhere\b|\b(?:which|what)\s+(?:city|country|town|place|region|province|state|continent)\b",
                         re.IGNORECASE)),
    ("who", re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)),
    ("why_how", re.compile(r"\bwhy\b|\bhow\b", re.IGNORECASE)),
    ("which_what", re.compile(r"\bwhich\b|\bwhat\b", re.IGNORECASE)),
)
_YEAR_OR_MONTH = re.compile(r"\b(?:1\d{3}|20\d{2})s?\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
                            re.IGNORECASE)
_NUMBER_WORD = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                          r"forty|fifty|hundred|thousand|million|billion|dozen|half|percent)\b", re.IGNORECASE)

# The span-marked cross-encoder's logit (``scoqa.answer.cross_encoder``): the one input that
# costs a forward pass of its own, so it is computed only for a design that reads it.
CROSS_ENCODER = "cross_encoder"
# The logit given to a candidate the cross-encoder does not read (beyond the settings'
# ``cross_depth``): the least it gave any of the 23,900 re-ranker cases' candidates (-7.38).
CROSS_FLOOR = -7.4
# One input each, in this order: the reader's span scores (``scoqa.read.FEATURES``), where the
# span stands among the candidates and its passage among the retrieved ones, how much of the
# candidates' evidence names the same answer, the answer's form, the question's kind, and
# whether the two agree.
FEATURES = (
    "margin", "log_prob", "sentence_overlap", "answer_in_question",
    "reader_rank", "margin_below_best", "passage_rank", "passage_score", "passage_score_below_best",
    "support", "support_share",
    "answer_words", "has_digit", "only_a_date", "only_a_count", "capitalised_share",
    "distance_to_question_words",
    *(f"asks_{kind}" for kind in QUESTION_KINDS),
    "who_and_name", "when_and_time", "where_and_name", "how_many_and_number",
    CROSS_ENCODER,
)
# The reader's candidates a re-ranker weighs: its most confident non-overlapping spans over the
# passages read (with ten, the right answer was among them for 93% of the gold questions; it
# was among the first three for 91%).
DEPTH = 10


def question_kind(question: str) -> str:
    """The wh-form of the question (one of ``QUESTION_KINDS``); the first pattern that matches,
    most specific first ("how many" before "how", "what year" before "what")."""
    return next((kind for kind, pattern in _KIND_PATTERNS if pattern.search(question)), "other")


def candidate_features(question: str, spans: Sequence[Span], passages: Sequence[str],
                       passage_scores: Sequence[float], cross: Sequence[float] | None = None) -> np.ndarray:
    """The re-ranker's inputs, shape ``(len(spans), len(FEATURES))``, float32.

    `spans` are the reader's candidates, most confident first, with their reader ``features``;
    ``span.passage_index`` indexes `passages` (the texts read) and `passage_scores` (their
    retrieval scores, best first). Offsets are code points into the passage texts. `cross`: the
    cross-encoder's logit for each span, in their order (0 when not given).
    """
    n = len(spans)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    kind = question_kind(question)
    q_words = {w for w in TOKEN.findall(question.lower()) if w not in FUNCTION_WORDS}
    margins = np.array([s.features[0] for s in spans], dtype=np.float64)
    weights = np.exp(margins - margins.max())
    weights /= weights.sum()
    keys = [" ".join(TOKEN.findall(s.text.lower())) for s in spans]
    top_score = max(passage_scores) if passage_scores else 0.0
    for row, span in enumerate(spans):
        same = [j for j, key in enumerate(keys)
                if j == row or key and keys[row] and (key == keys[row] or _contains(key, keys[row]))]
        words = span.text.split()
        capitalised = sum(w[:1].isupper() for w in words) / len(words) if words else 0.0
        has_digit = any(ch.isdigit() for ch in span.text)
        values = {
            **dict(zip(FEATURES[:4], span.features)),
            "reader_rank": math.log1p(row),
            "margin_below_best": float(margins.max() - margins[row]),
            "passage_rank": math.log1p(span.passage_index),
            "passage_score": passage_scores[span.passage_index],
            "passage_score_below_best": top_score - passage_scores[span.passage_index],
            "support": math.log1p(len(same) - 1),
            "support_share": float(weights[same].sum()),
            "answer_words": math.log1p(len(words)),
            "has_digit": float(has_digit),
            "only_a_date": float(only_a_date(span.text)),
            "only_a_count": float(only_a_count(span.text)),
            "capitalised_share": capitalised,
            "distance_to_question_words": _distance(passages[span.passage_index], span.start, span.end, q_words),
            f"asks_{kind}": 1.0,
            "who_and_name": float(kind == "who") * capitalised,
            "when_and_time": float(kind == "when" and bool(_YEAR_OR_MONTH.search(span.text))),
            "where_and_name": float(kind == "where") * capitalised,
            "how_many_and_number": float(kind == "how_many" and bool(_NUMBER_WORD.search(span.text))),
            CROSS_ENCODER: float(cross[row]) if cross is not None else 0.0,
        }
        out[row] = [values.get(name, 0.0) for name in FEATURES]
    return out


def _contains(a: str, b: str) -> bool:
    """One answer's words (lower-cased tokens) stand inside the other's as whole words ("alimov"
    in "rashid alimov")."""
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


def _distance(passage: str, start: int, end: int, q_words: set[str]) -> float:
    """log(1 + words between the span and the nearest question content word in its passage);
    log(1 + 50) when none stands within 50 words. Readers of the DrQA kind rank answers near
    the question's words higher."""
    before = [w.lower() for w in TOKEN.findall(passage[max(0, start - 400):start])][::-1]
    after = [w.lower() for w in TOKEN.findall(passage[end:end + 400])]
    gaps = [i for side in (before, after) for i, w in enumerate(side[:50]) if w in q_words]
    return math.log1p(min(gaps, default=50))


class Reranks(Protocol):
    """What the Assistant needs of a re-ranker: the candidates with ``confidence`` replaced by
    the probability that each answers the question, most probable first, and the two
    probabilities that divide its answers into tiers."""

    @property
    def answer_threshold(self) -> float:
        """At or above it an answer is stated ("answered")."""
        ...

    @property
    def unsure_threshold(self) -> float:
        """At or above it (and below `answer_threshold`) the best candidate is shown as a
        possible answer ("unsure"); below it the documents do not seem to say ("not found")."""
        ...

    def rerank(self, question: str, spans: Sequence[Span], passages: Sequence[str],
               passage_scores: Sequence[float]) -> list[Span]:
        """`spans` as the reader returned them (reader ``features`` and ``state`` set, most
        confident first, indexing `passages` and their retrieval `passage_scores`); returns the
        same spans, re-scored, most probable first (ties: reader order). Never raises on an
        empty list (returns it)."""
        ...


@dataclass(frozen=True)
class RerankerSettings:
    """``inputs``: the names of ``FEATURES`` the network reads, in its order; ``state``: whether
    the reader's hidden state at the span (``Span.state`` flattened) follows them; ``hidden``:
    units of the one hidden layer, 0 for a logistic model; ``platt``: the (scale, bias) that
    calibrates the network's logit on the tuning cases (Platt, 1999); the thresholds as
    ``Reranks`` says; ``cross_depth``: how many of the reader's most confident candidates the
    cross-encoder reads, when the design reads its logit (the others read ``CROSS_FLOOR``)."""

    inputs: tuple[str, ...]
    state: bool
    hidden: int
    platt: tuple[float, float]
    answer_threshold: float
    unsure_threshold: float
    cross_depth: int = DEPTH

    @classmethod
    def from_json(cls, path: Path) -> RerankerSettings:
        """Raises ModelUnavailable when the file names inputs this scoqa does not compute."""
        raw = json.loads(path.read_text())
        unknown = [name for name in raw.get("inputs", ["?"]) if name not in FEATURES]
        if unknown:
            raise ModelUnavailable(f"{path}: trained on inputs this scoqa does not compute ({', '.join(unknown)}); "
                                   "retrain it: python scripts/train_reranker.py --cases runs/rerank-cases")
        return cls(tuple(raw["inputs"]), bool(raw["state"]), int(raw["hidden"]), tuple(raw["platt"]),
                   float(raw["answer_threshold"]), float(raw["unsure_threshold"]), int(raw.get("cross_depth", DEPTH)))


class Reranker:
    """A small network over each candidate's inputs: standardised, through ``hidden`` ReLU
    units (or none), to one logit, calibrated by Platt scaling. The network is plain numpy (well
    under a millisecond for ten candidates); a design that reads the cross-encoder's logit also
    runs the cross-encoder, one forward pass over each candidate's marked sentence. Safe to
    share between threads (no state changes after loading)."""

    def __init__(self, weights: dict[str, np.ndarray], settings: RerankerSettings,
                 cross_encoder: CrossEncoder | None = None) -> None:
        self.weights = weights
        self.settings = settings
        self.cross_encoder = cross_encoder
        self._columns = [FEATURES.index(name) for name in settings.inputs]

    @property
    def answer_threshold(self) -> float:
        return self.settings.answer_threshold

    @property
    def unsure_threshold(self) -> float:
        return self.settings.unsure_threshold

    @classmethod
    def load(cls, path: str | Path | None = None) -> Reranker:
        """The shipped re-ranker (or the one in folder `path`). Raises ModelUnavailable when its
        files are missing or were trained on other inputs."""
        folder = Path(path) if path is not None else MODEL_DIR
        try:
            settings = RerankerSettings.from_json(folder / SETTINGS_FILE)
            with np.load(folder / WEIGHTS_FILE) as stored:
                weights = {name: stored[name].astype(np.float32) for name in stored.files}
        except (OSError, KeyError, ValueError) as err:
            raise ModelUnavailable(f"cannot load the re-ranker from {folder} ({err})") from None
        cross_encoder = None
        if CROSS_ENCODER in settings.inputs:
            from .cross_encoder import CrossEncoder

            cross_encoder = CrossEncoder.load()
        return cls(weights, settings, cross_encoder)

    def inputs(self, question: str, spans: Sequence[Span], passages: Sequence[str],
               passage_scores: Sequence[float]) -> np.ndarray:
        """The network's input rows, shape ``(len(spans), width)``: the chosen columns of
        ``candidate_features``, then, if the design reads it, each span's state, flattened."""
        cross = None
        if CROSS_ENCODER in self.settings.inputs:
            if self.cross_encoder is None:
                raise ModelUnavailable("this re-ranker reads the cross-encoder's logit, and it was given none")
            read = spans[:self.settings.cross_depth]
            cross = np.full(len(spans), CROSS_FLOOR, np.float32)
            cross[:len(read)] = self.cross_encoder.score(
                question, [marked_context(passages[s.passage_index], s.start, s.end) for s in read])
        x = candidate_features(question, spans, passages, passage_scores, cross)[:, self._columns]
        if self.settings.state:
            x = np.hstack([x, np.stack([np.asarray(s.state, np.float32).ravel() for s in spans])])
        return x

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for input rows `x` (``inputs``), shape ``(rows,)``."""
        w = self.weights
        h = (x - w["mean"]) / w["scale"]
        if self.settings.hidden:
            h = np.maximum(h @ w["w1"] + w["b1"], 0.0)
        logit = h @ w["w_out"] + w["b_out"]
        scale, bias = self.settings.platt
        return 1.0 / (1.0 + np.exp(-np.clip(scale * logit + bias, -50.0, 50.0)))

    def rerank(self, question: str, spans: Sequence[Span], passages: Sequence[str],
               passage_scores: Sequence[float]) -> list[Span]:
        if not spans:
            return []
        p = self.probabilities(self.inputs(question, spans, passages, passage_scores))
        order = sorted(range(len(spans)), key=lambda i: (-p[i], i))
        return [replace(spans[i], confidence=float(p[i])) for i in order]
