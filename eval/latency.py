"""Warm answer latency: how long `Assistant.ask` takes per question, models already loaded.

Indexes the corpus into a scratch folder (once; reused while the corpus is unchanged), loads
the Assistant with the shipped reader and re-ranker, asks one untimed question to warm up,
then asks every gold question `--rounds` times and prints p50/p95/mean for the whole answer
and, in a pass of their own, for its costly stages (retrieval, reading all k passages, and
re-ranking the reader's candidates).

    python eval/latency.py --data corpus --gold eval/gold.jsonl [--threads 2]
        [--compare-batch 32] [--compare-runtime torch]

`--compare-batch N` also times the reader reading N windows a forward pass instead of its own
`batch_size`, alternating the two round by round: this machine's timings wander by a fifth from
one run to the next, so two settings are compared within one run.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from scoqa.answer import Assistant, AssistantSettings
from scoqa.answer.reader import Reader
from scoqa.answer.rerank import DEPTH, Reranker
from scoqa.index.build import build_index
from scoqa.index.folder import FolderStore
from scoqa.retrieve import Retriever
from scoqa.retrieve.embed import DEFAULT_MODEL, Embedder


def percentiles(ms: list[float]) -> str:
    a = np.array(ms)
    return f"p50 {np.percentile(a, 50):6.1f} ms  p95 {np.percentile(a, 95):6.1f} ms  mean {a.mean():6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("corpus"), help="the document folder")
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"), help="questions (JSON lines)")
    parser.add_argument("--workdir", type=Path, default=Path(".scoqa/latency"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-k", type=int, default=AssistantSettings.k, help="passages read per question")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compare-batch", type=int, metavar="N",
                        help="also time reading N windows a pass, alternating with the reader's own")
    parser.add_argument("--compare-runtime", choices=("torch", "onnx"),
                        help="also time the reader in this runtime (scoqa.answer.exported), alternating with the "
                             "shipped one's")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.compare_batch is not None and args.compare_batch < 1:
        parser.error("--compare-batch: at least one window a pass")

    torch.set_num_threads(args.threads)
    folder = args.workdir / "index"
    embedder = Embedder(DEFAULT_MODEL)  # one model for building and asking, as in `scoqa ask`
    build_index([args.data], folder, embedder, progress=False)
    index = FolderStore.open(folder)
    assistant = Assistant(Retriever(index, embedder), Reader.load(), AssistantSettings(k=args.k), Reranker.load())
    questions = [json.loads(line)["question"] for line in args.gold.read_text().splitlines() if line.strip()]
    assistant.ask(questions[0])  # loads the models; not timed

    shipped = assistant.reader
    readers = {f"batch {shipped.settings.batch_size}": shipped}
    if args.compare_batch and args.compare_batch != shipped.settings.batch_size:
        readers[f"batch {args.compare_batch}"] = Reader(shipped.model, shipped.tokenizer,
                                                        replace(shipped.settings, batch_size=args.compare_batch))
    if args.compare_runtime and args.compare_runtime != shipped.compute.split()[0]:
        other = Reader.load(runtime=args.compare_runtime)
        readers[other.compute] = other
    totals: dict[str, list[float]] = {name: [] for name in readers}
    for round_ in range(args.rounds):
        for name in list(readers)[:: 1 if round_ % 2 == 0 else -1]:
            assistant.reader = readers[name]
            for question in questions:
                t0 = time.perf_counter()
                assistant.ask(question)
                totals[name].append((time.perf_counter() - t0) * 1000)
    assistant.reader = shipped
    total = next(iter(totals.values()))
    retrieval, reading, reranking = [], [], []
    # The stages apart, in a pass of their own: reading here covers all k passages, where an
    # answer reads the first two and the rest only when those hold nothing good enough; the
    # re-ranker weighs the reader's DEPTH most confident spans of them.
    for question in questions:
        t0 = time.perf_counter()
        hits = assistant.retriever.search(question, k=args.k)
        t1 = time.perf_counter()
        passages = [h.chunk.text for h in hits]
        spans = assistant.reader.read(question, passages, top_n=DEPTH, threshold=0.0)
        t2 = time.perf_counter()
        assistant.reranker.rerank(question, spans, passages, [h.score for h in hits])
        retrieval.append((t1 - t0) * 1000)
        reading.append((t2 - t1) * 1000)
        reranking.append((time.perf_counter() - t2) * 1000)

    compute = shipped.compute
    print(f"{len(questions)} questions x {args.rounds} rounds, {len(index)} chunks, k={args.k}, "
          f"{args.threads} threads, reader {compute}, {platform.processor() or platform.machine()}")
    print(f"answer          {percentiles(total)}")
    for name, ms in list(totals.items())[1:]:
        print(f"  with {name:9} {percentiles(ms)}  (alternating with the shipped reader)")
    print(f"  retrieve      {percentiles(retrieval)}")
    print(f"  read all k    {percentiles(reading)}")
    print(f"  re-rank       {percentiles(reranking)}")
    if args.json:
        figures = {name: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
                   for name, v in (("answer", total), ("retrieve", retrieval), ("read", reading),
                                         ("rerank", reranking))}
        args.json.write_text(json.dumps({"threads": args.threads, "compute": compute, "k": args.k,
                                         "questions": len(questions), "rounds": args.rounds, **figures}, indent=2))


if __name__ == "__main__":
    main()
