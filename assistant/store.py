"""Persistence: the Chroma vector collection, the BM25 index, and atomic index generations.

How readers never see a half-built index
----------------------------------------
An ingest writes vectors into Chroma first (ids are content hashes, so re-writing is harmless), then writes a
complete *generation* folder (chunk texts and metadata, the BM25 index, the file manifest) and only then
switches the ``CURRENT`` pointer with an atomic ``os.replace``. Readers load whatever ``CURRENT`` names and
accept from Chroma only ids that belong to that generation; vectors of a crashed or still-running ingest are
therefore invisible, and the next ingest deletes them. Old generation folders are pruned after the switch.

Chroma runs embedded (``PersistentClient`` under ``index/chroma``) or as a ``chroma run`` server
(``CHROMA_HOST``/``CHROMA_PORT``). The collection name carries the embedding model and dimension, so a model
change creates a new collection and vectors of two models are never mixed.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.models import Chunk, Filters
from assistant.text import TOKENIZER_VERSION, correct_terms, remember_stems, tokenize


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached (e.g. the ``chroma run`` server is down)."""


class IndexWriteError(RuntimeError):
    """A new generation could not be written (disk full, read-only or immutable folder, no permission).

    Raised before ``CURRENT`` moves, after the half-written folder was removed: the previous generation stays
    current and complete, and the message (Indonesian) says why and what to do.
    """


_WRITE_REASONS = {
    errno.ENOSPC: "ruang disk penuh", errno.EDQUOT: "kuota disk habis", errno.EROFS: "sistem berkas hanya-baca",
    errno.EACCES: "tidak ada izin menulis", errno.EPERM: "folder tidak boleh diubah (izin atau atribut immutable)",
}


def _write_error(folder: Path, exc: OSError) -> IndexWriteError:
    reason = _WRITE_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return IndexWriteError(
        f"Indeks baru tidak dapat ditulis ke {folder}: {reason} ([Errno {exc.errno}] {exc.strerror}). "
        "Indeks lama tetap dipakai; kosongkan ruang disk atau periksa izin folder, lalu jalankan ingest lagi.")


def collection_name(prefix: str, model_name: str, dim: int) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", model_name.lower()).strip("-")
    return f"{prefix}-{slug}-{dim}"[:60].strip("-")


class VectorStore:
    """A Chroma collection tied to one embedding model (vectors are always passed explicitly)."""

    def __init__(self, index_dir: Path, name: str, model_name: str, dim: int, host: str | None = None,
                 port: int = 8000) -> None:
        self.name = name
        self.model_name = model_name
        self.dim = dim
        self.host = host
        self.port = port
        self.index_dir = Path(index_dir)
        self._client: Any = None
        self._col: Any = None

    def _collection(self):
        if self._col is not None:
            return self._col
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        cs = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.host:
                self._client = chromadb.HttpClient(host=self.host, port=self.port, settings=cs)
            else:
                self.index_dir.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(self.index_dir / "chroma"), settings=cs)
            # embedding_function=None: we always pass vectors, so Chroma never tries to download its default model.
            self._col = self._client.get_or_create_collection(
                self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.model_name, "dim": self.dim},
            )
        except Exception as exc:
            self._client = self._col = None
            raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
        meta = self._col.metadata or {}
        if meta.get("embedding_model") not in (None, self.model_name) or int(meta.get("dim", self.dim)) != self.dim:
            raise RuntimeError(f"collection {self.name} belongs to {meta}, not {self.model_name}/{self.dim}")
        return self._col

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(self._collection(), *args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if self.host and _is_connection_error(exc):
                self._col = None  # reconnect on the next call: the server may come back
                raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
            raise

    def heartbeat(self) -> bool:
        try:
            self._collection()
            self._client.heartbeat()
            return True
        except Exception:
            self._col = None
            return False

    def count(self) -> int:
        return self._call(lambda c: c.count())

    def _get(self, ids: list[str], include: list[str]) -> Iterator[dict[str, Any]]:
        """Chroma ``get`` of ``ids``, 5,000 ids per request (as ``delete`` batches them)."""
        for s in range(0, len(ids), 5000):
            yield self._call(lambda c, p=ids[s : s + 5000]: c.get(ids=p, include=include))

    def existing(self, ids: list[str]) -> set[str]:
        return {i for res in self._get(ids, []) for i in res["ids"]}

    def all_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            res = self._call(lambda c, o=offset: c.get(include=[], limit=10000, offset=o))
            if not res["ids"]:
                return out
            out.update(res["ids"])
            offset += len(res["ids"])

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, batch: int = 2000) -> None:
        for s in range(0, len(chunks), batch):
            part = chunks[s : s + batch]
            vecs = vectors[s : s + batch]
            self._call(lambda c, p=part, v=vecs: c.upsert(
                ids=[ch.chunk_id for ch in p], embeddings=v, metadatas=[ch.metadata() for ch in p]))

    def vectors_of(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids Chroma lacks are absent from the result)."""
        out: dict[str, np.ndarray] = {}
        for res in self._get(ids, ["embeddings"]):
            out.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32), strict=True))
        return out

    def delete(self, ids: list[str]) -> None:
        for s in range(0, len(ids), 5000):
            part = ids[s : s + 5000]
            self._call(lambda c, p=part: c.delete(ids=p))

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest ids with cosine similarity (1 - cosine distance)."""
        res = self._call(lambda c: c.query(query_embeddings=[vector], n_results=max(1, n), where=where or None,
                                           include=["distances"]))
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]


def _is_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "refused", "unavailable", "remoteprotocol", "502", "503"))


def _index_vectorised(model: Any, docs: list[list[str]]) -> dict[str, int]:
    """What ``bm25s.BM25.index`` builds for its default Lucene BM25, computed with whole-array numpy operations
    instead of bm25s' per-document Python loops: 1.9 s instead of 4.7 s for 100k chunks, the very same postings
    (checked against bm25s in ``tests/test_retrieval.py``). Returns the document frequency of every term.

    bm25s keeps one column per term (CSC): ``indptr`` over the vocabulary, the chunks holding the term in
    ``indices`` (ascending, which :meth:`BM25Index.term_presence` relies on) and their scores in ``data``.
    """
    if model.method != "lucene" or model.idf_method != "lucene":  # only the scorer this project uses
        raise ValueError("vectorised indexing implements the Lucene BM25 variant only")
    vocab: dict[str, int] = {}
    flat = np.fromiter((vocab.setdefault(w, len(vocab)) for d in docs for w in d), dtype=np.int64)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    n, n_vocab = len(docs), len(vocab)
    # One key per token occurrence, ordered by term then chunk; equal keys are one term's count in one chunk.
    keys, tf = np.unique(flat * n + np.repeat(np.arange(n, dtype=np.int64), lengths), return_counts=True)
    term, doc = keys // n, keys % n
    df = np.bincount(term, minlength=n_vocab)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    tfc = tf / (tf + model.k1 * (1 - model.b + model.b * lengths[doc] / lengths.mean()))
    model.scores = {"data": (idf[term] * tfc).astype(model.dtype), "indices": doc.astype(model.int_dtype),
                    "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int64), "num_docs": n}
    model.nonoccurrence_array = None
    model.vocab_dict = {**vocab, "": n_vocab}  # bm25s' empty token, appended the same way
    model.unique_token_ids_set = set(model.vocab_dict.values())
    return dict(zip(vocab, df.tolist(), strict=True))


class BM25Index:
    """bm25s over Indonesian tokens (Sastrawi stems, stop-words removed)."""

    def __init__(self, model: Any = None, df: dict[str, int] | None = None, n_docs: int = 0) -> None:
        self.model = model
        self._vocab: dict[str, int] = dict(getattr(model, "vocab_dict", None) or {}) if model is not None else {}
        self.df = df or {}
        self.n_docs = n_docs
        # word → stem of every indexed word: readers load it so answering never asks Sastrawi for an indexed word.
        self.stems: dict[str, str] = {}

    @classmethod
    def build(cls, texts: list[str], known: list[list[str] | None] | None = None,
              known_stems: dict[str, str] | None = None) -> BM25Index:
        """Index ``texts``; ``known[i]``, when given, are the tokens of ``texts[i]`` from a previous build
        (stemming every chunk again dominated the ingest of a small change into a 100k-chunk index), and
        ``known_stems`` that build's stem table, carried into this one's."""
        import bm25s

        model = bm25s.BM25(k1=1.2, b=0.75)
        stems: dict[str, str] = dict(known_stems or {})
        corpus_tokens = [(known[i] if known and known[i] is not None else tokenize(t, stems=stems)) or ["_kosong_"]
                         for i, t in enumerate(texts)]
        df = _index_vectorised(model, corpus_tokens) if texts else {}
        index = cls(model if texts else None, df, len(texts))
        index.doc_tokens = corpus_tokens
        index.stems = stems
        return index

    def query_terms(self, query: str) -> list[str]:
        """Query tokens with typos mapped onto the indexed vocabulary (memoised: users repeat themselves)."""
        return list(self._corrected(query))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one index object per generation; bounded
    def _corrected(self, query: str) -> tuple[str, ...]:
        return tuple(correct_terms(tokenize(query), self.df or self._vocab, surface=self.stems))

    def idf(self, term: str) -> float:
        """Rarity of a term in the indexed chunks; a term the corpus never uses gets the highest value.

        The answerer uses it to notice questions whose key word the documents do not contain at all
        ("Kota Medan …", "cuaca …").
        """
        return math.log((self.n_docs + 1) / (self.df.get(term, 0) + 0.5))

    doc_tokens: list[list[str]] | None = None

    def save(self, folder: Path) -> None:
        if self.model is not None:
            self.model.save(str(folder), show_progress=False)
        if self.doc_tokens is not None:  # for the next ingest only; readers never load it
            _write_tokenizer_file(folder / "tokens.txt", (" ".join(t) for t in self.doc_tokens))
        if self.stems:
            _write_tokenizer_file(folder / "stems.tsv", (f"{w}\t{st}" for w, st in self.stems.items()))
        (folder / "df.json").write_text(json.dumps({"n_docs": self.n_docs, "df": self.df}, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        if not (folder / "params.index.json").exists():
            return cls(None)
        stats = json.loads((folder / "df.json").read_text()) if (folder / "df.json").exists() else {}
        index = cls(bm25s.BM25.load(str(folder), mmap=False, show_progress=False, verbosity=0),
                    stats.get("df"), int(stats.get("n_docs", 0)))
        index.stems = _load_stems(folder / "stems.tsv")
        remember_stems(index.stems)
        return index

    def term_presence(self, terms: list[str], docs: np.ndarray) -> np.ndarray:
        """``(len(docs), len(terms))`` booleans: does chunk ``docs[i]`` contain ``terms[t]``?

        Read straight from bm25s' inverted lists (the chunks a term's column holds), so it costs a lookup per
        term rather than re-tokenising candidate texts on every query. A term the index does not know is in
        no chunk.
        """
        out = np.zeros((len(docs), len(terms)), dtype=bool)
        if self.model is None or not len(docs):
            return out
        indptr, indices = self.model.scores["indptr"], self.model.scores["indices"]
        for t, term in enumerate(terms):
            tid = self._vocab.get(term)
            if tid is None:
                continue
            posting = indices[indptr[tid]:indptr[tid + 1]]
            if not len(posting):
                continue
            if self._sorted_postings:  # binary search: 0.1 ms instead of 7 ms for a common term at 100k chunks
                pos = np.minimum(np.searchsorted(posting, docs), len(posting) - 1)
                out[:, t] = posting[pos] == docs
            else:
                out[:, t] = np.isin(docs, posting)
        return out

    @functools.cached_property
    def _sorted_postings(self) -> bool:
        """bm25s writes each term's chunk list in ascending order (a CSC matrix); checked once, not assumed."""
        indptr, indices = self.model.scores["indptr"], self.model.scores["indices"]
        rising = np.diff(indices) > 0
        # Within a posting list every step rises; only the boundaries between lists may fall.
        starts = indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < len(indices))] - 1
        rising[starts] = True
        return bool(rising.all())

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every chunk (same order as the generation), or None for an empty/unknown query."""
        if self.model is None:
            return None
        toks = [t for t in self.query_terms(query) if t in self._vocab]
        if not toks:
            return None
        return np.asarray(self.model.get_scores(toks), dtype=np.float32)


_TOKENIZER_HEADER = f"#tokenizer {TOKENIZER_VERSION}"


def _write_tokenizer_file(path: Path, lines: Iterable[str]) -> None:
    """A text file of tokenizer output, headed by the tokenizer version so a later tokenizer ignores it."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_TOKENIZER_HEADER + "\n")
        fh.writelines(line + "\n" for line in lines)


def _read_tokenizer_file(path: Path) -> list[str] | None:
    """The lines of a :func:`_write_tokenizer_file` file; None when absent or written by another tokenizer."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.readline().strip() != _TOKENIZER_HEADER:
                return None
            return fh.read().split("\n")
    except OSError:
        return None


def _load_stems(path: Path) -> dict[str, str]:
    """An index's stem table; empty when absent (older generations) or written by another tokenizer."""
    return dict(row.split("\t", 1) for row in _read_tokenizer_file(path) or [] if "\t" in row)


VECTORS_FILE = "vectors.npy"


def _load_vectors(folder: Path, n: int) -> np.ndarray | None:
    """The generation's vectors, memory-mapped (pages are read on first touch, shared with other readers), or
    None when the folder has none (written before they were kept) or they do not line up with its chunks."""
    try:
        vecs = np.load(folder / VECTORS_FILE, mmap_mode="r")
    except (FileNotFoundError, ValueError):
        return None
    return vecs if vecs.ndim == 2 and vecs.shape[0] == n and vecs.dtype == np.float32 else None


@dataclass
class Generation:
    """One complete, immutable index state as readers see it.

    ``vectors`` (row i = the stored vector of ``chunks[i]``, the same floats Chroma holds) lets retrieval score
    a handful of known chunks — BM25-only candidates, a one-document filter — with a dot product instead of a
    Chroma ``get``: 25 ids cost 1.5 ms embedded and 4.9 ms from a ``chroma run`` server. Chroma stays the
    nearest-neighbour index; this is a read-only copy aligned with the chunk list.
    """

    name: str
    chunks: list[Chunk]
    bm25: BM25Index
    manifest: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)
    vectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.ids = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    @classmethod
    def empty(cls) -> Generation:
        return cls("", [], BM25Index(None), {"files": {}, "settings": {}})

    @functools.cached_property
    def _columns(self) -> dict[str, np.ndarray]:
        """Filterable metadata as numpy columns, built once per generation (a mask then costs microseconds,
        not a Python loop over every chunk)."""
        return {"topic": np.array([c.topic for c in self.chunks], dtype=object),
                "doc_id": np.array([c.doc_id for c in self.chunks], dtype=object)}

    def matching(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask of chunks allowed by the filters (None = all)."""
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        for key, column in self._columns.items():
            want = getattr(filters, key)
            if want:
                mask &= np.isin(column, [want] if isinstance(want, str) else list(want))
        return mask


@dataclass
class PreparedGeneration:
    """A complete generation folder written under a ``.tmp`` name, waiting for :meth:`GenerationStore.commit`."""

    name: str
    folder: Path
    chunks: list[Chunk]
    manifest: dict[str, Any]
    bm25: BM25Index
    has_vectors: bool = False


class GenerationStore:
    """The folder of generations for one collection, with the atomic ``CURRENT`` pointer and a writer lock."""

    KEEP = 2

    def __init__(self, index_dir: Path, collection: str) -> None:
        self.root = Path(index_dir) / "state" / collection
        self.gens = self.root / "generations"
        self.pointer = self.root / "CURRENT"
        # The newest generation this process loaded or published. Generation folders never change once
        # written, so the same name means the same content: the indexer's "old" state, the readers' reload
        # after a publish and the next ingest all reuse it instead of re-reading every chunk (seconds at 100k).
        self._last: Generation | None = None

    def current_name(self) -> str:
        try:
            return json.loads(self.pointer.read_text())["generation"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return ""

    def pointer_stamp(self) -> float:
        """Cheap change detector for readers: the pointer's mtime."""
        try:
            return self.pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def load(self) -> Generation:
        for _ in range(3):  # the pointer may move (and old folders be pruned) while we read: retry
            name = self.current_name()
            if not name:
                return Generation.empty()
            last = self._last
            if last is not None and last.name == name:
                return last
            folder = self.gens / name
            try:
                with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
                    chunks = [Chunk.from_dict(json.loads(line)) for line in fh]
                manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
                bm25 = BM25Index.load(folder / "bm25")
                self._last = Generation(name, chunks, bm25, manifest, vectors=_load_vectors(folder, len(chunks)))
                return self._last
            except FileNotFoundError:
                time.sleep(0.05)
        raise RuntimeError("index generation could not be loaded")

    def load_tokens(self, gen: Generation) -> dict[str, list[str]]:
        """chunk id → BM25 tokens of a published generation (empty if absent or from another tokenizer)."""
        tokens = gen.bm25.doc_tokens  # still in memory when this process built the generation
        if tokens is not None and len(tokens) == len(gen.chunks):
            return {c.chunk_id: tokens[i] for i, c in enumerate(gen.chunks)}
        lines = _read_tokenizer_file(self.gens / gen.name / "bm25" / "tokens.txt")
        if lines is None or len(lines) < len(gen.chunks):
            return {}
        return {c.chunk_id: lines[i].split() for i, c in enumerate(gen.chunks)}

    def publish(self, chunks: list[Chunk], manifest: dict[str, Any], bm25: BM25Index,
                vectors: np.ndarray | None = None) -> str:
        """Write a complete generation, then switch ``CURRENT`` to it atomically (:meth:`prepare`,
        :meth:`add_vectors` when given, :meth:`commit`)."""
        prepared = self.prepare(chunks, manifest, bm25)
        if vectors is not None:
            self.add_vectors(prepared, vectors)
        return self.commit(prepared)

    def prepare(self, chunks: list[Chunk], manifest: dict[str, Any], bm25: BM25Index) -> PreparedGeneration:
        """Write and fsync a complete generation folder under a ``.tmp`` name; nothing points to it yet.

        Split from :meth:`commit` so an ingest can write it while its new chunks are still being embedded. A
        write failure (disk full, read-only folder) removes what was half written — on a full disk a leftover
        folder would keep it full — and raises :class:`IndexWriteError`; readers keep the previous generation.
        """
        # We hold the writer lock: a .tmp folder, or a finished folder newer than CURRENT, is what a killed
        # writer left. Clear it first, so it neither fills the disk nor takes a kept slot after the switch.
        self.prune()
        name = time.strftime("g%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        tmp = self.gens / (name + ".tmp")
        try:
            self.gens.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for c in chunks:
                    fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
            (tmp / "bm25").mkdir()
            bm25.save(tmp / "bm25")
            _fsync_tree(tmp)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _write_error(self.gens, exc) from exc
        return PreparedGeneration(name, tmp, chunks, manifest, bm25)

    def add_vectors(self, prepared: PreparedGeneration, vectors: np.ndarray) -> None:
        """Write the chunks' vectors (row i for ``prepared.chunks[i]``) into the prepared folder, fsynced.

        A separate step because an ingest prepares the folder while its new chunks are still being embedded.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(prepared.chunks):
            raise ValueError(f"{vectors.shape} vectors for {len(prepared.chunks)} chunks")
        path = prepared.folder / VECTORS_FILE
        try:
            with open(path, "wb") as fh:
                np.save(fh, vectors)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            self.discard(prepared)
            raise _write_error(self.gens, exc) from exc
        prepared.has_vectors = True

    def commit(self, prepared: PreparedGeneration) -> str:
        """Give a prepared folder its final name and switch ``CURRENT`` to it atomically."""
        name = prepared.name
        ptr_tmp = self.root / f"CURRENT.{uuid.uuid4().hex[:6]}.tmp"
        try:
            os.replace(prepared.folder, self.gens / name)
            ptr_tmp.write_text(json.dumps({"generation": name, "chunks": len(prepared.chunks),
                                           "published": time.time()}))
            with open(ptr_tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        except OSError as exc:
            self.discard(prepared)
            shutil.rmtree(self.gens / name, ignore_errors=True)
            ptr_tmp.unlink(missing_ok=True)
            raise _write_error(self.gens, exc) from exc
        os.replace(ptr_tmp, self.pointer)
        _fsync_dir(self.root)
        vectors = _load_vectors(self.gens / name, len(prepared.chunks)) if prepared.has_vectors else None
        self._last = Generation(name, prepared.chunks, prepared.bm25, prepared.manifest, vectors=vectors)
        self.prune(keep_also=name)
        return name

    @staticmethod
    def discard(prepared: PreparedGeneration) -> None:
        """Drop a prepared folder that will not be committed (the ingest failed after preparing it)."""
        shutil.rmtree(prepared.folder, ignore_errors=True)

    def prune(self, keep_also: str = "") -> None:
        """Remove unfinished (*.tmp) folders and all but the newest finished generations.

        Called under the writer lock, so a folder named later than ``CURRENT`` (names are timestamps) was never
        pointed to — an ingest killed between renaming its folder and switching the pointer — and does not count
        among the kept ones; otherwise it would push out the previous generation that readers may still load.
        """
        if not self.gens.exists():
            return
        current = self.current_name()
        finished = sorted(p for p in self.gens.iterdir() if p.is_dir() and not p.name.endswith(".tmp")
                          and (not current or p.name <= current or p.name == keep_also))
        keep = {p.name for p in finished[-self.KEEP:]} | {current, keep_also}
        for p in self.gens.iterdir():
            if p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob("CURRENT.*.tmp"):
            p.unlink(missing_ok=True)

    @contextmanager
    def writer_lock(self, timeout: float = 600.0) -> Iterator[None]:
        """One writer at a time per collection (across processes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "ingest.lock", "a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError("another ingest holds the index lock") from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
