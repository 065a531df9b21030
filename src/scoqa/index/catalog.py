"""What an index holds, for a person: every indexed document and every skipped file with its
reason, as the chat's documents panel, `scoqa documents` and the `/documents` API show them.

Read from the index alone (its documents and the catalog its last build recorded), never from
the files, so the list is the index's own view even while the folder changes under it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .protocol import ChunkStore
from .uploads import is_upload


@dataclass(frozen=True)
class IndexedDocument:
    """One indexed document. `pages` is a PDF's page count (None for other files); `passages`
    the chunks searched; `indexed` when this version was indexed (ISO 8601, UTC; None for a
    document indexed before the index recorded it); `removable` for an uploaded document."""

    source: str
    title: str | None
    date: str | None
    pages: int | None
    passages: int
    indexed: str | None
    warning: str | None
    removable: bool


@dataclass(frozen=True)
class SkippedFile:
    """A file under the indexed paths that is not searchable, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Catalog:
    """Documents and skipped files, each sorted by source."""

    documents: tuple[IndexedDocument, ...]
    skipped: tuple[SkippedFile, ...]

    def to_json(self) -> dict:
        return {"documents": [asdict(d) for d in self.documents], "skipped": [asdict(s) for s in self.skipped]}

    def matching(self, text: str) -> "Catalog":
        """Only the entries whose source or title holds `text` (case-insensitive)."""
        needle = text.strip().casefold()
        if not needle:
            return self
        return Catalog(tuple(d for d in self.documents if needle in f"{d.source}\n{d.title or ''}".casefold()),
                       tuple(s for s in self.skipped if needle in s.source.casefold()))


def catalog(index: ChunkStore) -> Catalog:
    """The index's documents and skipped files."""
    entries = index.catalog.get("documents", {})
    documents = []
    for doc in sorted(index.documents, key=lambda d: d.source):
        entry = entries.get(doc.source, {})
        passages = entry.get("passages")
        documents.append(IndexedDocument(
            doc.source, doc.title, doc.date, len(doc.pages) or None,
            passages if passages is not None else index.count({doc.source}),
            entry.get("indexed"), entry.get("warning"), is_upload(doc.source)))
    skipped = tuple(SkippedFile(source, entry["reason"])
                    for source, entry in sorted(index.catalog.get("skipped", {}).items()))
    return Catalog(tuple(documents), skipped)

