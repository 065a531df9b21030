"""`Assistant.ask` refuses a bad `k` or `mode` with a ScoqaError naming what is allowed, before
it retrieves or reads anything (a chat or API caller sends them)."""
from __future__ import annotations

import pytest

from scoqa.answer import Assistant
from scoqa.errors import ScoqaError
from scoqa.index import open_store
from scoqa.index.build import build_index
from scoqa.retrieve import Retriever



class NeverRead:
    no_answer_threshold = 0.5

    def read(self, *args, **kwargs):
        raise AssertionError("a refused question is never read")


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    from conftest import HashingEmbedder

    embedder, docs = HashingEmbedder(), tmp_path_factory.mktemp("args")
    (docs / "memo.txt").write_text("The memorandum was signed by Rashid Alimov in Astana.\n", encoding="utf-8")
    folder = build_index([docs], docs / ".index", embedder, progress=False).folder
    return Assistant(Retriever(open_store(folder), embedder), NeverRead())


@pytest.mark.parametrize("k, message", [
    (0, "k must be a whole number of at least 1, not 0"),
    (-1, "k must be a whole number of at least 1, not -1"),
    (2.5, "k must be a whole number of at least 1, not 2.5"),
    ("3", "k must be a whole number of at least 1, not '3'"),
    (True, "k must be a whole number of at least 1, not True"),
])
def test_a_bad_k_is_refused(assistant, k, message):
    with pytest.raises(ScoqaError, match=message):
        assistant.ask("Who signed the memorandum?", k=k)


def test_an_unknown_mode_is_refused_naming_the_modes(assistant):
    with pytest.raises(ScoqaError, match=r"unknown mode 'fuzzy' \(choose from hybrid, dense, bm25\)"):
        assistant.ask("Who signed the memorandum?", mode="fuzzy")
