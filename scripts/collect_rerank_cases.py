"""Collect the reader's own candidates, open book, as training cases for the answer re-ranker.

Each SQuAD question of the training and tuning articles is asked as scoqa asks it: planned
(``scoqa.question.plan``), retrieved over a folder of every training and tuning article, its
passages selected, read. Every case keeps the reader's best spans of each passage read (at most
``--per-passage``, non-overlapping, as ``Reader.read`` returns them) with the reader's scores
and its hidden state at each span, and a label: right when the span's F1 against a gold answer
is at least 0.5 (Iyer et al., "ReConsider", NAACL 2021, label a reader's top predictions the
same way). A case is read twice: "open", over the retrieved passages, and "left_out", with the
question's own article taken out of what is read, so the documents do not say; dev-v2.0's
unanswerable questions are read open and are negatives throughout. The held-out articles are
never read here.

Reading is the slow part (about a second a question on 2 cores), so the cases are written in
shards of ``--shard`` questions; a rerun resumes after the last complete shard and reads exactly
the questions it would have read. The same question order, sample and settings are required
to resume (they are checked against ``OUT/run.json``).

    python scripts/collect_rerank_cases.py --data ../shared/benchmarks/squad --out runs/rerank-cases \\
        [--sample-train 8] [--sample-tune 1] [-k 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from squad_open import write_articles  # noqa: E402
from train_reader import Example, best_f1, load_split  # noqa: E402

from scoqa.index.build import build_index  # noqa: E402
from scoqa.retrieve.embed import Embedder  # noqa: E402
from scoqa.answer.question import plan  # noqa: E402
from scoqa.answer.reader import Reader  # noqa: E402
from scoqa.retrieve.retriever import Retriever  # noqa: E402
from scoqa.index.registry import open_store  # noqa: E402

SETTINGS = ("open", "left_out")


def questions(data: Path, sample_train: int, sample_tune: int) -> list[tuple[str, Example]]:
    """(split, example) in a fixed order: every Mth tuning question, then every Nth training one
    (the tuning cases first: they choose the re-ranker, and a cut-short run still has them)."""
    train, tune = load_split(data)
    return [("tune", e) for e in tune[::sample_tune]] + [("train", e) for e in train[::sample_train]]


def read_case(reader: Reader, retriever: Retriever, example: Example, k: int, per_passage: int) -> list[dict]:
    """The cases of one question (open, and left out when it is answerable): for each, the
    passages read with their retrieval scores, and the candidates with their labels."""
    asked = plan(example.question)
    retrieved = retriever.search(asked.search_query, k=4 * asked.depth(k))
    own = f"{example.title}.txt"
    chosen = {"open": asked.select(retrieved, k)}
    if not example.impossible:
        chosen["left_out"] = asked.select([h for h in retrieved if h.chunk.source != own], k)
    union: list[str] = []
    for hits in chosen.values():
        for h in hits:
            if h.chunk.text not in union:
                union.append(h.chunk.text)
    spans = reader.read(example.question, union, top_n=10**6, threshold=0.0)
    by_passage: dict[int, list] = {}
    for span in spans:  # most confident first
        kept = by_passage.setdefault(span.passage_index, [])
        if len(kept) < per_passage:
            kept.append(span)
    cases = []
    for setting, hits in chosen.items():
        passages = [{"source": h.chunk.source, "start": h.chunk.start, "text": h.chunk.text, "score": h.score,
                     "dense": h.dense, "bm25": h.bm25} for h in hits]
        candidates = []
        for rank, h in enumerate(hits):
            for span in by_passage.get(union.index(h.chunk.text), []):
                f1 = 0.0 if setting == "left_out" or example.impossible else best_f1(span.text, example)
                candidates.append({"passage": rank, "start": span.start, "end": span.end, "text": span.text,
                                   "confidence": span.confidence, "features": list(span.features),
                                   "f1": f1, "state": span.state})
        cases.append({"setting": setting, "passages": passages, "candidates": candidates,
                      "listing": asked.listing})
    return cases


def write_shard(path: Path, rows: list[dict]) -> None:
    """One shard: the cases as JSON lines, the candidates' states as one float16 array in their order."""
    states = [c.pop("state") for r in rows for c in r["candidates"]]
    array = np.stack(states).astype(np.float16) if states else np.zeros((0, 3, 1), np.float16)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, states=array)
    (path.with_suffix(".jsonl")).write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.rename(path.with_suffix(".npz"))  # the npz marks the shard complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--out", type=Path, default=Path("runs/rerank-cases"))
    parser.add_argument("--sample-train", type=int, default=8, help="every Nth training-article question")
    parser.add_argument("--sample-tune", type=int, default=1, help="every Mth tuning-article question")
    parser.add_argument("-k", type=int, default=3, help="passages read per question (a list question reads its own)")
    parser.add_argument("--per-passage", type=int, default=10, help="candidates kept per passage read")
    parser.add_argument("--shard", type=int, default=100, help="questions a shard")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    run = {k: str(v) for k, v in vars(args).items() if k not in ("out", "threads")}
    args.out.mkdir(parents=True, exist_ok=True)
    run_file = args.out / "run.json"
    if run_file.exists() and json.loads(run_file.read_text()) != run:
        raise SystemExit(f"{args.out} holds another run ({run_file}); choose another --out")
    run_file.write_text(json.dumps(run, indent=1) + "\n")

    items = questions(args.data, args.sample_train, args.sample_tune)
    v2 = json.loads((args.data / "dev-v2.0.json").read_text())["data"]
    write_articles(v2, args.out / "docs")  # training and tuning articles only: v2 lacks the held-out ones
    embedder = Embedder()
    build_index([args.out / "docs"], args.out / "index", embedder, progress=True)
    retriever = Retriever(open_store(args.out / "index"), embedder)
    reader = Reader.load()

    shards = range(0, len(items), args.shard)
    done = [s for s in shards if (args.out / f"shard-{s // args.shard:04d}.npz").exists()]
    print(f"{len(items)} questions in {len(shards)} shards; {len(done)} done", flush=True)
    bar = tqdm(total=len(items), initial=len(done) * args.shard, desc="reading", unit="q")
    for s in shards:
        path = args.out / f"shard-{s // args.shard:04d}.npz"
        if path.exists():
            continue
        t0 = time.perf_counter()
        rows = []
        for split, example in items[s:s + args.shard]:
            for case in read_case(reader, retriever, example, args.k, args.per_passage):
                rows.append({"id": example.id, "split": split, "title": example.title, "question": example.question,
                             "answers": list(example.answers), **case})
            bar.update(1)
        write_shard(path, rows)
        print(f"shard {path.name}: {len(rows)} cases in {time.perf_counter() - t0:.0f} s", flush=True)
    bar.close()


if __name__ == "__main__":
    main()
