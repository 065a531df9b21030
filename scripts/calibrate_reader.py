"""Fit the reader's confidence and no-answer threshold where scoqa works: open book.

SQuAD 2.0's unanswerable questions sit beside an adversarial paragraph; a scoqa user's
"not in the documents" is a question whose answer is nowhere in the folder. So the calibration
is fitted on the tuning articles' questions asked through the retriever over a folder of every
training and tuning article (answerable where the gold answer exists, the dev-v2.0 unanswerable
ones never), and on the same answerable questions with their own article left out of what is
read (the documents do not say). The held-out articles are never read here.

A wrong answer costs a user more than an abstention: the threshold maximises
``right - COST_OF_WRONG * wrong`` over the tuning questions' best spans. The cases hold two
unanswerable ones for each answerable question (its own article left out, and dev-v2.0's
unanswerable questions), a mix that comes from how the set is made, not from what users ask; so
the answerable and the unanswerable cases weigh half each. The fitted calibration and threshold
are written into the model's ``reader.json``; the trade-off is plotted.

Reading is the slow part (about 2 s a question on 2 cores), so every candidate's features are
kept in ``OUT/cases.npz``; ``--reuse`` refits from them without reading again.

    python scripts/calibrate_reader.py --data ../shared/benchmarks/squad [--model DIR] [--out runs/calibration]
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from squad_open import write_articles  # noqa: E402
from train_reader import CALIBRATION_L2, best_f1, fit_logistic, load_split  # noqa: E402

from scoqa.answer import AssistantSettings  # noqa: E402
from scoqa.answer.reader import MODEL_DIR, SETTINGS_FILE, Reader  # noqa: E402
from scoqa.index import open_store  # noqa: E402
from scoqa.index.build import build_index  # noqa: E402
from scoqa.retrieve import Embedder, Retriever  # noqa: E402

COST_OF_WRONG = 2.0
SETTINGS = ("open", "left_out")


def tradeoff(confidence: np.ndarray, right: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate threshold (every observed confidence), the weighted shares answered
    right and answered wrong when answering at or above it."""
    thresholds = np.unique(np.r_[confidence, 1.0 + 1e-9])
    answered = confidence[None, :] >= thresholds[:, None]
    weight = weight / weight.sum()
    return thresholds, (answered & right) @ weight, (answered & ~right) @ weight


def read_cases(args, reader: Reader, tune) -> dict[str, np.ndarray]:
    """Every candidate's features and label, and for each case (a question in one setting) its
    setting and its rows: ask the tuning questions through the retriever over the training
    and tuning articles, then again without their own article."""
    v2 = json.loads((args.data / "dev-v2.0.json").read_text())["data"]
    write_articles(v2, args.out / "docs")  # training and tuning articles only: v2 lacks the held-out ones
    embedder = Embedder()
    build_index([args.out / "docs"], args.out / "index", embedder, progress=True)
    retriever = Retriever(open_store(args.out / "index"), embedder)
    features, labels, cases = [], [], []  # cases: (setting, question index, first candidate row, rows)
    for i, example in enumerate(tqdm(tune, desc="reading", unit="q")):
        hits = retriever.search(example.question, k=4 * args.k)
        own = f"{example.title}.txt"
        for s, setting in enumerate(SETTINGS):
            if setting == "left_out" and example.impossible:
                continue  # already a question the documents do not answer
            chosen = hits if setting == "open" else [h for h in hits if h.chunk.source != own]
            passages = [h.chunk.text for h in chosen[: args.k]]
            cands = reader.candidates(example.question, passages)
            first = len(features)
            for cand in cands:
                features.append(cand.features)
                right = setting == "open" and not example.impossible and best_f1(cand.text, example) >= 0.5
                labels.append(float(right))
            cases.append((s, i, first, len(cands)))
    return {"features": np.array(features), "labels": np.array(labels), "cases": np.array(cases, dtype=np.int64),
            "questions": np.array([e.id for e in tune])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="reader folder; its reader.json is rewritten")
    parser.add_argument("--out", type=Path, default=Path("runs/calibration"))
    parser.add_argument("-k", type=int, default=AssistantSettings.k, help="passages read per question, as the Assistant reads")
    parser.add_argument("--sample", type=int, default=1, help="every Nth tuning question (1: all 1,404)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dry-run", action="store_true", help="report, but leave reader.json as it is")
    parser.add_argument("--reuse", action="store_true", help="refit from OUT/cases.npz instead of reading again")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    _, tune = load_split(args.data)
    tune = tune[:: args.sample]
    saved = args.out / "cases.npz"
    reader = Reader.load(args.model)
    if args.reuse:
        cases = dict(np.load(saved))
        if cases["questions"].tolist() != [e.id for e in tune]:
            raise SystemExit(f"{saved} holds other questions; read again without --reuse (or use its --sample)")
    else:
        cases = read_cases(args, reader, tune)
        args.out.mkdir(parents=True, exist_ok=True)
        np.savez(saved, **cases)
    x, y = cases["features"], cases["labels"]
    tops = [(SETTINGS[s], i, first, count) for s, i, first, count in cases["cases"].tolist()]

    weights = fit_logistic(x, y, CALIBRATION_L2)
    calibrated = Reader(reader.model, reader.tokenizer, replace(reader.settings, calibration=tuple(map(float, weights))))
    confidence = np.array([calibrated.confidence(f) for f in x])
    best_conf, best_right = [], []
    for _, _, first, count in tops:
        if count == 0:
            best_conf.append(0.0)
            best_right.append(False)
        else:
            j = first + int(np.argmax(confidence[first:first + count]))
            best_conf.append(confidence[j])
            best_right.append(bool(y[j]))
    best_conf, best_right = np.array(best_conf), np.array(best_right)
    answerable_open = np.array([s == "open" and not tune[i].impossible for s, i, _, _ in tops])
    unanswerable = ~answerable_open
    weight = np.where(answerable_open, 0.5 / answerable_open.sum(), 0.5 / unanswerable.sum())
    thresholds, right, wrong = tradeoff(best_conf, best_right, weight)
    utility = right - COST_OF_WRONG * wrong
    t = int(np.argmax(utility))
    threshold = float(thresholds[t])

    answered = best_conf >= threshold
    figures = {
        "questions": len(tune),
        "cases": {"answerable (open book)": int(answerable_open.sum()),
                  "unanswerable (dev-v2.0 or own article left out)": int(unanswerable.sum())},
        "threshold": threshold,
        "utility (right - 2 wrong, answerable and unanswerable weighing half each)": float(utility[t]),
        "answerable: right": float((answered & best_right)[answerable_open].mean()),
        "answerable: abstained": float((~answered)[answerable_open].mean()),
        "answerable: wrong": float((answered & ~best_right)[answerable_open].mean()),
        "answerable: right answering always": float(best_right[answerable_open].mean()),
        "unanswerable: abstained": float((~answered)[unanswerable].mean()),
        "calibration": [float(w) for w in weights],
        "k": args.k,
        "sample": args.sample,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))
    plot(thresholds, right, wrong, utility, threshold, args.out / "tradeoff.png")
    if not args.dry_run:
        settings_file = args.model / SETTINGS_FILE
        stored = json.loads(settings_file.read_text())
        stored |= {"calibration": figures["calibration"], "no_answer_threshold": threshold,
                   "calibrated_on": "open book: tuning articles through the retriever, own article left out, "
                                    f"k={args.k}, every {args.sample}. question, right - {COST_OF_WRONG:g} x wrong, "
                                    "answerable and unanswerable weighing half each"}
        settings_file.write_text(json.dumps(stored, indent=2) + "\n")
        print(f"wrote {settings_file}")


def plot(thresholds, right, wrong, utility, chosen: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(thresholds, right, label="answered right")
    ax.plot(thresholds, wrong, label="answered wrong")
    ax.plot(thresholds, 1 - right - wrong, label="abstained")
    ax.plot(thresholds, utility, label=f"right - {COST_OF_WRONG:g} x wrong", linestyle="--")
    ax.axvline(chosen, color="grey", linewidth=0.8)
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("share of cases (weighted)")
    ax.set_title("Open-book abstention trade-off (tuning articles)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
