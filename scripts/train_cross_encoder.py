"""Train the span-marked cross-encoder (``scoqa.answer.cross_encoder``) on the reader's own
right and wrong candidates, and score the re-ranker's cases with it.

Four steps, each a subcommand; ``collect``, ``train`` and ``score`` are minutes on a GPU
(``--device cuda``), hours on 2 CPU cores:

* ``export``: the open-book re-ranker cases (``scripts/collect_rerank_cases.py``) as cases of
  marked contexts: one line per case, its candidates in the reader's order.
* ``collect``: every question of the training articles read by the shipped reader over its own
  paragraph and the two paragraphs of its article that share most of its words and hold no
  gold answer (``train_reader.distractors_of``): the reader's first ``--per-case`` candidates,
  right when their F1 with a gold answer is at least 0.5 (ReConsider's label). Unanswerable
  questions give wrong candidates only. ``--part I --parts N`` reads every Nth question, so N
  processes share one GPU.
* ``train``: new low-rank adapters and a one-logit head on the reader's encoder, binary
  cross-entropy over the training cases' candidates; after each epoch the tuning cases (open
  book, tuning articles only) are scored: how often the best-scored candidate is right among
  the cases that have a right one, against the reader's own first candidate. The best epoch is
  saved to ``OUT/best``, the last to ``OUT/last``. A checkpoint every few minutes
  (``OUT/checkpoint.pt``) lets ``--resume`` continue exactly where a stopped run was.
* ``score``: one logit per candidate of the exported cases (``.npy``, in the file's order), for
  ``scripts/train_reranker.py``.

    python scripts/train_cross_encoder.py export --cases runs/rerank-cases --out runs/cross/cases.jsonl.gz
    python scripts/train_cross_encoder.py collect --data ../shared/benchmarks/squad --out runs/cross/train-0.jsonl.gz
    python scripts/train_cross_encoder.py train --cases runs/cross/train-*.jsonl.gz runs/cross/cases.jsonl.gz --out runs/cross/model
    python scripts/train_cross_encoder.py score --cases runs/cross/cases.jsonl.gz --model runs/cross/model/best --out runs/cross/scores.npy
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_reader import best_f1, distractors_of, load_split  # noqa: E402

from scoqa.answer.cross_encoder import MAX_LENGTH, CrossEncoder, marked_context, sequence_classifier  # noqa: E402
from scoqa.answer.reader import MODEL_DIR as READER_DIR  # noqa: E402
from scoqa.answer.reader import SETTINGS_FILE, Reader, ReaderSettings, merged_reader  # noqa: E402

RIGHT_F1 = 0.5  # ReConsider's label: a candidate is right when its F1 with a gold answer is >= 0.5


def read_cases(paths: list[Path]) -> list[dict]:
    cases = []
    for path in paths:
        with gzip.open(path, "rt") as fh:
            cases.extend(json.loads(line) for line in fh)
    return cases


def write_cases(path: Path, cases: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(c) + "\n" for c in cases)


def export(args: argparse.Namespace) -> None:
    cases = []
    for shard in sorted(args.cases.glob("shard-*.jsonl")):
        for row, line in enumerate(shard.read_text().splitlines()):
            case = json.loads(line)
            passages = [p["text"] for p in case["passages"]]
            cands = case["candidates"]
            cases.append({"key": f"{shard.stem}:{row}", "split": case["split"], "setting": case["setting"],
                          "question": case["question"],
                          "contexts": [marked_context(passages[c["passage"]], c["start"], c["end"]) for c in cands],
                          "labels": [int(c["f1"] >= RIGHT_F1) for c in cands],
                          "confidence": [c["confidence"] for c in cands]})
    write_cases(args.out, cases)
    print(f"{len(cases)} cases, {sum(len(c['labels']) for c in cases)} candidates -> {args.out}")


def load_reader(base: Path | None, device: str) -> Reader:
    """The shipped reader over `base` (default: the packaged base), on `device`."""
    model, tokenizer = merged_reader(READER_DIR, base)
    return Reader(model.to(device), tokenizer, ReaderSettings.from_json(READER_DIR / SETTINGS_FILE))


def collect(args: argparse.Namespace) -> None:
    train, _ = load_split(args.data)
    others = distractors_of(train, 2)
    mine = train[args.part::args.parts][: args.limit or None]
    reader = load_reader(args.base, args.device)
    cases, t0 = [], time.perf_counter()
    for n, e in enumerate(mine):
        if args.seconds and time.perf_counter() - t0 > args.seconds:
            print(f"part {args.part}: stopped by --seconds after {n} of {len(mine)} questions", flush=True)
            break
        passages = [e.context, *others[e.id]]
        spans = reader.read(e.question, passages, top_n=args.per_case, threshold=0.0)
        cases.append({"key": e.id, "split": "train", "setting": "distractors", "question": e.question,
                      "contexts": [marked_context(passages[s.passage_index], s.start, s.end) for s in spans],
                      "labels": [int(not e.impossible and s.passage_index == 0 and best_f1(s.text, e) >= RIGHT_F1)
                                 for s in spans],
                      "confidence": [s.confidence for s in spans]})
    write_cases(args.out, cases)
    print(f"part {args.part}: {len(cases)} cases in {time.perf_counter() - t0:.0f} s -> {args.out}", flush=True)


def first_right(scores: list[np.ndarray], cases: list[dict]) -> float:
    """Share of the cases with a right candidate whose best-scored candidate is right."""
    hits = [c["labels"][int(np.argmax(s))] for s, c in zip(scores, cases) if any(c["labels"])]
    return float(np.mean(hits)) if hits else float("nan")


def score_cases(encoder: CrossEncoder, cases: list[dict]) -> list[np.ndarray]:
    return [encoder.score(c["question"], c["contexts"]) for c in cases]


# Arguments a resumed run must share with the run it continues.
RUN_DEFINING = ("cases", "base", "epochs", "lr", "rank", "batch", "seed", "tune_limit", "max_steps")


def train(args: argparse.Namespace) -> None:
    """Train, checkpointing every ``--checkpoint-minutes`` and at each epoch's end (trainable
    weights, optimizer, scheduler, the epoch's order and position, every RNG: ``--resume``
    continues exactly where the run stopped)."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from train_reader import Checkpoint

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    cases = read_cases(args.cases)
    train_cases = [c for c in cases if c["split"] == "train"]
    tune_cases = [c for c in cases if c["split"] == "tune" and c["setting"] == "open"][: args.tune_limit or None]
    pairs = [(c["question"], ctx, y) for c in train_cases for ctx, y in zip(c["contexts"], c["labels"])]
    print(f"{len(train_cases)} training cases, {len(pairs)} candidates ({sum(p[2] for p in pairs)} right); "
          f"{len(tune_cases)} tuning cases", flush=True)
    reader_first = first_right([-np.arange(len(c["labels"]), dtype=float) for c in tune_cases], tune_cases)
    print(f"tuning: the reader's first candidate right in {reader_first:.4f} of the cases with a right one", flush=True)

    model, tokenizer = sequence_classifier(args.base, READER_DIR)
    targets = [name for name, module in model.named_modules()  # the encoder's linear layers, not the head
               if isinstance(module, torch.nn.Linear) and name.startswith(f"{model.base_model_prefix}.")]
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.1,
                        target_modules=targets)
    model = get_peft_model(model, config).to(args.device)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW(trainable.values(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * math.ceil(len(pairs) / args.batch)
    if args.max_steps:
        steps = min(steps, args.max_steps)
    warm = max(1, int(0.06 * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    lengths = [len(tokenizer(q, c)["input_ids"]) for q, c, _ in pairs[:2000]]
    print(f"inputs within {MAX_LENGTH} tokens: {np.mean(np.array(lengths) <= MAX_LENGTH):.3f} (first 2,000)", flush=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    encoder = CrossEncoder(model, tokenizer, bf16=args.device == "cuda")
    run = {k: str(getattr(args, k)) for k in RUN_DEFINING}
    checkpoint = Checkpoint(args.out / "checkpoint.pt")
    at = {"epoch": 1, "position": 0, "order": None, "step": 0, "loss_sum": 0.0, "best": -1.0, "history": []}
    saved = checkpoint.load() if args.resume else None
    if saved is not None:
        if saved["run"] != run:
            raise SystemExit(f"{checkpoint.path} is of another run: {saved['run']}")
        with torch.no_grad():
            for name, value in saved["weights"].items():
                trainable[name].copy_(value)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        random.setstate(saved["rng"]["python"])
        np.random.set_state(saved["rng"]["numpy"])
        torch.set_rng_state(saved["rng"]["torch"])
        at = saved["at"]
        print(f"resumed at epoch {at['epoch']}, step {at['step']}", flush=True)

    def save_checkpoint() -> None:
        checkpoint.save({"run": run, "at": at, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                         "weights": {n: p.detach().clone() for n, p in trainable.items()},
                         "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                                 "torch": torch.get_rng_state()}})

    t0 = last_save = time.perf_counter()
    while at["epoch"] <= args.epochs and at["step"] < steps:
        if at["order"] is None:
            at["order"] = list(range(len(pairs)))
            random.shuffle(at["order"])
        model.train()
        order = at["order"]
        while at["position"] < len(order) and at["step"] < steps:
            if args.seconds and time.perf_counter() - t0 > args.seconds:
                break
            batch = [pairs[j] for j in order[at["position"]:at["position"] + args.batch]]
            enc = tokenizer([b[0] for b in batch], [b[1] for b in batch], truncation="only_second",
                            max_length=MAX_LENGTH, padding=True, return_tensors="pt")
            inputs = {n: enc[n].to(args.device) for n in tokenizer.model_input_names if n in enc}
            labels = torch.tensor([float(b[2]) for b in batch], device=args.device)
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.device == "cuda"):
                logits = model(**inputs).logits.reshape(-1)
            loss = loss_fn(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable.values(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            at["loss_sum"] += loss.item()
            at["step"] += 1
            at["position"] += args.batch
            if at["step"] % 200 == 0:
                print(f"epoch {at['epoch']} step {at['step']}/{steps} loss "
                      f"{at['loss_sum'] / (at['position'] // args.batch):.4f} {time.perf_counter() - t0:.0f} s", flush=True)
            if time.perf_counter() - last_save > 60 * args.checkpoint_minutes:
                save_checkpoint()
                last_save = time.perf_counter()
        stopped = args.seconds and time.perf_counter() - t0 > args.seconds
        if stopped:
            print(f"stopped by --seconds at step {at['step']}", flush=True)
        model.eval()
        right = first_right(score_cases(encoder, tune_cases), tune_cases)
        at["history"].append({"epoch": at["epoch"], "step": at["step"], "tuning_first_right": right})
        print(f"epoch {at['epoch']}: tuning first candidate right {right:.4f} (reader {reader_first:.4f}) "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        if right > at["best"]:
            at["best"] = right
            model.save_pretrained(args.out / "best")
        if stopped:
            break
        at.update(epoch=at["epoch"] + 1, position=0, order=None, loss_sum=0.0)
        save_checkpoint()
        last_save = time.perf_counter()
    model.save_pretrained(args.out / "last")
    (args.out / "history.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                       "reader_first_right": reader_first,
                                                       "history": at["history"]}, indent=1) + "\n")


def score(args: argparse.Namespace) -> None:
    loaded = CrossEncoder.load(args.model, base=args.base)
    encoder = CrossEncoder(loaded.model.to(args.device), loaded.tokenizer,
                           bf16=args.device == "cuda" or loaded.bf16)
    cases = read_cases([args.cases])
    t0 = time.perf_counter()
    logits = np.concatenate([s for s in score_cases(encoder, cases)] or [np.zeros(0)])
    np.save(args.out, logits.astype(np.float32))
    print(f"{len(logits)} candidates of {len(cases)} cases scored in {time.perf_counter() - t0:.0f} s -> {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("export")
    p.add_argument("--cases", type=Path, default=Path("runs/rerank-cases"))
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("collect")
    p.add_argument("--data", type=Path, required=True, help="the squad folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--part", type=int, default=0)
    p.add_argument("--parts", type=int, default=1)
    p.add_argument("--per-case", type=int, default=10, help="candidates kept per question")
    p.add_argument("--limit", type=int, default=0, help="first N questions of this part (smoke runs)")
    p.add_argument("--seconds", type=float, default=0, help="stop reading after this long and write what is read")
    p = sub.add_parser("train")
    p.add_argument("--cases", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--tune-limit", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0, help="stop training after this long (then score and save)")
    p.add_argument("--max-steps", type=int, default=0, help="train this many steps at most (the schedule too)")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p = sub.add_parser("score")
    p.add_argument("--cases", type=Path, required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    for p in sub.choices.values():
        p.add_argument("--base", type=Path, default=None, help="the MPNet base folder (default: the packaged one)")
        p.add_argument("--device", default="cpu")
        p.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.step != "export":
        import torch

        torch.set_num_threads(args.threads)
        if args.base is None and args.step == "train":
            from scoqa.packaged import mpnet_folder

            args.base = mpnet_folder()
    {"export": export, "collect": collect, "train": train, "score": score}[args.step](args)


if __name__ == "__main__":
    main()
