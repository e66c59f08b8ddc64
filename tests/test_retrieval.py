"""Fusion strategies and the candidate table they score (no model needed: signals are given)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieval import (
    FEATURES,
    Candidates,
    LearnedFusion,
    ReciprocalRankFusion,
    WeightedScoreFusion,
    build_fusion,
    fusion_features,
    learned_weights,
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
