"""Fusion strategies and the candidate table they score (no model needed: signals are given)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieval import (
    FEATURES,
    RANKING_FEATURES,
    BoostedFusion,
    Candidates,
    LearnedFusion,
    ReciprocalRankFusion,
    WeightedScoreFusion,
    build_fusion,
    fusion_features,
    learned_weights,
    ranking_features,
    trained_ranker,
)
from assistant.store import BM25Index
from assistant.text import tokenize

TEXTS = [
    "Kota Pekalongan di Jawa Tengah dikenal sebagai kota batik dan pelabuhan.",
    "Pekalongan ditetapkan UNESCO sebagai kota kreatif bidang kriya dan seni rakyat pada 2014.",
    "Bandung bergabung dengan jejaring kota kreatif bidang desain pada 2015.",
]


def _table(index: BM25Index, question: str, dense: list[float]) -> Candidates:
    ids = np.arange(len(dense))
    terms = list(dict.fromkeys(index.query_terms(question)))
    scores = index.scores(question)
    return Candidates(ids=ids, dense=np.array(dense), bm25=scores[ids].astype(np.float64),
                      presence=index.term_presence(terms, ids),
                      term_weights=np.array([index.idf(t) for t in terms]))


def test_term_presence_matches_the_tokenizer():
    index = BM25Index.build(TEXTS)
    terms = ["pekalong", "kreatif", "desain", "tidakada"]
    got = index.term_presence(terms, np.array([2, 0, 1]))
    want = np.array([[t in set(tokenize(TEXTS[d])) for t in terms] for d in (2, 0, 1)])
    assert got.tolist() == want.tolist()
    assert not got[:, 3].any()  # a term the index never saw is in no chunk


def test_features_measure_coverage_of_rare_terms():
    index = BM25Index.build(TEXTS)
    c = _table(index, "Pekalongan kota kreatif bidang apa?", [0.86, 0.85, 0.84])
    F = fusion_features(c)
    assert F.shape == (3, len(FEATURES))
    assert F[0, 0] == 0.0 and F[1, 0] == pytest.approx(-0.1)  # dense gap in tenths of cosine
    cov = dict(zip(range(3), F[:, 2], strict=True))
    assert cov[1] > cov[0] and cov[1] > cov[2]  # only the second holds both "Pekalongan" and "kreatif bidang"
    assert F[1, 3] == 1.0 and F[0, 3] == 0.0


def test_learned_fusion_lets_coverage_overturn_a_near_tie():
    """The intro paragraph is a hair ahead on cosine; the one holding the asked attribute must win."""
    index = BM25Index.build(TEXTS)
    c = _table(index, "Pekalongan kota kreatif bidang apa?", [0.86, 0.855, 0.80])
    learned = LearnedFusion(np.array([6.0, 0.0, 1.5, 0.2]))
    dense_only = WeightedScoreFusion(0.0)
    assert int(np.argmax(dense_only.fuse(c))) == 0
    scores = learned.fuse(c)
    assert int(np.argmax(scores)) == 1
    assert scores.max() == 1.0 and scores.min() == 0.0  # rescaled per question for the answerer's rank prior


def test_a_far_better_cosine_still_wins():
    index = BM25Index.build(TEXTS)
    c = _table(index, "Pekalongan kota kreatif bidang apa?", [0.95, 0.80, 0.78])
    assert int(np.argmax(LearnedFusion(np.array([6.0, 0.0, 1.5, 0.2])).fuse(c))) == 0


def test_rrf_ignores_bm25_for_candidates_without_a_match():
    c = Candidates(ids=np.arange(3), dense=np.array([0.9, 0.8, 0.7]), bm25=np.array([0.0, 2.0, 1.0]),
                   presence=np.zeros((3, 0), dtype=bool), term_weights=np.zeros(0))
    s = ReciprocalRankFusion(0.5).fuse(c)
    assert s[0] == pytest.approx(0.5 / 61)
    assert s[1] == pytest.approx(0.5 / 62 + 0.5 / 61)


def test_build_fusion_uses_trained_weights_only_for_their_model():
    weights = learned_weights("multilingual-e5-small-q4")
    assert weights is not None and weights.shape == (len(FEATURES),)
    assert isinstance(build_fusion("learned", 0.15, "multilingual-e5-small-q4"), LearnedFusion)
    fallback = build_fusion("learned", 0.3, "all-MiniLM-L6-v2")
    assert isinstance(fallback, WeightedScoreFusion) and fallback.w == 0.3
    assert isinstance(build_fusion("rrf", 0.5), ReciprocalRankFusion)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_ranking_features_mark_a_hub_passage_as_dense():
    """A candidate close to every other candidate gets positive density and a lower CSLS-corrected gap."""
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    spread = _unit(rng.normal(size=(12, 16)))
    vectors = _unit(np.vstack([centre, spread + 0.2 * _unit(centre[None])]))
    vectors[0] = _unit((spread.sum(axis=0) + 0.1 * centre)[None])[0]  # the hub: the others' centroid
    n = len(vectors)
    c = Candidates(ids=np.arange(n), dense=np.full(n, 0.8), bm25=np.zeros(n),
                   presence=np.zeros((n, 0), dtype=bool), term_weights=np.zeros(0), vectors=vectors)
    F = ranking_features(c)
    assert F.shape == (n, len(RANKING_FEATURES))
    col = {name: F[:, i] for i, name in enumerate(RANKING_FEATURES)}
    assert col["density"][0] == col["density"].max() > 0
    assert col["density_gap"][0] == col["density_gap"].min() < 0
    assert col["density"].mean() == pytest.approx(0.0, abs=1e-9)
    assert np.all(col["bm25_rank_log"] == np.log(100))  # no term matched: the "absent" rank
    c.vectors = None  # a caller without vectors: density features are zero, the rest unchanged
    F0 = ranking_features(c)
    assert not F0[:, -2:].any() and np.array_equal(F0[:, :-2], F[:, :-2])


def test_ranking_features_carry_per_question_context():
    index = BM25Index.build(TEXTS)
    c = _table(index, "Pekalongan kota kreatif bidang apa?", [0.86, 0.80, 0.78])
    col = {name: ranking_features(c)[:, i] for i, name in enumerate(RANKING_FEATURES)}
    assert np.allclose(col["dense_margin"], 0.06) and np.allclose(col["cosine"], [0.86, 0.80, 0.78])
    assert np.allclose(col["dense_rank_log"], np.log([1, 2, 3]))
    assert np.all(col["query_terms"] == c.presence.shape[1]) and col["query_terms"][0] >= 3
    assert col["term_share"][1] == col["term_share"].max()


def test_the_shipped_ranker_loads_for_its_model_and_keeps_a_far_better_cosine_first():
    model = trained_ranker("multilingual-e5-small-q4")
    assert model is not None
    fusion = build_fusion("boosted", 0.15, "multilingual-e5-small-q4")
    assert isinstance(fusion, BoostedFusion) and fusion.needs_vectors
    index = BM25Index.build(TEXTS)
    c = _table(index, "Pekalongan kota kreatif bidang apa?", [0.92, 0.78, 0.76])
    scores = fusion.fuse(c)
    assert int(np.argmax(scores)) == 0
    assert scores.max() == 1.0 and scores.min() == 0.0
    assert fusion.fuse(Candidates(ids=np.arange(0), dense=np.zeros(0), bm25=np.zeros(0),
                                  presence=np.zeros((0, 0), dtype=bool), term_weights=np.zeros(0))).size == 0


def test_boosted_falls_back_to_linear_then_weighted(tmp_path):
    assert trained_ranker("all-MiniLM-L6-v2") is None
    fallback = build_fusion("boosted", 0.3, "all-MiniLM-L6-v2")
    assert isinstance(fallback, WeightedScoreFusion) and fallback.w == 0.3
    stale = tmp_path / "ranker.json"  # a ranker trained on another feature list is not applied
    stale.write_text('{"m": {"features": ["dense_gap"], "model": "tree"}}', encoding="utf-8")
    assert trained_ranker("m", stale) is None
    c = _table(BM25Index.build(TEXTS), "batik", [0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match="features"):  # a model of the wrong shape fails loudly, not silently
        BoostedFusion(_one_feature_model()).fuse(c)


def _one_feature_model() -> str:
    """A real (tiny) LightGBM model over one feature: the wrong shape for ``ranking_features``."""
    import lightgbm

    X = np.arange(40, dtype=np.float64)[:, None]
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_in_leaf": 5},
                             lightgbm.Dataset(X, label=X[:, 0]), num_boost_round=2)
    return booster.model_to_string()


def test_vectorised_bm25_equals_bm25s_on_the_corpus():
    """``BM25Index.build`` computes bm25s' Lucene index with numpy; on the project's real chunks it must give
    bm25s' own postings and scores (a silent scoring drift would move every hybrid ranking)."""
    import bm25s

    from assistant.chunking import Chunker
    from assistant.documents import iter_source_files, load_file
    from tests.conftest import REPO

    texts = [c.embed_text for p in iter_source_files([REPO / "corpus"])
             for c in Chunker().split(load_file(p, max_bytes=10_000_000))]
    ours = BM25Index.build(texts)
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index([t or ["_kosong_"] for t in ours.doc_tokens], show_progress=False)
    assert set(ours.model.vocab_dict) == set(ref.vocab_dict)
    for question in ["Kapan Jejaring Kota Kreatif UNESCO dibentuk?", "syarat surat dukungan Komisi Nasional",
                     "Berapa jumlah anggota UCCN pada 2025?", "KaTa Kreatif PMK3I Kemenekraf"]:
        toks = [t for t in tokenize(question) if t in ref.vocab_dict]
        np.testing.assert_allclose(ours.model.get_scores(toks), ref.get_scores(toks), rtol=1e-5, atol=1e-6)
    assert ours.df == {w: int(np.count_nonzero([w in d for d in ours.doc_tokens])) for w in ours.df}
    assert ours._sorted_postings  # ascending chunk ids within each term: term_presence binary-searches them
