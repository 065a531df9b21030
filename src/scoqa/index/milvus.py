"""The Milvus store: the same index in a Milvus collection, for documents that outgrow one
machine or an index shared by many servers. One client serves Milvus Lite (`milvus:PATH.db`,
embedded), Milvus Standalone and Milvus Distributed (`milvus://HOST:PORT/COLLECTION`, with a
token from $SCOQA_MILVUS_TOKEN).

Three collections share a name: `NAME_chunks` (vector, chunk text, offsets, source, date,
document hash, sentence hashes, and the BM25 terms that Milvus's own BM25 function indexes),
`NAME_documents` (each document's JSON in pieces, for citations) and `NAME_manifest` (one row).

BM25 terms are scoqa's analysed terms (`keyword_tokens`: stop words dropped, Snowball stems)
joined by spaces, so Milvus's standard tokenizer sees exactly what bm25s sees.

Two phases, so an interrupted build leaves the index answering as before: every row carries
`born` and `died` generations, and readers see only rows with floor <= born <= G < died, where G
and floor stand in the manifest row. A build writes rows born G+1 and marks dropped rows died
G+1 (both invisible at G), then switches the manifest row to G+1 in one upsert, then deletes
rows no longer visible. A rebuild raises the floor instead of rewriting the old rows.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import urlsplit

import numpy as np

from ..analysis import keyword_tokens
from ..records import Chunk, Document
from .protocol import (BM25_PARAMS, CATALOG, DAMAGE, FORMAT_VERSION, REBUILD_HINT, Backend, Changes, DenseSpec,
                       IndexMissing, IndexUnavailable, StoredChunk, document_from_json, document_to_json, read_json,
                       write_json)

SCHEME = "milvus"
TOKEN_VARIABLE = "SCOQA_MILVUS_TOKEN"
LITE_COLLECTION = "scoqa"  # a Milvus Lite file holds one index, so its collections need no chosen name
ALIVE = 2**62  # `died` of a row no build has dropped: above any generation, within INT64
PIECE = 16_000  # characters of document JSON a row holds: at most 64,000 bytes, under VARCHAR's 65,535
# Rows an insert carries: 500 document pieces of at most 64,000 bytes are 32 MB, far under the
# 512 MB a Milvus proxy accepts by default (proxy.grpc.serverMaxRecvSize).
BATCH = 500
TIMEOUT_S = 10.0  # a call's limit: an unreachable server is reported in seconds, not minutes


def parse_server(location: str) -> tuple[str, str]:
    """`milvus://HOST:PORT/COLLECTION` -> (client URI, collection name). Raises IndexUnavailable
    for an address without a host or port, or a collection name Milvus refuses."""
    parts = urlsplit(location)
    name = parts.path.strip("/")
    if not parts.hostname or not parts.port or not name.replace("_", "").isalnum() or name[0].isdigit():
        raise IndexUnavailable(f"bad Milvus address {location!r}: use milvus://HOST:PORT/COLLECTION "
                               f"(a collection name of letters, digits and _)")
    return f"http://{parts.hostname}:{parts.port}", name


def _connect(location: str):
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # its warnings are not the user's to act on

    if location.startswith("milvus://"):
        uri, name = parse_server(location)
        token = os.environ.get(TOKEN_VARIABLE, "")
    else:
        uri, name, token = location[len("milvus:"):], LITE_COLLECTION, ""
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        client = MilvusClient(uri=uri, token=token, timeout=TIMEOUT_S)
        client.list_collections()
    except MilvusException as err:
        reason = err.message if hasattr(err, "message") else str(err)
        if _refused_credentials(err) or "auth" in reason.lower() or "token" in reason.lower():
            refusal = "refused the credentials" if token else "wants credentials"
            reason = f"the server {refusal}; set ${TOKEN_VARIABLE} to USER:PASSWORD or an API key"
        raise IndexUnavailable(f"cannot use Milvus at {location}: {reason}") from None
    return client, name


def _refused_credentials(err: BaseException) -> bool:
    """Whether the gRPC failure under a pymilvus error is an authentication refusal: pymilvus
    reports it as "Fail connecting to server", the refusal itself sits in the cause chain."""
    import grpc

    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, grpc.RpcError) and hasattr(cause, "code"):
            if cause.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                return True
        cause = cause.__cause__ or cause.__context__
    return False


def _placeholder_schema(client, key_length: int):
    """Milvus wants a vector in every collection; the documents and manifest carry a dummy one."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=key_length)
    schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=2)
    return schema


def _in(field: str, values: Sequence[str]) -> str:
    return f"{field} in {json.dumps(list(values))}"


class MilvusStore:
    """Implements `scoqa.index.protocol.ChunkStore` over a Milvus collection."""

    def __init__(self, folder: Path, location: str, client, name: str, manifest: dict, documents: list[Document]):
        self.folder = folder
        self.location = location
        self.client = client
        self.chunks_name, self.documents_name, self.manifest_name = (f"{name}_chunks", f"{name}_documents",
                                                                     f"{name}_manifest")
        self.manifest = dict(manifest, documents={doc.source: doc.sha256 for doc in documents})
        # The catalog may outgrow the manifest row (64 KiB), so it lives in the index folder,
        # written right after each switch; a crash between the two leaves it one build behind.
        catalog = read_json(Path(folder) / CATALOG, {})
        self.catalog = catalog if catalog.get("generation") == manifest.get("generation") else {}
        self.documents = documents
        self.by_source = {doc.source: doc for doc in documents}
        generation, floor = manifest.get("generation", 0), manifest.get("floor", 0)
        self.generation, self.floor = generation, floor
        self.visible = f"born >= {floor} and born <= {generation} and died > {generation}"

    @staticmethod
    def open(folder: Path, location: str) -> "MilvusStore":
        """The index at `location` (`Backend.open`): IndexMissing without its collections,
        IndexUnavailable when unreachable, damaged, of another format or dimension."""
        from pymilvus.exceptions import MilvusException

        client, name = _connect(location)
        manifest_name = f"{name}_manifest"
        if not client.has_collection(manifest_name):
            raise IndexMissing(f"no index in Milvus at {location}; build one with: scoqa index --store {location} [PATH ...]")
        try:
            for suffix in ("_manifest", "_documents", "_chunks"):
                client.load_collection(name + suffix)  # a restarted server holds them released
            rows = client.query(manifest_name, filter='pk == "manifest"', output_fields=["json"])
            manifest = json.loads(rows[0]["json"])
            store = MilvusStore(folder, location, client, name, manifest, [])
            if manifest.get("format") != FORMAT_VERSION:
                raise IndexUnavailable(f"the index in Milvus at {location} has format {manifest.get('format')!r}, "
                                       f"this scoqa reads format {FORMAT_VERSION}; {REBUILD_HINT}")
            dim = _dimension(client.describe_collection(store.chunks_name))
            if dim != manifest["model"]["dimension"]:
                raise IndexUnavailable(f"the Milvus collection {store.chunks_name} at {location} holds {dim}-dimensional "
                                       f"vectors, not the {manifest['model']['dimension']} of model "
                                       f"{manifest['model']['name']!r}; {REBUILD_HINT}")
            documents = store._load_documents()
        except IndexUnavailable:
            raise
        except (MilvusException, *DAMAGE) as err:  # any unreadable part means a damaged index
            raise IndexUnavailable(f"the index in Milvus at {location} is damaged ({type(err).__name__}: {err}); "
                                   f"{REBUILD_HINT}") from None
        return MilvusStore(folder, location, client, name, manifest, documents)

    @staticmethod
    def create(folder: Path, location: str) -> "MilvusStore":
        """An empty store at `location` for a first build or a rebuild: rows already there
        stay visible until the build's switch. Collections are made by `commit`."""
        try:
            return MilvusStore.open(folder, location)
        except IndexMissing:
            client, name = _connect(location)
            return MilvusStore(folder, location, client, name, {}, [])
        except IndexUnavailable:  # damaged or made by another model: replaced whole
            client, name = _connect(location)
            for suffix in ("_chunks", "_documents", "_manifest"):
                if client.has_collection(name + suffix):
                    client.drop_collection(name + suffix)
            return MilvusStore(folder, location, client, name, {}, [])

    def _rows(self, collection: str, condition: str, fields: list[str]) -> Iterator[dict]:
        iterator = self.client.query_iterator(collection, batch_size=1000, filter=condition, output_fields=fields)
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    def _load_documents(self) -> list[Document]:
        pieces: dict[str, dict[int, str]] = {}
        for row in self._rows(self.documents_name, self.visible, ["source", "part", "piece"]):
            pieces.setdefault(row["source"], {})[row["part"]] = row["piece"]
        documents = [document_from_json(json.loads("".join(parts[p] for p in sorted(parts))))
                     for _, parts in sorted(pieces.items())]
        if len(documents) != self.manifest.get("documents_count"):
            raise IndexUnavailable(f"the index in Milvus at {self.location} is damaged (documents disagree with the "
                                   f"manifest); {REBUILD_HINT}")
        return documents

    @property
    def model(self) -> str:
        return self.manifest["model"]["name"]

    def __len__(self) -> int:
        return self.manifest.get("chunks", 0)

    def count(self, sources: set[str]) -> int:
        """`ChunkStore.count`: the visible rows of those sources, counted through a query."""
        if not sources:
            return 0
        return sum(1 for _ in self._rows(self.chunks_name, f"{self.visible} and {_in('source', sorted(sources))}", ["chunk"]))

    def _search(self, data, field: str, k: int, condition: str, params: dict) -> list[tuple[str, float]]:
        found = self.client.search(self.chunks_name, data=[data], anns_field=field, limit=k, filter=condition,
                                   output_fields=["chunk"], search_params=params)
        return [(hit["entity"]["chunk"], float(hit["distance"])) for hit in found[0]]

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """`ChunkStore.dense_search`: one search of the visible rows, with the manifest's nprobe."""
        params = {"metric_type": "IP", "params": {"nprobe": self.manifest["dense"]["nprobe"]}}
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "vector", k, self.visible, params)

    def _keyword(self, terms: Sequence[str], k: int, condition: str) -> list[tuple[str, float]]:
        # Milvus's BM25 is Robertson's, with (k1 + 1) in the numerator, which bm25s's Lucene
        # variant leaves out; dividing it out gives the folder's scores. Milvus Lite reports
        # the score negated as a distance, a server positive: a BM25 score is never negative.
        scale = 1 + BM25_PARAMS["k1"]
        return [(i, abs(s) / scale) for i, s in self._search(" ".join(terms), "sparse", k, condition,
                                                               {"metric_type": "BM25"})]

    def keyword_search(self, terms: Sequence[str], k: int, ids: Sequence[str] = ()) -> dict[str, float]:
        """`ChunkStore.keyword_search`: Milvus scores inside the server, by request: one search
        for the k best (returned best first), then one over only the named chunks that those
        left out; an id the collection does not hold finds no row and keeps 0.0."""
        found = dict(self._keyword(terms, k, self.visible)) if terms else {}
        rest = [i for i in ids if i not in found]
        found.update(dict.fromkeys(rest, 0.0))
        if terms and rest:
            found.update(self._keyword(terms, len(rest), f"{self.visible} and {_in('chunk', rest)}"))
        return found

    def _by_chunk(self, ids: Sequence[str], fields: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        rows = self.client.query(self.chunks_name, filter=f"{self.visible} and {_in('chunk', ids)}",
                                 output_fields=["chunk", *fields])
        return {row["chunk"]: row for row in rows}

    def dense_scores(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """`ChunkStore.dense_scores`, from the stored vectors, fetched in one query (KeyError for
        an id the collection does not hold)."""
        if not ids:
            return {}
        rows = self._by_chunk(ids, ["vector"])
        vectors = np.array([rows[i]["vector"] for i in ids], dtype=np.float32).reshape(len(ids), -1)
        return dict(zip(ids, (vectors @ vector).tolist()))

    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """`ChunkStore.chunks`, in one query: ids the collection does not hold are left out."""
        rows = self._by_chunk(ids, ["source", "start", "end", "fingerprints"])
        return {i: StoredChunk(i, Chunk(self.by_source[row["source"]], row["start"], row["end"]),
                               tuple(int(h) for h in row["fingerprints"].split()))
                for i, row in rows.items()}

    def _create(self, dimension: int, spec: DenseSpec) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("chunk", DataType.VARCHAR, max_length=32)
        schema.add_field("source", DataType.VARCHAR, max_length=4096)
        schema.add_field("sha256", DataType.VARCHAR, max_length=64)
        schema.add_field("date", DataType.VARCHAR, max_length=64)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=65535)
        schema.add_field("terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("fingerprints", DataType.VARCHAR, max_length=65535)
        schema.add_field("born", DataType.INT64)
        schema.add_field("died", DataType.INT64)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                     output_field_names=["sparse"]))
        indexes = self.client.prepare_index_params()
        if spec.kind == "flat":
            indexes.add_index("vector", index_type="FLAT", metric_type="IP")
        else:
            indexes.add_index("vector", index_type="IVF_FLAT", metric_type="IP", params={"nlist": spec.nlist})
        indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                          params={"bm25_k1": BM25_PARAMS["k1"], "bm25_b": BM25_PARAMS["b"]})
        self.client.create_collection(self.chunks_name, schema=schema, index_params=indexes)
        for name, key_length in ((self.documents_name, 128), (self.manifest_name, 16)):
            schema = _placeholder_schema(self.client, key_length)
            if name == self.documents_name:
                schema.add_field("source", DataType.VARCHAR, max_length=4096)
                schema.add_field("part", DataType.INT64)
                schema.add_field("piece", DataType.VARCHAR, max_length=65535)
                schema.add_field("born", DataType.INT64)
                schema.add_field("died", DataType.INT64)
            else:
                schema.add_field("json", DataType.VARCHAR, max_length=65535)
            indexes = self.client.prepare_index_params()
            indexes.add_index("placeholder", index_type="FLAT", metric_type="IP")
            self.client.create_collection(name, schema=schema, index_params=indexes)

    def _insert(self, collection: str, rows: list[dict], upsert: bool = False) -> None:
        write = self.client.upsert if upsert else self.client.insert
        for start in range(0, len(rows), BATCH):
            write(collection, rows[start : start + BATCH])

    def commit(self, changes: Changes) -> None:
        """Write generation G+1 beside G, switch the manifest row, then delete what G+1 no
        longer shows (see the module's docstring)."""
        dimension = changes.manifest["model"]["dimension"]
        if not self.client.has_collection(self.manifest_name):
            self._create(dimension, changes.dense)
        elif self.manifest and self.manifest["model"]["dimension"] != dimension:
            raise IndexUnavailable(f"the Milvus collection {self.chunks_name} at {self.location} holds "
                                   f"{self.manifest['model']['dimension']}-dimensional vectors; index into another "
                                   f"collection, or drop this one")
        old, new = self.generation, self.generation + 1
        for collection in (self.chunks_name, self.documents_name):
            self.client.delete(collection, filter=f"born > {old}")  # what an interrupted build left
        floor = new if changes.replace else self.floor
        kept = set() if changes.replace else {(doc.source, doc.sha256) for doc in changes.documents}
        gone = sorted(doc.source for doc in self.documents if (doc.source, doc.sha256) not in kept)
        held = {(doc.source, doc.sha256) for doc in self.documents}
        if gone and not changes.replace:
            for collection, fields in ((self.chunks_name, ["pk", "chunk", "source", "sha256", "date", "start", "end",
                                                           "text", "terms", "vector", "fingerprints", "born"]),
                                       (self.documents_name, ["pk", "placeholder", "source", "part", "piece", "born"])):
                dying = [dict(row, died=new) for row in self._rows(collection, f"{self.visible} and {_in('source', gone)}", fields)]
                self._insert(collection, dying, upsert=True)
        fresh = [doc for doc in changes.documents if changes.replace or (doc.source, doc.sha256) not in held]
        terms = keyword_tokens([c.search_text for c in changes.added]) if changes.added else []
        self._insert(self.documents_name, [
            {"pk": f"{i}.{part}.{new}", "placeholder": [1.0, 0.0], "source": doc.source, "part": part,
             "piece": text[start : start + PIECE], "born": new, "died": ALIVE}
            for i, doc in enumerate(fresh) for text in [document_to_json(doc)]
            for part, start in enumerate(range(0, max(len(text), 1), PIECE))])
        self._insert(self.chunks_name, [
            {"pk": f"{c.id}.{new}", "chunk": c.id, "source": c.chunk.source, "sha256": c.chunk.document.sha256,
             "date": c.chunk.document.date or "", "start": c.chunk.start, "end": c.chunk.end, "text": c.chunk.text,
             "terms": " ".join(words), "vector": np.asarray(c.vector, dtype=np.float32).tolist(),
             "fingerprints": " ".join(map(str, c.fingerprint)), "born": new, "died": ALIVE}
            for c, words in zip(changes.added, terms)])
        for collection in (self.chunks_name, self.documents_name):
            self.client.flush(collection)
        visible = f"born >= {floor} and born <= {new} and died > {new}"
        chunks = sum(1 for _ in self._rows(self.chunks_name, visible, ["chunk"]))
        manifest = dict(changes.manifest, format=FORMAT_VERSION, chunks=chunks, dense=changes.dense.__dict__,
                        bm25=BM25_PARAMS, generation=new, floor=floor, documents_count=len(changes.documents),
                        created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        manifest.pop("documents", None)
        self.client.upsert(self.manifest_name, [{"pk": "manifest", "placeholder": [1.0, 0.0],
                                                 "json": json.dumps(manifest, ensure_ascii=False)}])
        self.client.flush(self.manifest_name)
        if changes.catalog:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
            write_json(Path(self.folder) / CATALOG, dict(changes.catalog, generation=new))
        for collection in (self.chunks_name, self.documents_name):
            self.client.delete(collection, filter=f"born < {floor} or died <= {new}")


def _dimension(description: dict) -> int:
    for field in description["fields"]:
        if field["name"] == "vector":
            return int(field["params"]["dim"])
    raise IndexUnavailable("the chunks collection has no vector field")


def normalise(location: str) -> str | None:
    """`milvus://HOST:PORT/COLLECTION` as it is (checked), `milvus:PATH.db` with PATH made
    absolute; None for anything else."""
    if location.startswith("milvus://"):
        parse_server(location)
        return location
    if location.startswith("milvus:") and location.endswith(".db") and len(location) > len("milvus:.db"):
        return "milvus:" + str(Path(location[len("milvus:"):]).expanduser().resolve())
    return None


def _exists(folder: Path, location: str) -> bool:
    client, name = _connect(location)
    return bool(client.has_collection(f"{name}_manifest"))


BACKEND = Backend(
    scheme=SCHEME,
    forms=("milvus:PATH.db (Milvus Lite)", f"milvus://HOST:PORT/COLLECTION (token in ${TOKEN_VARIABLE})"),
    normalise=normalise,
    exists=_exists,
    built_with=lambda folder, location: MilvusStore.open(folder, location).model,
    open=MilvusStore.open,
    create=MilvusStore.create,
)
