"""The reader's network exported for ONNX Runtime: the same weights, read faster on a CPU.

On 2 cores without native bf16 (this project's machines on 2026-12-01), one forward pass of
the merged MPNet reader took 13-25% less time in ONNX Runtime than in torch, with logits within
3e-5 of torch's, and the reader loaded 2 s sooner (the reader's model card has the figures). The merged reader
(`reader.merged_reader`) is exported once, by ``make model`` or on the first load, to
``cache_root()/reader-onnx/<digest>.onnx``; the digest names the adapters, head and base it was
made from, so a retrained reader is exported anew; ``make model`` then removes the exports of
earlier readers (`prune`), 436 MB each. torch is needed to export, not to read.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np

from ..errors import ModelUnavailable
from ..packaged import MPNET_WEIGHTS_SHA256, cache_root

if TYPE_CHECKING:
    import torch

# What the exported graph takes and gives: MPNet reads no token type ids.
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("start_logits", "end_logits", "last_hidden_state")
# Bumped when the export itself changes (opset, outputs), so that older files are not reused.
EXPORT_FORMAT = "1:opset17:start,end,last_hidden"


def available() -> bool:
    """Whether ONNX Runtime is installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def exported_path(folder: Path) -> Path:
    """Where the export of the reader in `folder` lies: named by the sha256 of its weights
    (``*.safetensors``) and adapter configuration, the base's published weights and
    `EXPORT_FORMAT`; not by its settings (a new calibration reads the same network)."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}\n{MPNET_WEIGHTS_SHA256}\n".encode())
    for file in sorted(p for p in folder.iterdir()
                       if p.is_file() and (p.suffix == ".safetensors" or p.name == "adapter_config.json")):
        digest.update(file.name.encode() + b"\n" + file.read_bytes())
    return cache_root() / "reader-onnx" / f"{digest.hexdigest()[:16]}.onnx"


def export(model: torch.nn.Module, path: Path) -> Path:
    """Write `model` (a question-answering model, fp32, on the CPU) as an ONNX graph with
    dynamic batch and sequence axes, to a temporary file first, then in place: a reader that
    finds the file finds it whole."""
    import torch

    class _Outputs(torch.nn.Module):
        def __init__(self, network: torch.nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            out = self.network(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.start_logits, out.end_logits, out.hidden_states[-1]

    path.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    axes = {name: {0: "windows", 1: "tokens"} for name in (*INPUTS, *OUTPUTS)}
    handle, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(handle)
    try:
        # The tracer warns of every branch and index it fixes in the graph; the export is
        # checked against torch instead (tests/test_reader_model.py, the spans and confidences).
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Outputs(model.eval()), example, tmp, dynamo=False, opset_version=17,
                              input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the export is a cache anyone may read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def prune(keep: Path) -> list[Path]:
    """Remove every export beside `keep` in its folder (the exports of earlier readers, or of
    another checkout's, which that one exports again on its next load); returns what was
    removed. Unfinished exports (``*.onnx.tmp``) are left to the export writing them."""
    removed = []
    for path in sorted(keep.parent.glob("*.onnx")):
        if path != keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class ExportedNetwork:
    """The exported reader in an ONNX Runtime session: numpy in, numpy out. Safe to share
    between threads (ONNX Runtime's ``run`` is)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own kinds for a damaged or partial file
            raise ModelUnavailable(f"cannot open the exported reader {path} ({err}); delete it to export "
                                   "it again: make model") from None

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`inputs`: ``INPUTS``, int64, shape ``(windows, tokens)``. Returns the start and end
        logits, shape ``(windows, tokens)``, and the last hidden layer, ``(windows, tokens,
        hidden)``, float32."""
        start, end, hidden = self.session.run(list(OUTPUTS), {name: inputs[name] for name in INPUTS})
        return start, end, hidden


if __name__ == "__main__":  # make model: export the shipped reader once, where it is not yet
    from .reader import MODEL_DIR, Reader

    Reader.load(runtime="onnx")
    kept = exported_path(MODEL_DIR)
    for old in prune(kept):
        print(f"removed {old.name}, the export of an earlier reader (kept {kept.name})")
