"""The naive baseline: the LangChain RAG a user writes in an afternoon, on the same vectors and questions.

``langchain_chroma.Chroma(collection_name, embedding_function=<our e5 embedder>, persist_directory)``, then
``similarity_search(q, k=4)`` and the top chunk's text as the answer: no BM25, no fusion, no de-duplication, no
abstention, no citations. It uses *our* embedder (``CachedEmbeddings`` is a LangChain ``Embeddings``), so the
comparison isolates what the rest of the pipeline adds. The synthetic variants of the 10k/100k corpora have no
real embedding; :class:`KnownVectors` hands LangChain their precomputed vectors, so both systems index the very
same vectors (queries are always embedded live by e5).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from assistant.embeddings import CachedEmbeddings
    from evals.bench.corpora import BenchCorpus

NAIVE_K = 4


class KnownVectors(Embeddings):
    """Our cached e5 embedder, plus precomputed vectors for texts it never embedded (the synthetic variants)."""

    def __init__(self, inner: CachedEmbeddings, known: dict[str, np.ndarray] | None = None) -> None:
        self.inner = inner
        self.known = known or {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[Any] = [self.known.get(t) for t in texts]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            vecs = self.inner.embed_documents_np([texts[i] for i in todo])
            for j, i in enumerate(todo):
                out[i] = vecs[j]
        return [np.asarray(v, dtype=np.float32).tolist() for v in out]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


class NaivePipeline:
    """``Chroma.similarity_search(q, k=4)``; the answer is the first hit's text."""

    def __init__(self, persist_dir: Path, embeddings: Embeddings, collection: str = "naive-rag") -> None:
        from langchain_chroma import Chroma

        persist_dir.mkdir(parents=True, exist_ok=True)
        self.embeddings = embeddings
        self.db = Chroma(collection_name=collection, embedding_function=embeddings, persist_directory=str(persist_dir))

    def index(self, corpus: BenchCorpus, batch: int = 2000) -> dict[str, Any]:
        """``add_texts`` of every chunk's embedded text (the text our index embedded, so the cached vectors are
        reused); skipped when the collection already holds these ids."""
        ids = [c.chunk_id for c in corpus.chunks]
        col = self.db._collection
        if col.count() == len(ids) and len(col.get(ids=ids[:50], include=[])["ids"]) == min(50, len(ids)):
            return {"reused": True, "chunks": len(ids)}
        if col.count():
            self.db.delete(ids=col.get(include=[])["ids"])
        t = time.perf_counter()
        for s in range(0, len(ids), batch):
            part = corpus.chunks[s : s + batch]
            self.db.add_texts([c.embed_text for c in part], metadatas=[{"doc_id": c.doc_id} for c in part],
                              ids=[c.chunk_id for c in part])
        return {"reused": False, "chunks": len(ids), "seconds": round(time.perf_counter() - t, 2)}

    def ask(self, question: str) -> str:
        docs = self.db.similarity_search(question, k=NAIVE_K)
        return docs[0].page_content if docs else ""

    def rank(self, question: str, depth: int = 10) -> list[str]:
        """Passage ids for the quality metrics (depth 10 so R@5 and MRR@10 are defined; k=4 answers)."""
        return [d.metadata["doc_id"] for d in self.db.similarity_search(question, k=depth)]


def known_vectors(corpus: BenchCorpus) -> dict[str, np.ndarray]:
    """text → vector for the variants (real passages come from the embedding cache like any text)."""
    real = int(corpus.spec.get("real", len(corpus.chunks)))
    return {c.embed_text: corpus.vectors[i] for i, c in enumerate(corpus.chunks) if i >= real}
