"""Index: takes Documents and their Chunks, gives a store that finds chunks by dense vector or
BM25 terms. `protocol` declares what every store offers (`ChunkStore`) and what a kind of
store is (`Backend`); `registry` knows the kinds and says which one holds the index at a folder;
`folder` (FAISS + bm25s files) and `milvus` are the two stores; `build` indexes files
incrementally, `uploads` adds files to a live index and takes uploaded ones out, `catalog`
lists what an index holds (documents, skipped files and why) and `watch` keeps an index in step
with its folder while the chat runs."""
from .protocol import ChunkStore, IndexMissing, IndexUnavailable
from .registry import normalise_location, open_store

__all__ = ["ChunkStore", "IndexMissing", "IndexUnavailable", "normalise_location", "open_store"]
