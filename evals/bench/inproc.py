"""In-process measurements on one index: quality and latency against the naive baseline, the profile of
``Assistant.ask``, HNSW recall against exact search, and the cost of a metadata filter.

Latency here is the library call alone (no HTTP): it is what the naive baseline can be compared with, since the
baseline has no server. The HTTP figures come from :mod:`evals.bench.load`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evals.bench.load import summarize

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from evals.bench.baseline import NaivePipeline
    from evals.bench.corpora import BenchCorpus


def _ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000


def forget_query_vectors(*embedders: Any) -> None:
    """Empty the in-memory query-vector caches of ``CachedEmbeddings`` so the next measurement embeds every
    question (earlier phases ran the same questions; a cached vector would hide the ~10 ms e5 query)."""
    for e in embedders:
        cache = getattr(e, "_qcache", None)
        if cache is not None:
            cache.clear()


def warm_stemmer(a: Assistant, limit: int = 20_000) -> float:
    """Fill the process-wide Sastrawi memo with the index's words, as in a server that has run for a while.

    A fresh process stems every unseen word of the retrieved chunks on first use (measured: the answer step
    averages ~5 ms cold vs ~1.5 ms warm on the TyDi index, p99 25 ms vs 8 ms), which would charge the pipeline
    for a one-off cost the naive baseline does not have. The HTTP figures are taken on fresh processes and do
    include it (after five warm-up requests). Returns the seconds spent.
    """
    from assistant.text import tokenize

    t = time.perf_counter()
    for c in a.generation().chunks[:limit]:
        tokenize(c.text)
    return round(time.perf_counter() - t, 2)


def quality(a: Assistant, naive: NaivePipeline, questions: list[dict[str, Any]],
            passages: dict[str, str]) -> dict[str, Any]:
    """R@1/R@5/MRR@10 of ours (``Assistant.retrieve`` via the eval helper) and of the naive baseline."""
    from evals.retrieval_bench import rank_passages, score_run

    ours: dict[str, list[str]] = {}
    base: dict[str, list[str]] = {}
    for q in questions:
        ours[q["id"]] = rank_passages(a, q["question"], 10)
        base[q["id"]] = naive.rank(q["question"], 10)
    keep = ("n", "recall@1", "recall@5", "recall@10", "mrr@10")
    mo = {k: v for k, v in score_run(ours, questions, passages).items() if k in keep}
    mb = {k: v for k, v in score_run(base, questions, passages).items() if k in keep}
    return {"ours": mo, "naive": mb,
            "gain_r5_points": round(100 * (mo["recall@5"] - mb["recall@5"]), 1),
            "gain_mrr10_points": round(100 * (mo["mrr@10"] - mb["mrr@10"]), 1)}


def latency_vs_naive(a: Assistant, naive: NaivePipeline, questions: list[str]) -> dict[str, Any]:
    """Interleaved per question (alternating which goes first), so both see the same machine load; warm
    (stemmer memo filled, see :func:`warm_stemmer`).

    Ours is ``Assistant.ask(q, remember=False)`` (retrieve + extractive answer); its ``retrieve`` part comes from
    the answer's own timings. Each pipeline has its own in-memory query-vector cache, so neither reuses the
    other's query embedding.
    """
    forget_query_vectors(a.embedder, getattr(naive.embeddings, "inner", None))
    warm_s = warm_stemmer(a)
    naive_ms: list[float] = []
    ask_ms: list[float] = []
    retrieve_ms: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)
    for i, q in enumerate(questions):
        for first in ((True, False) if i % 2 == 0 else (False, True)):
            t = time.perf_counter()
            if first:
                naive.ask(q)
                naive_ms.append(_ms(t))
            else:
                ans = a.ask(q, remember=False)
                ask_ms.append(_ms(t))
                retrieve_ms.append(float(ans.timings_ms.get("retrieve", 0.0)))
                for k, v in ans.timings_ms.items():
                    parts[k].append(float(v))
    out = {"n": len(questions), "stemmer_warm_up_s": warm_s, "naive": summarize(naive_ms),
           "ours_ask": summarize(ask_ms),
           "ours_retrieve": summarize(retrieve_ms),
           "ours_mean_parts_ms": {k: round(float(np.mean(v)), 2) for k, v in sorted(parts.items())}}
    if naive_ms and ask_ms:
        out["ratio_p50"] = round(out["ours_ask"]["p50_ms"] / max(out["naive"]["p50_ms"], 1e-6), 2)
        out["ratio_p95"] = round(out["ours_ask"]["p95_ms"] / max(out["naive"]["p95_ms"], 1e-6), 2)
    return out


def profile_ask(a: Assistant, questions: list[str], out: Path) -> dict[str, Any]:
    """pyinstrument over ``Assistant.ask`` (text profile written to ``out``) plus the mean of its own timings."""
    from pyinstrument import Profiler

    forget_query_vectors(a.embedder)
    warm_stemmer(a)
    for q in questions[:3]:
        a.ask(q, remember=False)
    parts: dict[str, list[float]] = defaultdict(list)
    prof = Profiler(interval=0.0005)
    t = time.perf_counter()
    prof.start()
    for q in questions[3:]:
        ans = a.ask(q, remember=False)
        for k, v in ans.timings_ms.items():
            parts[k].append(float(v))
    prof.stop()
    wall = time.perf_counter() - t
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(prof.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    n = max(1, len(questions) - 3)
    return {"questions": n, "ms_per_ask_profiled": round(1000 * wall / n, 1), "profile": str(out),
            "mean_parts_ms": {k: round(float(np.mean(v)), 2) for k, v in sorted(parts.items())}}


def ann_recall(a: Assistant, corpus: BenchCorpus, questions: list[str], k: int = 10) -> dict[str, Any]:
    """Recall of Chroma's HNSW against exact cosine (numpy over the very vectors that were upserted).

    Reported at k=10 and at the retriever's candidate depth (``settings.candidates``), with the time of each.
    """
    depth = max(k, a.settings.candidates)
    pos = {c.chunk_id: i for i, c in enumerate(corpus.chunks)}
    V = corpus.vectors
    rec_k: list[float] = []
    rec_d: list[float] = []
    ann_t: list[float] = []
    exact_t: list[float] = []
    for q in questions:
        qv = a.embedder.embed_query_np(q)
        t = time.perf_counter()
        sims = V @ qv
        top = np.argpartition(-sims, min(depth, len(sims) - 1))[:depth]
        top = top[np.argsort(-sims[top])]
        exact_t.append(_ms(t))
        t = time.perf_counter()
        hits = a.vectors.query(qv, depth)
        ann_t.append(_ms(t))
        got = [pos[cid] for cid, _ in hits if cid in pos]
        rec_k.append(len(set(got[:k]) & set(top[:k].tolist())) / k)
        rec_d.append(len(set(got) & set(top.tolist())) / len(top))
    return {"queries": len(questions), f"recall@{k}": round(float(np.mean(rec_k)), 4),
            f"recall@{depth}": round(float(np.mean(rec_d)), 4),
            "min_recall@10": round(float(np.min(rec_k)), 2),
            "chroma_query_p50_ms": round(float(np.median(ann_t)), 2),
            "numpy_exact_p50_ms": round(float(np.median(exact_t)), 2)}


def filter_cost(a: Assistant, questions: list[str], topic: str = "facqa") -> dict[str, Any]:
    """What a metadata filter costs: retrieve with/without ``Filters(topic=…)``, and its two parts (the
    generation's Python mask, Chroma's ``where``). Query vectors are warmed first so embedding is not counted."""
    from assistant.models import Filters

    f = Filters(topic=topic)
    gen = a.generation()
    share = sum(c.topic == topic for c in gen.chunks) / max(1, len(gen.chunks))
    where = {"topic": {"$in": [topic]}}
    rows: dict[str, list[float]] = defaultdict(list)
    for q in questions:
        qv = a.embedder.embed_query_np(q)
        t = time.perf_counter()
        a.retrieve(q, 5)
        rows["retrieve_no_filter"].append(_ms(t))
        t = time.perf_counter()
        a.retrieve(q, 5, f)
        rows["retrieve_filter"].append(_ms(t))
        t = time.perf_counter()
        gen.matching(f)
        rows["python_mask"].append(_ms(t))
        t = time.perf_counter()
        a.vectors.query(qv, a.settings.candidates)
        rows["chroma_no_where"].append(_ms(t))
        t = time.perf_counter()
        a.vectors.query(qv, a.settings.candidates, where)
        rows["chroma_where"].append(_ms(t))
    return {"topic": topic, "selectivity": round(share, 3), "queries": len(questions),
            **{f"{k}_p50_ms": round(float(np.median(v)), 2) for k, v in rows.items()}}
