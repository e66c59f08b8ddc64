"""The fusion trainer's cross-validation: every question is scored once, by models that never saw it."""

from __future__ import annotations

import numpy as np

from assistant.retrieval import Candidates
from evals.tune_fusion import BenchData, cross_validate


def _bench(name: str, n_questions: int, seed: int) -> BenchData:
    """Synthetic candidate tables where the gold passage is the one with the strongest lexical and dense signal,
    hidden behind a noisy cosine: a model trained on the other folds must learn to use BM25 and term coverage."""
    rng = np.random.default_rng(seed)
    bench = BenchData.__new__(BenchData)  # the real constructor embeds a benchmark; only its tables matter here
    bench.name, bench.cands, bench.gold = name, [], []
    for q in range(n_questions):
        n, terms = 30, 4
        ids = np.arange(q * n, q * n + n)
        gold = int(rng.integers(n))
        dense = rng.normal(0.80, 0.02, n)
        dense[gold] += 0.02
        presence = rng.random((n, terms)) < 0.3
        presence[gold] = True
        bm25 = presence.sum(axis=1) * rng.uniform(0.5, 1.5, n)
        bm25[gold] += 2.0
        vectors = rng.normal(size=(n, 8))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        bench.cands.append(Candidates(ids=ids, dense=dense, bm25=bm25, presence=presence,
                                      term_weights=np.ones(terms), vectors=vectors))
        bench.gold.append({int(ids[gold])})
    return bench


def test_cross_validation_scores_every_question_once_and_learns_the_signal(capsys) -> None:
    benches = [_bench("a", 90, 1), _bench("b", 60, 2)]
    report = cross_validate(benches, 3)
    out = capsys.readouterr().out
    assert "a: 90 train questions, 3-fold" in out and "b: 60 train questions, 3-fold" in out
    assert set(report) == {"a", "b"}
    for per in report.values():
        assert set(per) == {"learned", "boosted"}
        for m in per.values():
            # chance is R@1 1/30; the gold candidate leads on BM25 and coverage, so both models find it mostly
            assert m["R@1"] > 0.6 and m["R@5"] >= m["R@1"] and 0 < m["MRR@10"] <= 1
