"""Which store holds the index at a folder, and opening it.

The index folder (`--index`, default .scoqa/index) always exists. For a folder index it holds
the data; for a Milvus index it holds only `STORE`, a one-line JSON file naming where the data
lives, so `ask`, `search`, `serve` and `eval` find it without a flag.
"""
from __future__ import annotations

import json
from pathlib import Path

from .protocol import ChunkStore, IndexUnavailable

POINTER = "STORE"


def store_location(folder: Path) -> str | None:
    """Where the data of the index at `folder` lives, if not in the folder itself."""
    pointer = Path(folder) / POINTER
    if not pointer.is_file():
        return None
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))["store"]
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexUnavailable(f"the index at {folder} is damaged ({POINTER} is unreadable); "
                               f"index again with: scoqa index --store LOCATION") from None


def point_to(folder: Path, location: str | None) -> None:
    """Record in the index folder where its data lives (None: in the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    pointer = folder / POINTER
    if location is None:
        pointer.unlink(missing_ok=True)
    else:
        pointer.write_text(json.dumps({"store": location}) + "\n", encoding="utf-8")


def normalise_location(location: str) -> str:
    """`folder`, `milvus:PATH.db` (made absolute) or `milvus://HOST:PORT/COLLECTION`."""
    if location == "folder":
        return location
    if location.startswith("milvus://"):
        from .milvus import parse_server

        parse_server(location)
        return location
    if location.startswith("milvus:") and location.endswith(".db") and len(location) > len("milvus:.db"):
        return "milvus:" + str(Path(location[len("milvus:"):]).expanduser().resolve())
    raise IndexUnavailable(f"unknown store {location!r}: use folder, milvus:PATH.db or milvus://HOST:PORT/COLLECTION")


def open_store(folder: Path) -> ChunkStore:
    """The index at `folder`, wherever its data lives."""
    location = store_location(Path(folder))
    if location is None:
        from .folder import FolderStore

        return FolderStore.open(Path(folder))
    from .milvus import MilvusStore

    return MilvusStore.open(Path(folder), location)
