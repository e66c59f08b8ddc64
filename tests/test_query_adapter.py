"""The opt-in query adapter: tied to its model, ranks with the mapped vector, reports the model's own cosine."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embeddings import QUERY_ADAPTER, CachedEmbeddings, QueryAdapter
from assistant.retrieval import LearnedFusion, build_fusion, learned_weights

E5 = "multilingual-e5-small-q4"


def test_the_shipped_adapter_loads_only_for_its_model_and_dimension(tmp_path):
    adapter = QueryAdapter.load(E5, 384)
    assert adapter is not None and adapter.meta["split"] == "train"
    assert QueryAdapter.load("all-MiniLM-L6-v2", 384) is None
    assert QueryAdapter.load(E5, 512) is None
    assert QueryAdapter.load(E5, 384, tmp_path / "missing.npz") is None
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    assert QueryAdapter.load(E5, 384, broken) is None
    assert QUERY_ADAPTER.stat().st_size < 1_000_000  # float16, kept small enough for the repository


def test_apply_returns_a_unit_vector_and_a_zero_map_is_the_identity():
    rng = np.random.default_rng(0)
    q = rng.normal(size=8).astype(np.float32)
    q /= np.linalg.norm(q)
    assert np.allclose(QueryAdapter(np.zeros((8, 8)), {}).apply(q), q, atol=1e-6)
    moved = QueryAdapter(rng.normal(scale=0.3, size=(8, 8)), {}).apply(q)
    assert abs(float(np.linalg.norm(moved)) - 1.0) < 1e-5
    assert not np.allclose(moved, q)


def test_the_adapter_has_its_own_fusion_weights():
    """The shipped adapter and fusion_weights.json must agree, or ``learned`` silently becomes ``weighted``."""
    adapter = QueryAdapter.load(E5, 384)
    space = f"{E5}+qa-{adapter.tag}"
    assert learned_weights(space) is not None
    assert isinstance(build_fusion("learned", 0.15, space), LearnedFusion)
    assert not np.allclose(learned_weights(space), learned_weights(E5))


def test_query_space_names_the_adapter_and_queries_keep_the_model_vector(embedder):
    adapter = QueryAdapter.load(embedder.model_name, embedder.dim)
    adapted = CachedEmbeddings(embedder.inner, None, query_adapter=adapter)
    assert embedder.query_space == embedder.model_name
    assert adapted.query_space == f"{embedder.model_name}+qa-{adapter.tag}"
    q = "Kapan Jejaring Kota Kreatif UNESCO dibentuk?"
    raw = adapted.embed_query_np(q)
    assert np.allclose(raw, embedder.embed_query_np(q), atol=1e-6)
    assert np.allclose(adapted.search_vector(raw), adapter.apply(raw))
    assert np.allclose(embedder.search_vector(raw), raw)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_retrieval_ranks_with_the_adapter_and_reports_the_model_cosine(corpus_index, embedder, mode):
    """Abstention is calibrated on the model's cosines, so ``dense`` must stay the unadapted one."""
    from assistant.assistant import Assistant

    adapter = QueryAdapter.load(embedder.model_name, embedder.dim)
    adapted = CachedEmbeddings(embedder.inner, None, query_adapter=adapter)
    settings = corpus_index.model_copy(update={"retrieval_mode": mode})
    plain, mapped = Assistant(settings, embedder=embedder), Assistant(settings, embedder=adapted)
    assert mapped.status()["query_space"] == adapted.query_space
    questions = ["Kapan Jejaring Kota Kreatif UNESCO dibentuk?", "Berapa kota kreatif di Indonesia?",
                 "Apa saja tujuh bidang kreatif UCCN?", "Siapa yang mengusulkan kota ke UNESCO?"]
    differs = False
    for q in questions:
        hits = mapped.retrieve(q, k=8)
        assert hits
        qraw = embedder.embed_query_np(q)
        got = mapped.vectors._call(lambda c, hits=hits: c.get(ids=[h.chunk.chunk_id for h in hits],
                                                              include=["embeddings"]))
        vec = dict(zip(got["ids"], got["embeddings"], strict=True))
        for h in hits:
            assert h.dense == pytest.approx(float(np.dot(np.asarray(vec[h.chunk.chunk_id]), qraw)), abs=1e-4)
        differs |= [h.chunk.chunk_id for h in hits] != [h.chunk.chunk_id for h in plain.retrieve(q, k=8)]
    assert differs, "the adapter never changed a ranking: it is not being applied"
    for a in (plain, mapped):
        a.feedback.close()
        a.conversations.close()


def test_settings_switch_the_adapter_on_and_off(make_settings):
    from assistant.generators import build_embedder

    on, off = build_embedder(make_settings(query_adapter=True)), build_embedder(make_settings())
    try:
        assert on.query_adapter is not None and "+qa-" in on.query_space
        assert off.query_adapter is None and off.query_space == off.model_name  # default: the model's own
    finally:
        on.close()
        off.close()
