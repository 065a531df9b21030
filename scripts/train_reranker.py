"""Train the answer re-ranker on the reader's own candidates and choose its design and tiers.

Reads the cases of ``scripts/collect_rerank_cases.py``, rebuilds for each the candidates the
Assistant would weigh (the passages it reads at ``-k``, spans that fit the question's plan, the
reader's ``scoqa.rerank.DEPTH`` most confident), and trains each design on the training-article
cases. Every design is scored on the tuning-article cases only (the held-out articles are never
read here):

- best guess right: share of answerable open-book cases whose top candidate is right, against
  the reader's own order;
- AUROC of the top candidate's probability, right against wrong (a case whose documents do not
  say has only wrong candidates);
- utility: answered right - 2 x answered wrong at the best threshold, answerable and
  unanswerable cases weighing half each (as ``scripts/calibrate_reader.py``).

The best design by utility is refitted with a Platt scaling of its logit on the tuning cases,
and its two tier thresholds are chosen there: "answered" at the threshold that maximises the
utility, "unsure" at the least probability that keeps ``--not-found-share`` of the cases whose
documents do not say below it (shown as not found). The model and its figures are written to
``--model`` (``reranker.npz``, ``reranker.json``).

``--shipped`` fits nothing: it scores the tuning cases with the re-ranker already in
``--model`` and prints its tiers, and how the tier shares would move with either threshold.

    python scripts/train_reranker.py --cases runs/rerank-cases [--model src/scoqa/models/reranker] [--dry-run]
    python scripts/train_reranker.py --cases runs/rerank-cases-t1 --shipped
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scoqa.answer.question import plan
from scoqa.records import Span
from scoqa.answer.rerank import (CROSS_ENCODER, CROSS_FLOOR, DEPTH, FEATURES, MODEL_DIR, SETTINGS_FILE, WEIGHTS_FILE, Reranker,
                                RerankerSettings, candidate_features)
from train_reader import fit_logistic

RIGHT_F1 = 0.5
COST_OF_WRONG = 2.0
# (name, inputs, reads the reader's state, hidden units): logistic models on the reader's own
# span scores (its calibration refitted on the candidates the Assistant weighs), on those and
# the candidate's rank among them, and on every input; a small network on every input and the
# reader's hidden states at the span.
READER = FEATURES[:4]
WITHOUT_CROSS = tuple(f for f in FEATURES if f != CROSS_ENCODER)
DESIGNS = (("reader", READER, False, 0),
           ("reader+ranks", (*READER, "reader_rank", "margin_below_best"), False, 0),
           ("all", WITHOUT_CROSS, False, 0),
           ("mlp+state", WITHOUT_CROSS, True, 64))
# With the cross-encoder's logits (``--cross-scores``): it alone, with the reader's scores, with
# every input.
CROSS_DESIGNS = (("cross", (CROSS_ENCODER,), False, 0),
                 ("reader+cross", (*READER, CROSS_ENCODER), False, 0),
                 ("all+cross", FEATURES, False, 0))
LOGISTIC_L2 = 1e-3  # as the reader's own calibration (scripts/train_reader.py CALIBRATION_L2)


@dataclass
class Case:
    """One question asked in one setting, with the candidates the Assistant would weigh."""

    id: str
    split: str
    title: str
    setting: str
    answerable: bool
    x: np.ndarray  # (candidates, inputs)
    right: np.ndarray  # (candidates,) bool
    reader_order: np.ndarray  # (candidates,) the reader's confidence


def load_cases(folder: Path, k: int, with_state: bool, cross: np.ndarray | None = None,
               cross_depth: int = DEPTH) -> list[Case]:
    """Every case of every complete shard, its candidates rebuilt as the Assistant weighs them.
    `cross`: the cross-encoder's logit for every candidate of every shard, in file order
    (``scripts/train_cross_encoder.py score``); the Assistant runs it on the reader's
    `cross_depth` most confident candidates only, and the others read ``CROSS_FLOOR``."""
    cases = []
    position = 0
    for npz in sorted(folder.glob("shard-*.npz")):
        if npz.name.endswith(".tmp.npz"):
            continue
        states = np.load(npz)["states"]
        row = 0
        for line in npz.with_suffix(".jsonl").read_text().splitlines():
            raw = json.loads(line)
            asked = plan(raw["question"])
            reads = len(raw["passages"]) if raw["listing"] else min(k, len(raw["passages"]))
            spans = []
            for c in raw["candidates"]:
                state = states[row]
                row += 1
                logit = float(cross[position]) if cross is not None else 0.0
                position += 1
                if c["passage"] < reads and asked.admits(raw["passages"][c["passage"]]["text"], c["start"], c["end"]):
                    spans.append((Span(c["passage"], c["start"], c["end"], c["text"], c["confidence"],
                                       tuple(c["features"]), state), c["f1"] >= RIGHT_F1, logit))
            spans.sort(key=lambda t: (-t[0].confidence, t[0].passage_index, t[0].start, t[0].end))
            spans = spans[:DEPTH]
            passages = [p["text"] for p in raw["passages"][:reads]]
            scores = [p["score"] for p in raw["passages"][:reads]]
            x = candidate_features(raw["question"], [s for s, *_ in spans], passages, scores,
                                   [logit if i < cross_depth else CROSS_FLOOR for i, (*_, logit) in enumerate(spans)])
            if with_state and spans:
                x = np.hstack([x, np.stack([s.state.astype(np.float32).ravel() for s, *_ in spans])])
            cases.append(Case(raw["id"], raw["split"], raw["title"], raw["setting"],
                              raw["setting"] == "open" and bool(raw["answers"]), x,
                              np.array([r for _, r, _ in spans], dtype=bool),
                              np.array([s.confidence for s, *_ in spans])))
        assert row == len(states), f"{npz}: {row} candidates read, {len(states)} states"
    assert cross is None or position == len(cross), f"{position} candidates, {len(cross)} cross-encoder logits"
    return cases


def columns(inputs: tuple[str, ...], state: bool, width: int) -> list[int]:
    """Which columns of a case's rows (every feature, then the state) a design reads."""
    return [FEATURES.index(n) for n in inputs] + (list(range(len(FEATURES), width)) if state else [])


def train(cases: list[Case], inputs: tuple[str, ...], state: bool, hidden: int, seed: int = 0, epochs: int = 40,
          listwise: float = 1.0) -> dict[str, np.ndarray]:
    """Fit a design. A logistic model (no hidden layer) by Newton's method with a small L2
    penalty, on every candidate; a network by binary cross-entropy on every candidate plus, for
    cases with a right candidate, a softmax cross-entropy that puts the right one first
    (ReConsider's objective). Returns its weights, standardisation included. Deterministic for
    a seed."""
    width = max(c.x.shape[1] for c in cases)
    cols = columns(inputs, state, width)
    xs = [c.x[:, cols] for c in cases if len(c.x)]
    ys = [c.right for c in cases if len(c.x)]
    flat = np.vstack(xs)
    mean, scale = flat.mean(0), flat.std(0) + 1e-6
    if not hidden:
        w = fit_logistic((flat - mean) / scale, np.concatenate(ys).astype(float), LOGISTIC_L2)
        return {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32),
                "w_out": w[:-1].astype(np.float32), "b_out": np.float32(w[-1])}
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = torch.nn.Sequential(torch.nn.Linear(len(cols), hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                              torch.nn.Linear(hidden, 1))
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    tx = [torch.tensor((x - mean) / scale, dtype=torch.float32) for x in xs]
    ty = [torch.tensor(y, dtype=torch.float32) for y in ys]
    batch = 64  # cases a step
    for _ in range(epochs):
        net.train()
        order = rng.permutation(len(tx))
        for start in range(0, len(order), batch):
            ids = order[start:start + batch]
            logits = [net(tx[i]).squeeze(-1) for i in ids]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.cat(logits), torch.cat([ty[i] for i in ids]))
            listed = [(lg, ty[i]) for lg, i in zip(logits, ids) if ty[i].any()]
            if listwise and listed:
                loss = loss + listwise * torch.stack(
                    [-(torch.log_softmax(lg, 0) * (y / y.sum())).sum() for lg, y in listed]).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    net.eval()
    first, last = net[0], net[-1]
    return {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32),
            "w1": first.weight.detach().numpy().T.copy(), "b1": first.bias.detach().numpy().copy(),
            "w_out": last.weight.detach().numpy()[0].copy(), "b_out": last.bias.detach().numpy()[0].copy()}


def tuning_logits(fit: list[Case], tune: list[Case], design: tuple, fit_on: str) -> list[np.ndarray]:
    """Each tuning case's candidate logits from a model that never fitted that case: fitted on
    the training cases ("train"); or on those and the other tuning articles' cases, one article
    left out at a time ("train+tune"); or on the other tuning articles' cases alone ("tune": the
    cross-encoder was trained on the training articles' cases, so its logits there are not what
    it gives a new question)."""
    _, inputs, state, hidden = design
    if fit_on == "train":
        weights = train(fit, inputs, state, hidden)
        return [logits(weights, c.x, design) for c in tune]
    out: list[np.ndarray | None] = [None] * len(tune)
    also = fit if fit_on == "train+tune" else []
    for title in sorted({c.title for c in tune}):
        weights = train(also + [c for c in tune if c.title != title], inputs, state, hidden)
        for i, c in enumerate(tune):
            if c.title == title:
                out[i] = logits(weights, c.x, design)
    return out


def logits(weights: dict[str, np.ndarray], x: np.ndarray, design: tuple) -> np.ndarray:
    """The design's uncalibrated logits for a case's rows."""
    _, inputs, state, hidden = design
    if len(x) == 0:
        return np.zeros(0)
    model = Reranker(weights, RerankerSettings(tuple(inputs), state, hidden, (1.0, 0.0), 0.0, 0.0))
    p = np.clip(model.probabilities(x[:, columns(inputs, state, x.shape[1])]), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def top_of(cases: list[Case], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each case's best score and whether its top candidate is right (no candidate: wrong at 0)."""
    best, right = [], []
    for case, s in zip(cases, scores):
        if len(s) == 0:
            best.append(-np.inf)
            right.append(False)
        else:
            i = int(np.argmax(s))
            best.append(float(s[i]))
            right.append(bool(case.right[i]))
    return np.array(best), np.array(right)


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney U) formula, ties counted half."""
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.r_[pos, neg], kind="stable")
    ranks = np.empty(len(order))
    values = np.r_[pos, neg][order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def figures(cases: list[Case], scores: list[np.ndarray]) -> dict[str, float]:
    """Best guess right, AUROC and the best utility with its threshold, on these cases."""
    best, right = top_of(cases, scores)
    answerable = np.array([c.answerable for c in cases])
    weight = np.where(answerable, 0.5 / answerable.sum(), 0.5 / (~answerable).sum())
    finite = np.isfinite(best)
    thresholds = np.unique(best[finite])
    answered = best[None, :] >= thresholds[:, None]
    utility = (answered & right) @ weight - COST_OF_WRONG * ((answered & ~right) @ weight)
    t = int(np.argmax(utility))
    return {"best_guess_right": float(right[answerable].mean()),
            "auroc": auroc(np.where(finite, best, -1e9), right),
            "utility": float(max(utility[t], 0.0)), "threshold": float(thresholds[t])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=Path, default=Path("runs/rerank-cases"))
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="folder the chosen re-ranker is written to")
    parser.add_argument("-k", type=int, default=3, help="passages the Assistant reads (AssistantSettings.k)")
    parser.add_argument("--not-found-share", type=float, default=0.8,
                        help="share of the cases whose documents do not say that the tiers call not found")
    parser.add_argument("--fit-on", choices=("train", "train+tune", "tune"), default="train",
                        help="train: fit on the training-article cases, score the tuning ones; train+tune: "
                             "also fit on the other tuning articles' cases, one tuning article left out at a time; "
                             "tune: only on the other tuning articles' cases")
    parser.add_argument("--cross-scores", type=Path, default=None,
                        help="the cross-encoder's logits for every candidate of --cases "
                             "(scripts/train_cross_encoder.py score); adds the designs that read them")
    parser.add_argument("--cross-depth", type=int, default=DEPTH,
                        help="the reader's most confident candidates the cross-encoder reads (its cost)")
    parser.add_argument("--designs", nargs="+", default=None, help="only these designs (default: every one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dry-run", action="store_true", help="report, but write no model")
    parser.add_argument("--shipped", action="store_true",
                        help="fit nothing: the tiers of the re-ranker in --model on the tuning cases, and their trade-off")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.shipped:
        report_shipped(args)
        return

    cross = np.load(args.cross_scores) if args.cross_scores else None
    designs = [d for d in DESIGNS + (CROSS_DESIGNS if cross is not None else ())
               if args.designs is None or d[0] in args.designs]
    cases = load_cases(args.cases, args.k, with_state=True, cross=cross, cross_depth=args.cross_depth)
    fit = [c for c in cases if c.split == "train"]
    tune = [c for c in cases if c.split == "tune"]
    print(f"{len(fit)} training cases, {len(tune)} tuning cases "
          f"({sum(len(c.right) for c in fit)} and {sum(len(c.right) for c in tune)} candidates)", flush=True)
    report = {"reader's own confidence": figures(tune, [c.reader_order for c in tune])}
    print("reader's own confidence", json.dumps(report["reader's own confidence"]), flush=True)
    scored = {}
    for design in designs:
        scored[design[0]] = tuning_logits(fit, tune, design, args.fit_on)
        report[design[0]] = figures(tune, scored[design[0]])
        print(design[0], json.dumps(report[design[0]]), flush=True)
    chosen = max(scored, key=lambda n: report[n]["utility"])
    design = next(d for d in designs if d[0] == chosen)
    _, inputs, state, hidden = design
    weights = train({"train": fit, "train+tune": fit + tune, "tune": tune}[args.fit_on], inputs, state, hidden)

    # Platt scaling on every tuning candidate (scored by a model that did not fit it), then the
    # tiers on the calibrated top candidates.
    z = np.concatenate(scored[chosen])
    y = np.concatenate([c.right for c in tune])
    platt = fit_platt(z, y)
    calibrated = [1 / (1 + np.exp(-(platt[0] * s + platt[1]))) for s in scored[chosen]]
    best, right = top_of(tune, calibrated)
    answerable = np.array([c.answerable for c in tune])
    answer_threshold = figures(tune, calibrated)["threshold"]
    unanswerable_best = np.where(np.isfinite(best), best, 0.0)[~answerable]
    unsure_threshold = min(float(np.quantile(unanswerable_best, args.not_found_share)), answer_threshold)
    tiers = tier_figures(best, right, answerable, answer_threshold, unsure_threshold)
    report |= {"chosen": chosen, "platt": platt, "answer_threshold": answer_threshold,
               "unsure_threshold": unsure_threshold, "tiers (tuning cases)": tiers, "k": args.k,
               "cases": {"training": len(fit), "tuning": len(tune)}}
    print(json.dumps(report, indent=1))
    if args.dry_run:
        return
    args.model.mkdir(parents=True, exist_ok=True)
    np.savez(args.model / WEIGHTS_FILE, **weights)
    settings = {"design": chosen, "inputs": list(inputs), "state": state, "hidden": hidden, "platt": list(platt),
                "cross_depth": args.cross_depth,
                "answer_threshold": answer_threshold, "unsure_threshold": unsure_threshold,
                "trained_on": fitted_on(args) + "; chosen, calibrated and thresholded on the tuning articles' "
                              f"cases ({args.fit_on}), k={args.k}",
                "figures": report}
    (args.model / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n")
    Reranker.load(args.model)  # what was written loads (with the shipped cross-encoder, if it reads one)
    print(f"wrote {args.model}")


def report_shipped(args: argparse.Namespace) -> None:
    """Print the tiers of the re-ranker in ``args.model`` on the tuning cases, and for a range of
    thresholds the shares either tier would hold there."""
    reranker = Reranker.load(args.model)
    if reranker.settings.state or CROSS_ENCODER in reranker.settings.inputs:
        raise SystemExit("--shipped scores re-rankers of candidate features only (no state, no cross-encoder)")
    columns = [FEATURES.index(name) for name in reranker.settings.inputs]
    tune = [c for c in load_cases(args.cases, args.k, with_state=False) if c.split == "tune"]
    scores = [reranker.probabilities(c.x[:, columns]) if len(c.x) else np.zeros(0) for c in tune]
    best, right = top_of(tune, scores)
    best = np.where(np.isfinite(best), best, 0.0)  # no candidate: not found at any threshold
    answerable = np.array([c.answerable for c in tune])
    print(f"{len(tune)} tuning cases ({answerable.sum()} answerable):", json.dumps(figures(tune, scores)))
    print(json.dumps(tier_figures(best, right, answerable, reranker.answer_threshold, reranker.unsure_threshold),
                     indent=1))
    print("threshold  answerable: right at or above, wrong at or above, right best guesses kept;"
          "  unanswerable: below")
    for t in (0.02, 0.05, 0.1, 0.15, 0.2, reranker.unsure_threshold, 0.3, 0.4, 0.45, 0.5,
              reranker.answer_threshold, 0.6, 0.7):
        above = best >= t
        print(f"{t:9.3f}  {(above & right)[answerable].mean():6.3f} {(above & ~right)[answerable].mean():6.3f} "
              f"{above[answerable & right].mean():6.3f}   {(~above)[~answerable].mean():6.3f}")


def fitted_on(args: argparse.Namespace) -> str:
    sample = json.loads((args.cases / "run.json").read_text())
    train = (f"the reader's candidates for every {sample['sample_train']}. question of the SQuAD training articles, "
             "open book and with its own article left out (dev-v2.0 unanswerable ones as negatives)")
    tune = f"the same for every {sample['sample_tune']}. question of the tuning articles"
    return {"train": train, "train+tune": f"{train}, and {tune}", "tune": tune}[args.fit_on]


def fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(scale, bias) of a logistic regression of the labels on the logits (Platt, 1999)."""
    a, b = torch.ones(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    tz, ty = torch.tensor(z, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    optimiser = torch.optim.LBFGS([a, b], max_iter=200)

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a * tz + b, ty)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(a.item()), float(b.item())


def tier_figures(best: np.ndarray, right: np.ndarray, answerable: np.ndarray, answer_t: float,
                 unsure_t: float) -> dict[str, float]:
    """Shares of the tuning cases in each tier, and each tier's precision (right among them)."""
    answered = best >= answer_t
    unsure = (best >= unsure_t) & ~answered
    return {"answerable: answered right": float((answered & right)[answerable].mean()),
            "answerable: answered wrong": float((answered & ~right)[answerable].mean()),
            "answerable: right shown (answered or unsure)": float(((answered | unsure) & right)[answerable].mean()),
            "unanswerable: not answered": float((~answered)[~answerable].mean()),
            "unanswerable: not found": float((~answered & ~unsure)[~answerable].mean()),
            "answered precision": float(right[answered].mean()) if answered.any() else float("nan"),
            "unsure precision": float(right[unsure].mean()) if unsure.any() else float("nan")}


if __name__ == "__main__":
    main()
