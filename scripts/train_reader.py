"""Train scoqa's extractive reader on the SQuAD dev sets, split by article.

Split (fixed, ``eval/squad_split.py``): the 13 dev-v1.1 articles that dev-v2.0 lacks are the
held-out benchmark and are never read here. Of the other 35 articles, TUNING_ARTICLES are kept
apart for per-epoch scores, the confidence calibration and the no-answer threshold; the rest
train the model. Training uses every dev-v2.0 question on the training articles (answerable and
unanswerable) plus the few dev-v1.1 questions dev-v2.0 dropped.

The script writes the shipped model folder: fp16 weights, tokenizer, ``reader.json`` (decoding
settings, calibration, threshold) and ``MODEL_CARD.md``; it logs loss and tuning F1 per epoch.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import math
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from scoqa.answer.reader import ADAPTER_WEIGHTS, HEAD, MODEL_DIR, SETTINGS_FILE, Candidate, Reader, ReaderSettings
from scoqa.evaluate.metrics import exact_match, f1_score
from scoqa.packaged import MPNET, mpnet_folder
from scoqa.text import FUNCTION_WORDS, TOKEN

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from squad_split import TUNING_ARTICLES, development_articles, read_dev  # noqa: E402

CALIBRATION_L2 = 1e-3


@dataclass(frozen=True)
class Example:
    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]

    @property
    def impossible(self) -> bool:
        return not self.answers


def load_split(data: Path) -> tuple[list[Example], list[Example]]:
    """Training and tuning examples; the held-out articles are never read (`development_articles`)."""
    articles = development_articles(*read_dev(data))
    examples: dict[str, Example] = {}
    for article in articles:  # dev-v2.0 first: its version of a question wins
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if qa["id"] in examples:
                    continue
                examples[qa["id"]] = Example(
                    qa["id"],
                    article["title"],
                    qa["question"],
                    para["context"],
                    tuple(a["text"] for a in qa["answers"]) if not qa.get("is_impossible") else (),
                    tuple(a["answer_start"] for a in qa["answers"])
                    if not qa.get("is_impossible")
                    else (),
                )
    missing = set(TUNING_ARTICLES) - {article["title"] for article in articles}
    assert not missing, f"tuning articles not in dev-v2.0: {missing}"
    train = [e for e in examples.values() if e.title not in TUNING_ARTICLES]
    tune = [e for e in examples.values() if e.title in TUNING_ARTICLES]
    return train, tune


def best_f1(prediction: str, example: Example) -> float:
    golds = example.answers or ("",)
    return max(f1_score(prediction, g) for g in golds)


def exact(prediction: str, example: Example) -> float:
    golds = example.answers or ("",)
    return max(exact_match(prediction, g) for g in golds)


def content_words(text: str) -> set[str]:
    return {w for w in TOKEN.findall(text.lower()) if w not in FUNCTION_WORDS}


def distractors_of(examples: list[Example], n: int) -> dict[str, list[str]]:
    """For each question (by id), the `n` other paragraphs of its article that share most of its
    content words and hold none of its gold answers' text.

    scoqa reads several retrieved passages and answers from the most confident span, so the
    reader must say "no answer" in a passage on the right topic that does not hold the answer;
    SQuAD pairs every question with its own paragraph only."""
    paragraphs: dict[str, list[str]] = {}
    for e in examples:
        if e.context not in paragraphs.setdefault(e.title, []):
            paragraphs[e.title].append(e.context)
    words = {p: content_words(p) for ps in paragraphs.values() for p in ps}
    chosen = {}
    for e in examples:
        asked = content_words(e.question)
        others = [p for p in paragraphs[e.title]
                  if p != e.context and not any(a.lower() in p.lower() for a in e.answers)]
        others.sort(key=lambda p: -len(asked & words[p]))  # stable: ties keep article order
        chosen[e.id] = others[:n]
    return chosen


def with_distractors(examples: list[Example], n: int) -> list[Example]:
    """The questions again, each over its distractor paragraphs, where it has no answer."""
    if n == 0:
        return []
    chosen = distractors_of(examples, n)
    return [Example(f"{e.id}-distractor{j}", e.title, e.question, p, (), ())
            for e in examples for j, p in enumerate(chosen[e.id])]


def featurize(tokenizer, examples: list[Example], max_length: int, stride: int) -> list[dict]:
    """Windows with their answer token positions; [CLS] (0, 0) when no answer is in the window.

    Each window keeps only the inputs the model takes (``tokenizer.model_input_names``, less
    the attention mask that `collate` builds): MPNet has no token type ids."""
    enc = tokenizer(
        [e.question for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    inputs = [name for name in tokenizer.model_input_names if name != "attention_mask"]
    windows = []
    for w in range(len(enc["input_ids"])):
        ex = examples[enc["overflow_to_sample_mapping"][w]]
        start_pos = end_pos = 0
        if not ex.impossible:
            a = ex.starts[0]
            b = a + len(ex.answers[0])
            seq = enc.sequence_ids(w)
            offsets = enc["offset_mapping"][w]
            ctx = [i for i, s in enumerate(seq) if s == 1]
            if offsets[ctx[0]][0] <= a and offsets[ctx[-1]][1] >= b:
                start_pos = next(i for i in ctx if offsets[i][1] > a)
                end_pos = next(i for i in reversed(ctx) if offsets[i][0] < b)
        windows.append({**{name: enc[name][w] for name in inputs}, "start": start_pos, "end": end_pos})
    return windows


def length_grouped_batches(
    windows: list[dict], batch_size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Shuffled batches of similar length, so dynamic padding wastes little compute."""
    order = rng.permutation(len(windows))
    mega = batch_size * 50
    batches = []
    for i in range(0, len(order), mega):
        chunk = sorted(order[i : i + mega], key=lambda w: -len(windows[w]["input_ids"]))
        batches += [[int(w) for w in chunk[j : j + batch_size]] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(windows: list[dict], batch: list[int], pad_id: int, device: str) -> dict:
    width = max(len(windows[w]["input_ids"]) for w in batch)
    names = [k for k in windows[batch[0]] if k not in ("start", "end")]
    tensors = {name: torch.full((len(batch), width), pad_id if name == "input_ids" else 0, dtype=torch.long)
               for name in names}
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, w in enumerate(batch):
        n = len(windows[w]["input_ids"])
        for name in names:
            tensors[name][row, :n] = torch.tensor(windows[w][name])
        mask[row, :n] = 1
    return {
        **{name: t.to(device) for name, t in tensors.items()},
        "attention_mask": mask.to(device),
        "start_positions": torch.tensor([windows[w]["start"] for w in batch], device=device),
        "end_positions": torch.tensor([windows[w]["end"] for w in batch], device=device),
    }


def collect_candidates(reader: Reader, examples: list[Example]) -> list[list[Candidate]]:
    return [reader.candidates(e.question, [e.context]) for e in examples]


def threshold_sweep(
    scores: np.ndarray, f1s: np.ndarray, impossible: np.ndarray
) -> tuple[float, float]:
    """Best overall F1 over no-answer thresholds on the top span's score (SQuAD 2.0 style).

    A question scores its span's F1 when the span is kept; abstaining scores 1 on unanswerable
    questions and 0 on answerable ones.
    """
    order = np.argsort(-scores, kind="stable")
    abstain_value = impossible.astype(float)
    # Keeping the first k spans (highest scores) and abstaining on the rest.
    gains = (f1s - abstain_value)[order]
    totals = abstain_value.sum() + np.concatenate([[0.0], np.cumsum(gains)])
    k = int(np.argmax(totals))
    if k == 0:
        threshold = float(scores.max()) + 1e-6
    elif k == len(scores):
        threshold = float(scores.min()) - 1e-6
    else:
        threshold = float((scores[order[k - 1]] + scores[order[k]]) / 2)
    return threshold, 100.0 * totals[k] / len(scores)


def tuning_scores(reader: Reader, examples: list[Example], cands: list[list[Candidate]],
                  distractors: int = 2) -> dict:
    """Per-epoch tuning figures from the raw margin: forced-answer F1, best-threshold F1, and
    forced-answer F1 when the answerable questions are read with `distractors` other paragraphs
    of their article (the closest to what the Assistant reads)."""
    others = distractors_of(examples, distractors)
    distracted = []
    for c, e in zip(cands, examples):
        if not e.impossible:  # its own paragraph's candidates are read already; a span's score is its window's alone
            best = max(c + reader.candidates(e.question, others[e.id]), key=lambda x: x.features[0], default=None)
            distracted.append(best_f1(best.text if best else "", e))
    top_text, top_margin = [], []
    for c in cands:
        best = max(c, key=lambda x: x.features[0], default=None)
        top_text.append(best.text if best else "")
        top_margin.append(best.features[0] if best else -1e9)
    f1s = np.array([best_f1(t, e) for t, e in zip(top_text, examples)])
    impossible = np.array([e.impossible for e in examples])
    _, best_threshold_f1 = threshold_sweep(np.array(top_margin), f1s, impossible)
    return {
        "has_ans_forced_f1": 100.0 * f1s[~impossible].mean(),
        "best_threshold_f1": best_threshold_f1,
        "distracted_forced_f1": 100.0 * float(np.mean(distracted)),
    }


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Newton's method on standardised features; returns weights and bias in raw units."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        grad = z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0.0]
        hess = (z.T * (p * (1 - p))) @ z / len(y) + l2 * np.diag(np.r_[np.ones(len(w) - 1), 0.0])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[:-1] / sd
    bias = w[-1] - float((w[:-1] * mu / sd).sum())
    return np.r_[weights, bias]


def calibrate(
    reader: Reader, examples: list[Example], cands: list[list[Candidate]]
) -> tuple[ReaderSettings, dict]:
    """Fit the confidence model on all candidates, then the threshold on the top ones."""
    x, y = [], []
    for c, e in zip(cands, examples):
        for cand in c:
            x.append(cand.features)
            y.append(float(not e.impossible and best_f1(cand.text, e) >= 0.5))
    weights = fit_logistic(np.array(x), np.array(y), CALIBRATION_L2)
    settings = replace(reader.settings, calibration=tuple(float(v) for v in weights))
    calibrated = Reader(reader.model, reader.tokenizer, settings)
    top_text, top_conf = [], []
    for c in cands:
        scored = [(calibrated.confidence(k.features), k.text) for k in c]
        conf, text = max(scored, default=(0.0, ""))
        top_text.append(text)
        top_conf.append(conf)
    f1s = np.array([best_f1(t, e) for t, e in zip(top_text, examples)])
    impossible = np.array([e.impossible for e in examples])
    conf = np.array(top_conf)
    threshold, overall = threshold_sweep(conf, f1s, impossible)
    settings = replace(settings, no_answer_threshold=threshold)
    answered = conf >= threshold
    preds = [t if a else "" for t, a in zip(top_text, answered)]
    em = np.array([exact(p, e) for p, e in zip(preds, examples)])
    f1 = np.array([best_f1(p, e) for p, e in zip(preds, examples)])
    figures = {
        "threshold": threshold,
        "overall_em": 100 * em.mean(),
        "overall_f1": overall,
        "has_ans_em": 100 * em[~impossible].mean(),
        "has_ans_f1": 100 * f1[~impossible].mean(),
        "no_ans_acc": 100 * f1[impossible].mean(),
        "has_ans_forced_f1_reranked": 100 * f1s[~impossible].mean(),
        "n_has_ans": int((~impossible).sum()),
        "n_no_ans": int(impossible.sum()),
    }
    return settings, figures


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def build_model(base: Path, lora_rank: int, lora_alpha: float, device: str) -> torch.nn.Module:
    """The base encoder with a fresh span head; with ``lora_rank`` > 0, low-rank adapters on
    every linear layer of the encoder, and only they and the span head train."""
    model = AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32)
    if lora_rank:
        from peft import LoraConfig, TaskType, get_peft_model

        targets = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                          if isinstance(module, torch.nn.Linear) and not name.startswith(HEAD)})
        config = LoraConfig(task_type=TaskType.QUESTION_ANS, r=lora_rank, lora_alpha=lora_alpha,
                            lora_dropout=0.1, target_modules=targets)
        model = get_peft_model(model, config)
    return model.to(device)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


class Checkpoint:
    """Everything a run needs to continue exactly where it stopped: trainable weights,
    optimizer and scheduler state, the epoch's batch order and position, and every RNG.

    Written to a temporary file and renamed, so a run killed while saving keeps the last one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def load(self) -> dict | None:
        if not self.path.is_file():
            return None
        return torch.load(self.path, weights_only=False)


# Arguments a resumed run must share with the run it continues.
RUN_DEFINING = ("data", "base", "epochs", "lr", "batch_size", "warmup", "weight_decay", "max_length",
                "stride", "seed", "lora_rank", "lora_alpha", "limit", "tune_limit", "max_steps", "distractors")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the squad folder")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--base", type=Path, default=None,
                        help="encoder folder (default: all-mpnet-base-v2, assembled from its packages)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--lora-rank", type=int, default=32, help="0: fine-tune every weight")
    parser.add_argument("--lora-alpha", type=float, default=64.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=0.06, help="share of steps")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--distractors", type=int, default=0,
                        help="also train each question on N other paragraphs of its article, as unanswerable there")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                        help="bf16 autocast; auto = on where the hardware supports it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N examples (probes)")
    parser.add_argument("--tune-limit", type=int, default=0, help="tune on the first N examples (probes)")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps; the schedule ends there too")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="checkpoint file (default: OUT/checkpoint.pt)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint exactly")
    parser.add_argument("--pause-after", type=int, default=0,
                        help="checkpoint and exit after N steps of this invocation (then --resume)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.checkpoint = args.checkpoint or args.out / "checkpoint.pt"
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    bf16 = args.bf16 == "on" or (
        args.bf16 == "auto"
        and (torch.cuda.is_bf16_supported() if device == "cuda" else torch.ops.mkldnn._is_mkldnn_bf16_supported())
    )
    if args.base is None:
        args.base = mpnet_folder()

    train, tune = load_split(args.data)
    if args.limit:
        train = train[: args.limit]
    if args.tune_limit:
        tune = tune[: args.tune_limit]
    train = train + with_distractors(train, args.distractors)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = build_model(args.base, args.lora_rank, args.lora_alpha, device)
    windows = featurize(tokenizer, train, args.max_length, args.stride)
    n_null = sum(w["start"] == 0 for w in windows)
    mean_len = float(np.mean([len(w["input_ids"]) for w in windows]))
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"train {len(train)} questions -> {len(windows)} windows ({n_null} no-answer), "
          f"mean length {mean_len:.0f}; tune {len(tune)} questions; device {device}, bf16 {bf16}; "
          f"{n_train:,} trainable parameters", flush=True)

    steps_per_epoch = math.ceil(len(windows) / args.batch_size)
    total = steps_per_epoch * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)  # the schedule decays to zero at the cut
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in params if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in params if any(k in n for k in ("bias", "LayerNorm"))]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
    )
    warmup = int(args.warmup * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
    )
    # The reader computes as the model trained: bf16 where training used it.
    settings = ReaderSettings(max_length=args.max_length, stride=args.stride, bf16=bf16,
                              base=MPNET if args.lora_rank else None)
    rng = np.random.default_rng(args.seed)
    run = {"epoch": 1, "step": 0, "batches": None, "position": 0, "losses": [], "train_s": 0.0, "history": []}
    checkpoint = Checkpoint(args.checkpoint)
    if args.resume:
        saved = checkpoint.load()
        if saved is None:
            raise SystemExit(f"--resume: no checkpoint at {args.checkpoint}")
        differ = [k for k in RUN_DEFINING if saved["args"].get(k, "0") != str(getattr(args, k))]
        if differ:
            raise SystemExit(f"--resume: the checkpoint was made with other {', '.join(differ)}")
        missing, unexpected = model.load_state_dict(saved["trainable"], strict=False)
        assert not unexpected and not set(saved["trainable"]) & set(missing)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])
        random.setstate(saved["python_rng"])
        run = saved["run"]
        print(f"resumed at epoch {run['epoch']} step {run['step']}/{total}", flush=True)

    def save_checkpoint() -> None:
        checkpoint.save({
            "args": {k: str(getattr(args, k)) for k in RUN_DEFINING},
            "trainable": trainable_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "run": run,
        })

    run_facts = {"bf16": bf16, "device": device, "train_questions": len(train), "train_windows": len(windows),
                 "trainable_parameters": n_train}
    # SIGUSR1 ends training after the current step, checkpointing first: on a shared CPU the
    # steps a deadline allows are not known in advance.
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    last_save, steps_here = time.time(), 0
    while run["epoch"] <= args.epochs and run["step"] < total:
        if run["batches"] is None:
            run["batches"], run["position"], run["losses"], run["train_s"] = (
                length_grouped_batches(windows, args.batch_size, rng), 0, [], 0.0)
        model.train()
        t0 = time.time() - run["train_s"]
        while run["position"] < len(run["batches"]) and run["step"] < total:
            batch = run["batches"][run["position"]]
            inputs = collate(windows, batch, tokenizer.pad_token_id, device)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
                loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            run["losses"].append(loss.item())
            run["step"] += 1
            run["position"] += 1
            run["train_s"] = time.time() - t0
            steps_here += 1
            if run["step"] % 50 == 0:
                print(f"epoch {run['epoch']} step {run['step']}/{total} loss {np.mean(run['losses'][-50:]):.4f} "
                      f"{run['train_s'] / run['position']:.2f} s/step", flush=True)
            paused = stop.is_set() or (args.pause_after and steps_here >= args.pause_after)
            if paused or time.time() - last_save > 60 * args.checkpoint_minutes:
                save_checkpoint()
                last_save = time.time()
            if paused:
                print(f"paused at epoch {run['epoch']} step {run['step']}/{total}; continue with --resume",
                      flush=True)
                return
        record = {"epoch": run["epoch"], "step": run["step"], "loss": float(np.mean(run["losses"])),
                  "train_s": round(run["train_s"])}
        tune_and_save(args, model, tokenizer, settings, tune, run["history"], record, run_facts)
        run["epoch"], run["batches"] = run["epoch"] + 1, None
        save_checkpoint()
        last_save = time.time()


def tune_and_save(args, model, tokenizer, settings: ReaderSettings, tune: list[Example], history: list[dict],
                  record: dict, run_facts: dict) -> None:
    """Tuning scores, calibration and threshold; the model is saved whenever tuning F1 improves,
    so a cut-short run still leaves a calibrated model."""
    reader = Reader(model, tokenizer, settings)
    cands = collect_candidates(reader, tune)
    calibrated, figures = calibrate(reader, tune, cands)
    record |= {**tuning_scores(reader, tune, cands), "calibrated": figures}
    history.append(record)
    print(json.dumps(record), flush=True)
    if figures["overall_f1"] >= max(h["calibrated"]["overall_f1"] for h in history):
        save_model(args.out, model, tokenizer, calibrated)
    run = {"args": {k: str(v) for k, v in vars(args).items()}, **run_facts, "history": history}
    (args.out / "training_run.json").write_text(json.dumps(run, indent=2) + "\n")


def save_model(out: Path, model, tokenizer, settings: ReaderSettings) -> None:
    """What ships: fp16 weights (half the size; the reader computes in bf16 or fp32) and the
    settings. With adapters, only the adapters and the span head, merged into the packaged
    base at load time; without, the whole model and its tokenizer."""
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "peft_config"):
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        state = get_peft_model_state_dict(model)
        save_file({k: v.detach().to("cpu", torch.float16).contiguous() for k, v in state.items()},
                  out / ADAPTER_WEIGHTS)
        # Named, not this machine's path: the base is whatever packaged.mpnet_folder() finds.
        replace(model.peft_config["default"], base_model_name_or_path=MPNET).save_pretrained(out)
    else:
        half = {k: v.detach().to("cpu", torch.float16) for k, v in model.state_dict().items()}
        model.save_pretrained(out, state_dict=half)
        tokenizer.save_pretrained(out)
    config = asdict(settings) | {"tuning_articles": list(TUNING_ARTICLES)}
    (out / SETTINGS_FILE).write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    main()
