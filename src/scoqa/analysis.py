"""How text becomes what an index searches, the same when a chunk is indexed and when a query is
asked: the text a chunk is searched by (`search_text`), its BM25 terms (`keyword_tokens`) and
its dense vector (an `Embeds` model). Building, every store and retrieval share these rules, so
they live below all three stages; nothing here loads a model or imports a search library until
it is called.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, Sequence

from .records import Chunk, Document
from .text import as_read

if TYPE_CHECKING:
    import numpy as np


class Embeds(Protocol):
    """What building and retrieval need of an embedding model (`scoqa.retrieve.embed.Embedder`
    is scoqa's; a test stand-in hashes words).

    - `model`: the name an index records; an index is only searched with the model that built it.
    - `dimension`: the length of every vector.
    - `window`: word pieces of text the model reads; the chunker keeps each chunk's search text
      within it, since text the model silently truncates is text nobody can find.
    """

    model: str

    @property
    def dimension(self) -> int: ...

    @property
    def window(self) -> int: ...

    def count_tokens(self, text: str) -> int:
        """The model's own word pieces in `text` (special tokens not counted)."""
        ...

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Unit-length vectors, one row per text in order: shape (len(texts), dimension),
        float32, so that an inner product is a cosine. No texts give shape (0, dimension)."""
        ...


def chunk_heads(document: Document, start: int) -> list[str]:
    """The lines a chunk beginning at `start` is searched with: the document title, then the
    label of its section (its headings; a table row's column names)."""
    return [head for head in (document.title, document.label_at(start)) if head]


def search_text(chunk: Chunk) -> str:
    """What a chunk is embedded and keyword-indexed by: its text, headed by the document title
    when the chunk does not already begin with it (later chunks of an article lose their
    subject otherwise) and by its section's label; all as a reader reads it (`as_read`)."""
    heads = [head for head in chunk_heads(chunk.document, chunk.start) if not chunk.text.startswith(head)]
    return as_read("\n".join([*heads, chunk.text]))


_STEMMERS = threading.local()


def _stemmer():
    """The English Snowball stemmer of this thread: a PyStemmer object may not be shared
    between threads, and the chat asks from several."""
    if not hasattr(_STEMMERS, "english"):
        import Stemmer

        _STEMMERS.english = Stemmer.Stemmer("english")
    return _STEMMERS.english


def keyword_tokens(texts: Sequence[str]) -> list[list[str]]:
    """BM25 terms, one list per text in order: lower-cased words without bm25s's English stop
    words, Snowball-stemmed, in the order they stand (repeats kept). A text of stop words only
    gives an empty list."""
    import bm25s

    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False,
                          show_progress=False)
