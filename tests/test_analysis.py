"""The rules that turn text into what an index searches, shared by building and retrieval."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from scoqa.analysis import _stemmer, keyword_tokens


def test_keyword_terms_are_stemmed_without_stop_words_in_text_order():
    assert keyword_tokens(["The cats saw the dogs, and the cats ran.", "the of and"]) == [
        ["cat", "saw", "dog", "cat", "ran"], []]


def test_each_thread_stems_with_its_own_stemmer():
    """A PyStemmer object may not be shared between threads; the chat asks from several."""
    together = threading.Barrier(4)

    def stem_in_a_thread(_):
        stemmer = _stemmer()
        tokens = keyword_tokens(["The memoranda were signed"])[0]
        together.wait(timeout=30)  # four threads at once, each still holding its stemmer
        return id(stemmer), tokens

    with ThreadPoolExecutor(4) as pool:
        ids, tokens = zip(*pool.map(stem_in_a_thread, range(4)))
    assert len(set(ids)) == 4 and _stemmer() is _stemmer()
    assert all(t == tokens[0] for t in tokens) and "sign" in tokens[0]
