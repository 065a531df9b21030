"""Benchmark the shipped reader on the held-out SQuAD articles.

Held out: the 13 dev-v1.1 articles that dev-v2.0 lacks (never used in training or tuning).
Every question is read with its gold paragraph. The held-out articles are SQuAD v1.1, where
every question has an answer, so the headline figure answers every question (best span) and
its predictions go to ``--predictions`` in the official format ({question id: answer text});
the figure with the shipped no-answer threshold is printed beside it, its predictions written
to ``*.abstaining.json``. EM/F1 use the official normalisation.
HasAns/NoAns figures come from the tuning articles named in the model's ``reader.json``.

    python eval/squad.py --data ../shared/benchmarks/squad --predictions preds.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from scoqa.answer.reader import MODEL_DIR, SETTINGS_FILE, Reader
from scoqa.evaluate.metrics import exact_match, f1_score
from squad_split import held_out_articles, read_dev


def score(prediction: str, golds: list[str]) -> tuple[float, float]:
    """(EM, F1) against the best-matching gold answer; no gold answers means "no answer"."""
    golds = golds or [""]
    em = max(exact_match(prediction, g) for g in golds)
    return em, max(f1_score(prediction, g) for g in golds)


def questions(articles: list[dict]) -> list[tuple[str, str, str, list[str]]]:
    """(id, question, paragraph, gold answers) for every question of the articles."""
    return [
        (qa["id"], qa["question"], para["context"],
         [] if qa.get("is_impossible") else [a["text"] for a in qa["answers"]])
        for article in articles
        for para in article["paragraphs"]
        for qa in para["qas"]
    ]


def run(reader: Reader, items: list, threshold: float, desc: str) -> tuple[dict, dict, float]:
    """Predictions with the threshold, top spans without it, and seconds spent reading."""
    thresholded, forced, seconds = {}, {}, 0.0
    for qid, question, context, _ in tqdm(items, desc=desc, unit="q"):
        t0 = time.perf_counter()
        spans = reader.read(question, [context], top_n=1)
        seconds += time.perf_counter() - t0
        top = spans[0] if spans else None
        forced[qid] = top.text if top else ""
        thresholded[qid] = top.text if top and top.confidence >= threshold else ""
    return thresholded, forced, seconds


def report(name: str, items: list, predictions: dict) -> None:
    buckets = {"all": items, "HasAns": [i for i in items if i[3]], "NoAns": [i for i in items if not i[3]]}
    for bucket, rows in buckets.items():
        if not rows:
            continue
        ems, f1s = zip(*(score(predictions[qid], golds) for qid, _, _, golds in rows))
        print(f"{name:<34} {bucket:<6} n={len(rows):<5} EM {100 * sum(ems) / len(rows):5.1f}  "
              f"F1 {100 * sum(f1s) / len(rows):5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--predictions", type=Path, required=True, help="held-out predictions (JSON)")
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--bf16", choices=["shipped", "on", "off"], default="shipped",
                        help="bf16 compute: as reader.json says, or forced")
    parser.add_argument("--limit", type=int, default=0, help="first N questions of each set (smoke runs)")
    parser.add_argument("--sample", type=int, default=1, help="every Nth question of each set (1: all)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads; 1 holds up far better when other jobs share the cores")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    overrides = {} if args.bf16 == "shipped" else {"bf16": args.bf16 == "on"}
    shipped = Reader.load(args.model, **overrides)
    # Threshold 0 keeps the top span, so one pass gives both the shipped and the forced figure.
    reader = Reader(shipped.model, shipped.tokenizer,
                    replace(shipped.settings, no_answer_threshold=0.0))
    threshold = shipped.no_answer_threshold
    tuning_titles = set(json.loads((args.model / SETTINGS_FILE).read_text())["tuning_articles"])

    v1, v2 = read_dev(args.data)
    held_out = questions(held_out_articles(v1, v2))
    tuning = questions([a for a in v2 if a["title"] in tuning_titles])
    held_out, tuning = held_out[:: args.sample], tuning[:: args.sample]
    if args.limit:
        held_out, tuning = held_out[: args.limit], tuning[: args.limit]

    preds, forced, seconds = run(reader, held_out, threshold, "held-out")
    # The held-out articles are SQuAD v1.1, where every question has an answer: the official
    # predictions answer every one; those that abstain at the threshold go beside them.
    args.predictions.parent.mkdir(parents=True, exist_ok=True)
    args.predictions.write_text(json.dumps(forced, indent=1) + "\n")
    args.predictions.with_suffix(".abstaining.json").write_text(json.dumps(preds, indent=1) + "\n")
    tune_preds, tune_forced, _ = run(reader, tuning, threshold, "tuning")

    print(f"model {args.model}  bf16 {shipped.settings.bf16}  "
          f"no-answer threshold {threshold:.4f}")
    report("held-out (shipped threshold)", held_out, preds)
    report("held-out (forced answer)", held_out, forced)
    abstained = sum(1 for qid, *_ in held_out if preds[qid] == "" and forced[qid] != "")
    print(f"held-out abstentions: {abstained}/{len(held_out)}")
    report("tuning (shipped threshold)", tuning, tune_preds)
    report("tuning (forced answer)", tuning, tune_forced)
    print(f"speed: {len(held_out) / seconds:.1f} passages/s (one gold paragraph per question)")
    batched = held_out[:40]
    contexts = sorted({c for _, _, c, _ in held_out})[:10]
    t0 = time.perf_counter()
    for _, question, _, _ in batched:
        reader.read(question, contexts)
    rate = len(batched) * len(contexts) / (time.perf_counter() - t0)
    print(f"speed: {rate:.1f} passages/s ({len(contexts)} passages per question)")


if __name__ == "__main__":
    main()
