from __future__ import annotations

import ast
import hashlib
import re
import shutil
import socket
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


class HashingEmbedder:
    """A tiny deterministic stand-in for the embedding model: hashed bag of words. It exercises
    the index mechanics (incremental builds, damage, locking) without loading a model."""

    model = "test-hashing"
    dimension = 64
    window = 254

    def __init__(self) -> None:
        self.embedded = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts, progress=False):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, _bucket(word, self.dimension)] += 1
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        self.embedded += len(texts)
        return out


def free_port() -> int:
    """A loopback port free now, for a test's server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@lru_cache(maxsize=None)
def _bucket(word: str, dimension: int) -> int:
    """The hashing embedder's dimension for a word, hashed once per test session."""
    return int(hashlib.md5(word.encode()).hexdigest(), 16) % dimension


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.fixture(autouse=True)
def index_writes_not_flushed_to_disk(monkeypatch):
    """A test's index lives in a folder thrown away after it, and no test can cut the power, so
    the folder store's fsync of each file it writes (`scoqa.index.folder._fsync`) is skipped, as
    is usual in databases' test runs (PostgreSQL's fsync=off): a unit run made 1,141 of them, at
    about 3 ms each on the shared disk. What a crash mid-write leaves is tested by failing the
    writes (tests/test_index_folder.py, test_index_stores.py). Indexes that session and module
    fixtures build are made before this applies, and still sync."""
    import scoqa.index.folder

    monkeypatch.setattr(scoqa.index.folder, "_fsync", lambda path: None)


@pytest.fixture(scope="session")
def embedder():
    from scoqa.retrieve import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def reader():
    """The shipped reader, loaded once per test session (the base is 440 MB)."""
    from scoqa.answer.reader import Reader

    return Reader.load()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder):
    """The seed corpus indexed with the real model, once per test session."""
    from scoqa.index.build import build_index
    from scoqa.index.folder import FolderStore

    folder = tmp_path_factory.mktemp("seed") / "index"
    build_index([CORPUS], folder, embedder, progress=False)
    return FolderStore.open(folder)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """Milvus Lite's embedded gRPC server on a free loopback port, for this test session; the
    same client code reaches Milvus Standalone and Distributed."""
    from milvus_lite.adapter.grpc.server import start_server_in_thread

    server, db, port = start_server_in_thread(str(tmp_path_factory.mktemp("milvus") / "data"), host="127.0.0.1", port=0)
    yield f"127.0.0.1:{port}"
    server.stop(grace=0)
    db.close()


@pytest.fixture(params=["folder", "milvus"])
def store_location(request, tmp_path):
    """Where a test's index data lives: each test that takes it runs against both stores."""
    if request.param == "folder":
        return "folder"
    address = request.getfixturevalue("milvus_server")
    return f"milvus://{address}/t{abs(hash(str(tmp_path))) % 10**9}"


KINDS = ("unit", "torch", "model", "service", "browser")
# What the unit lane never loads: each takes seconds to import on 2 busy cores.
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio", "onnxruntime")


def pytest_collection_modifyitems(items):
    """Every test is of exactly one kind (pyproject.toml names them), so that `pytest -m unit`
    runs in seconds: no model, no server, no torch or gradio.

    A module or test marked with a kind keeps it; otherwise a test that uses the real embedder
    (itself or through a fixture) is `model`, one that uses the Milvus Lite server `service`,
    and the rest `unit`. A test that reads with the real reader without the embedder is marked
    `model` where it is written."""
    for item in items:
        kinds = [kind for kind in KINDS if item.get_closest_marker(kind)]
        if len(kinds) > 1:
            raise pytest.UsageError(f"{item.nodeid} is marked {' and '.join(kinds)}; a test has one kind")
        if not kinds:
            fixtures = set(item.fixturenames)
            call = getattr(item, "callspec", None)
            milvus = "milvus_server" in fixtures or (call is not None and call.params.get("store_location") == "milvus")
            item.add_marker("model" if "embedder" in fixtures else "service" if milvus else "unit")


def _module_kinds(path: Path) -> set[str]:
    """The kinds a test module's own `pytestmark` names, read from its source (not imported).
    Only the statement is parsed where it is one line, as in every module here (parsing all
    the test modules took 0.1 s of each unit run)."""
    source = path.read_text(encoding="utf-8")
    lines = _PYTESTMARK.findall(source)
    if not lines:
        return set()
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:  # a statement over several lines
        tree = ast.parse(source)
    marks = [node.value for node in tree.body if isinstance(node, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)]
    return {n.attr for mark in marks for n in ast.walk(mark) if isinstance(n, ast.Attribute) and n.attr in KINDS}


_PYTESTMARK = re.compile(r"^pytestmark\s*=.*$", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config):
    """`pytest -m unit` does not even import a module whose tests are all of another kind (its
    `pytestmark` says so): such modules import torch or gradio at the top."""
    if (config.getoption("markexpr") == "unit" and collection_path.suffix == ".py"
            and collection_path.name.startswith("test_") and _module_kinds(collection_path) - {"unit"}):
        return True
    return None


def pytest_collection_finish(session):
    session.config.unit_only = bool(session.items) and all(item.get_closest_marker("unit") for item in session.items)


def pytest_sessionfinish(session, exitstatus):
    """A run of unit tests only fails if anything it imported loaded torch or gradio."""
    loaded = [name for name in HEAVY if name in sys.modules]
    if getattr(session.config, "unit_only", False) and loaded:
        session.config.get_terminal_writer().line(
            f"the unit lane imported {', '.join(loaded)}: a unit test must not load them", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
