"""Open-book SQuAD: the held-out articles as a document folder, their questions through the Assistant.

Unlike ``eval/squad.py`` no gold paragraph is given: each question is retrieved over the whole
folder (one file per article), read and answered or abstained on, exactly as ``scoqa ask`` does.
The 13 held-out articles are measured here, never tuned on; `--articles tuning` measures the
four tuning articles the same way (a folder of those four), where the tiers' thresholds may be
checked in the setting they serve. Reports the share of questions
answered right (F1 >= 0.5 against a gold answer), answered wrong, shown as "unsure" and not
found; the share whose right answer was shown (answered, or offered as an unsure possible
answer); and what answering always would have scored.

    python eval/squad_open.py --data ../shared/benchmarks/squad --out runs/squad-open [--sample 4]
        [--articles held-out|tuning]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from scoqa.answer import Assistant, AssistantSettings
from scoqa.evaluate.metrics import f1_score
from scoqa.index.build import build_index
from scoqa.retrieve import Embedder
from squad_split import TUNING_ARTICLES, held_out_articles, read_dev


def write_articles(articles: list[dict], folder: Path) -> None:
    """One text file per article: its title, then its paragraphs separated by blank lines."""
    folder.mkdir(parents=True, exist_ok=True)
    for article in articles:
        body = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        text = f"{article['title'].replace('_', ' ')}\n\n{body}\n"
        path = folder / f"{article['title']}.txt"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def best_f1(text: str | None, golds: list[str]) -> float:
    return max(f1_score(text, g) for g in golds) if text else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--out", type=Path, default=Path("runs/squad-open"),
                        help="folder for the article files, the index and report.json")
    parser.add_argument("--sample", type=int, default=1, help="ask every Nth question (1: all; 4,557 held out)")
    parser.add_argument("--articles", choices=("held-out", "tuning"), default="held-out",
                        help="the 13 held-out articles (final figures), or the 4 tuning articles")
    parser.add_argument("-k", type=int, default=AssistantSettings.k, help="passages per question")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dev = read_dev(args.data)
    if args.articles == "held-out":
        articles = held_out_articles(*dev)
    else:  # dev-v1.1's version of each tuning article, as the held-out ones are: answerable questions
        articles = [a for a in dev[0] if a["title"] in TUNING_ARTICLES]
    write_articles(articles, args.out / "docs")
    embedder = Embedder()
    build_index([args.out / "docs"], args.out / "index", embedder, progress=True)
    assistant = Assistant.open(args.out / "index", settings=AssistantSettings(k=args.k), embedder=embedder)
    items = [(qa["id"], qa["question"], [a["text"] for a in qa["answers"]])
             for a in articles for p in a["paragraphs"] for qa in p["qas"]][:: args.sample]

    rows, seconds = [], []
    for qid, question, golds in tqdm(items, desc="asking", unit="q"):
        t0 = time.perf_counter()
        answer = assistant.ask(question)
        seconds.append(time.perf_counter() - t0)
        guess = answer.text if answer.text is not None else (answer.guess.quote if answer.guess else None)
        rows.append({"id": qid, "question": question, "status": answer.status, "answer": answer.text,
                     "guess": guess, "confidence": answer.confidence, "f1": best_f1(answer.text, golds),
                     "guess_f1": best_f1(guess, golds)})
    n = len(rows)
    answered = [r for r in rows if r["answer"] is not None]
    figures = {
        "questions": n,
        "right": sum(r["f1"] >= 0.5 for r in answered) / n,
        "abstained": (n - len(answered)) / n,
        "wrong": sum(r["f1"] < 0.5 for r in answered) / n,
        "unsure": sum(r["status"] == "unsure" for r in rows) / n,
        "not_found": sum(r["status"] == "not_found" for r in rows) / n,
        "right_shown": sum(r["guess_f1"] >= 0.5 for r in rows if r["status"] in ("answered", "unsure")) / n,
        "f1_at_threshold": float(np.mean([r["f1"] for r in rows])),
        "right_answering_always": sum(r["guess_f1"] >= 0.5 for r in rows) / n,
        "f1_answering_always": float(np.mean([r["guess_f1"] for r in rows])),
        "latency_p50_ms": 1000 * float(np.percentile(seconds, 50)),
        "latency_p95_ms": 1000 * float(np.percentile(seconds, 95)),
        "threshold": assistant.threshold,
        "k": args.k,
        "sample": args.sample,
        "articles": args.articles,
    }
    (args.out / "report.json").write_text(json.dumps({"figures": figures, "questions": rows}, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
