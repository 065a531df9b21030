"""A span-marked cross-encoder: reads the question with a candidate answer marked in its
sentence and scores whether the marked span answers it.

The design is ReConsider's (Iyer et al., NAACL 2021): a reader reads each window on its own and
scores spans against that window's other spans only; a second encoder that reads the question
with one candidate marked in its context, trained on that reader's own right and wrong top
candidates, re-ranks them. Here the encoder starts from the reader's own encoder (the packaged
MPNet base with the reader's adapters merged) and trains new low-rank adapters and a one-logit
head (``scripts/train_cross_encoder.py``); the re-ranker (``scoqa.answer.rerank``) takes its
logit as one input among the others.

Inputs are the question and the candidate's sentence with one sentence either side, the span
between the marks ``«`` and ``»`` (characters the base's vocabulary holds and SQuAD contexts
almost never use).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ModelUnavailable
from ..packaged import offline
from ..text import sentences

if TYPE_CHECKING:
    import torch

MODEL_DIR = Path(__file__).parents[1] / "models" / "cross_encoder"
ADAPTER_CONFIG = "adapter_config.json"
MARK_OPEN, MARK_CLOSE = "«", "»"
NEIGHBOURS = 1  # sentences read on either side of the candidate's own
MAX_LENGTH = 192  # tokens of question + context; 95% of the training inputs fit (the script reports it)
BATCH = 16


def marked_context(passage: str, start: int, end: int, neighbours: int = NEIGHBOURS) -> str:
    """The sentences of ``passage`` that hold passage[start:end] (offsets in code points), with
    ``neighbours`` more on either side, the span between ``«`` and ``»``."""
    spans = sentences(passage) or [(0, len(passage))]
    first = next((i for i, (a, b) in enumerate(spans) if b > start), len(spans) - 1)
    last = next((i for i, (a, b) in enumerate(spans) if b >= end), len(spans) - 1)
    begin = spans[max(0, first - neighbours)][0]
    finish = spans[min(len(spans) - 1, last + neighbours)][1]
    begin, finish = min(begin, start), max(finish, end)
    return f"{passage[begin:start]}{MARK_OPEN}{passage[start:end]}{MARK_CLOSE}{passage[end:finish]}"


def sequence_classifier(base: Path, reader_folder: Path) -> tuple[torch.nn.Module, Any]:
    """A one-logit classifier whose encoder is the reader's (``base`` with the adapters of
    ``reader_folder`` merged) and whose head is new; and the base's tokenizer."""
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    from .reader import merged_reader

    hf_logging.set_verbosity_error()  # the base's load report names the span head it lacks; this adds one
    hf_logging.disable_progress_bar()
    reader, tokenizer = merged_reader(reader_folder, base)
    model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(base, num_labels=1))
    encoder = model.base_model_prefix
    missing = getattr(model, encoder).load_state_dict(getattr(reader, encoder).state_dict(), strict=False)
    if missing.unexpected_keys or any("pooler" not in k for k in missing.missing_keys):
        raise ModelUnavailable(f"the reader's encoder does not fit the classifier: {missing}")
    return model, tokenizer


class CrossEncoder:
    """Scores (question, marked context) pairs; a higher logit means more likely the answer.
    ``bf16``: compute under bf16 autocast (where the CPU has it, as the reader does).

    Safe to share between threads (the tokenizer is guarded by a lock; the model runs under
    ``torch.inference_mode``).
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, bf16: bool) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.bf16 = bf16
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None = None, base: Path | None = None) -> CrossEncoder:
        """The shipped cross-encoder (or ``path``): the packaged base (or ``base``), the reader's
        adapters and the cross-encoder's adapters and head, merged once. Raises
        ModelUnavailable when the folder holds no adapters."""
        folder = Path(path) if path is not None else MODEL_DIR
        if not (folder / ADAPTER_CONFIG).is_file():
            raise ModelUnavailable(f"{folder}: no cross-encoder adapters ({ADAPTER_CONFIG})")
        offline()
        from peft import PeftModel

        from ..packaged import mpnet_folder
        from .reader import MODEL_DIR as READER_DIR, cpu_has_bf16

        model, tokenizer = sequence_classifier(base or mpnet_folder(), READER_DIR)
        model = PeftModel.from_pretrained(model, folder).merge_and_unload()
        return cls(model, tokenizer, cpu_has_bf16())

    def score(self, question: str, contexts: Sequence[str]) -> np.ndarray:
        """One logit per context, in their order (shape ``(len(contexts),)``)."""
        import torch

        if not contexts:
            return np.zeros(0, dtype=np.float32)
        device = next(self.model.parameters()).device
        out = []
        for i in range(0, len(contexts), BATCH):
            chunk = list(contexts[i:i + BATCH])
            with self._lock:
                enc = self.tokenizer([question] * len(chunk), chunk, truncation="only_second",
                                     max_length=MAX_LENGTH, padding=True, return_tensors="pt")
            inputs = {n: enc[n].to(device) for n in self.tokenizer.model_input_names if n in enc}
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits = self.model(**inputs).logits
            out.append(logits.float().reshape(-1).cpu().numpy())
        return np.concatenate(out)
