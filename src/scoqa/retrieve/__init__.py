"""Retrieve: takes a query and a store, gives ranked `Hit`s (records.py): dense (`embed`) and
BM25 candidates whose scores `fusion` combines, duplicates collapsed (`retriever`)."""
from .embed import Embedder
from .retriever import RetrievalSettings, Retriever

__all__ = ["Embedder", "RetrievalSettings", "Retriever"]
