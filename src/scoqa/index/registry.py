"""Which store holds the index at a folder, and opening, making and finding one: the only place
that knows the backends. A location names where the data lives, by scheme (`BACKENDS`):
"folder", "milvus:PATH.db", "milvus://HOST:PORT/COLLECTION".

The index folder (`--index`, default .scoqa/index) always exists. For the default store it
holds the data; for any other it holds only `STORE`, a one-line JSON file naming the location,
so `ask`, `search`, `serve` and `eval` find it without a flag.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import folder, milvus
from .protocol import Backend, ChunkStore, IndexUnavailable

# One registration per backend: a new one is a module defining its `Backend`, added here.
BACKENDS: dict[str, Backend] = {backend.scheme: backend for backend in (folder.BACKEND, milvus.BACKEND)}
DEFAULT = folder.BACKEND.scheme  # where an index lives unless told: in its own folder
POINTER = "STORE"


def store_forms() -> str:
    """Every location's spellings, for help and error messages."""
    forms = [form for backend in BACKENDS.values() for form in backend.forms]
    return ", ".join(forms[:-1]) + " or " + forms[-1] if len(forms) > 1 else forms[0]


def _backend(location: str) -> Backend:
    backend = BACKENDS.get(location.split(":", 1)[0])
    if backend is None:
        raise IndexUnavailable(f"unknown store {location!r}: use {store_forms()}")
    return backend


def normalise_location(location: str) -> str:
    """`location` in its canonical spelling (a Milvus Lite path made absolute). Raises
    IndexUnavailable for a location no backend takes, or one with bad details."""
    normalised = _backend(location).normalise(location)
    if normalised is None:
        raise IndexUnavailable(f"unknown store {location!r}: use {store_forms()}")
    return normalised


def location_of(folder: Path) -> str:
    """Where the data of the index at `folder` lives (`DEFAULT` unless `STORE` says otherwise).
    Raises IndexUnavailable when `STORE` is unreadable."""
    pointer = Path(folder) / POINTER
    if not pointer.is_file():
        return DEFAULT
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))["store"]
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexUnavailable(f"the index at {folder} is damaged ({POINTER} is unreadable); "
                               f"index again with: scoqa index --store LOCATION") from None


def point_to(folder: Path, location: str) -> None:
    """Record in the index folder where its data lives."""
    folder.mkdir(parents=True, exist_ok=True)
    pointer = folder / POINTER
    if location == DEFAULT:
        pointer.unlink(missing_ok=True)
    else:
        pointer.write_text(json.dumps({"store": location}) + "\n", encoding="utf-8")


def index_exists(folder: Path) -> bool:
    """Whether the folder holds or names an index, perhaps a damaged one. Raises
    IndexUnavailable when its location cannot be reached."""
    location = location_of(Path(folder))
    return _backend(location).exists(Path(folder), location)


def indexed_model(folder: Path) -> str | None:
    """The embedding model the index at `folder` was built with, if it can be read."""
    try:
        location = location_of(Path(folder))
        return _backend(location).built_with(Path(folder), location)
    except (IndexUnavailable, KeyError, TypeError):
        return None


def open_store(folder: Path) -> ChunkStore:
    """The index at `folder`, wherever its data lives. Raises IndexMissing when there is none,
    IndexUnavailable when it cannot be used (the message says how to fix it)."""
    location = location_of(Path(folder))
    return _backend(location).open(Path(folder), location)


def create_store(folder: Path, location: str) -> ChunkStore:
    """A store at `location` for the index folder `folder` to build into from scratch (a
    first build or a rebuild; see `Backend.create`)."""
    return _backend(location).create(Path(folder), location)
