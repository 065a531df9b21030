"""Ingest: takes files and folders, gives `Document`s (records.py) whose text is the file's own
decoded text, with the spans of article content and sections marked. Formats are read in
`formats`, web-page furniture is marked in `clean`, headings and tables in `structure`; `chunk`
cuts a Document's content into the `Chunk`s that the index stores."""
from .formats import UnreadableFile, discover, read_document

__all__ = ["UnreadableFile", "discover", "read_document"]
