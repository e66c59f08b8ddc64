"""Ranked chunks for a question: dense (Chroma) and BM25 candidates, fused, filtered and de-duplicated.

Fusion strategies sit behind :class:`Fusion` and see a :class:`Candidates` table: for *every* candidate (the
union of the dense and the BM25 top lists) its cosine similarity, its BM25 score and which of the question's
terms it contains, so no candidate is judged on one signal only (BM25 for dense hits comes from the in-memory
index, cosine for BM25-only hits from their stored vectors).

The default, :class:`LearnedFusion`, is a linear model over four features of that table; the opt-in
:class:`BoostedFusion` is a LightGBM LambdaMART ranker over :func:`ranking_features` (better on TyDi QA-id, worse
on this corpus's gold set). Both are trained on the
*train* questions of two Indonesian benchmarks (``evals/tune_fusion.py``) for one embedding model; a model
without a trained ranker falls back to the linear weights, and one without either to
:class:`WeightedScoreFusion`, the min-max combination. Plain
reciprocal-rank fusion is kept for comparison: measured on TyDi QA-id it pulls a strong dense ranking down
(README, "Retrieval").
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.embeddings import Embedder
from assistant.models import Filters, ScoredChunk
from assistant.store import Generation, VectorStore
from assistant.text import tokenize

FUSION_WEIGHTS = Path(__file__).with_name("fusion_weights.json")
FUSION_RANKER = Path(__file__).with_name("fusion_ranker.json")


@dataclass
class Candidates:
    """Both retrieval signals for every candidate of one query.

    ``presence[i, t]`` says whether candidate ``i`` contains query term ``t`` (stemmed, as BM25 sees it);
    ``term_weights[t]`` is that term's rarity (IDF) in the whole index, so covering "Pekalongan" counts more
    than covering "kota".
    """

    ids: np.ndarray  # generation positions
    dense: np.ndarray  # cosine similarity
    bm25: np.ndarray  # BM25 score, 0 when no term matches
    presence: np.ndarray  # (n, terms) bool
    term_weights: np.ndarray  # (terms,)
    vectors: np.ndarray | None = None  # (n, dim) the candidates' stored vectors, for fusions that need them

    def ranks(self, scores: np.ndarray) -> np.ndarray:
        """1-based rank of each candidate under ``scores`` (descending)."""
        out = np.empty(len(scores), dtype=np.int64)
        out[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        return out


class Fusion(ABC):
    """Combines the signals of one candidate set into one score per candidate (higher is better)."""

    name = "base"
    needs_vectors = False  # True: the retriever fills ``Candidates.vectors``

    @abstractmethod
    def fuse(self, cands: Candidates) -> np.ndarray:
        """Fused score per candidate, aligned with ``cands.ids``."""


class WeightedScoreFusion(Fusion):
    """``(1 - w) * minmax(cosine) + w * minmax(bm25)`` over the union of candidates.

    Min-max per question matters: e5 cosines live in a narrow band (≈0.75–0.9) while BM25 scores are unbounded,
    so raw scores (or BM25 divided by its maximum) let BM25 dominate. On 1,500 TyDi QA-id train questions
    w=0.15 gave MRR@10 0.836 vs 0.827 dense-only; BM25/max weighting and RRF were below dense-only at every
    weight tried.
    """

    name = "weighted"

    def __init__(self, bm25_weight: float = 0.15) -> None:
        self.w = bm25_weight

    def fuse(self, cands: Candidates) -> np.ndarray:
        return (1 - self.w) * _minmax(cands.dense) + self.w * _minmax(cands.bm25)


class ReciprocalRankFusion(Fusion):
    """Classic RRF (k=60), weights per list; kept as a measured baseline."""

    name = "rrf"

    def __init__(self, bm25_weight: float = 0.5, k: int = 60) -> None:
        self.w = bm25_weight
        self.k = k

    def fuse(self, cands: Candidates) -> np.ndarray:
        dense_part = (1 - self.w) / (self.k + cands.ranks(cands.dense))
        has_bm25 = cands.bm25 > 0
        bm25_part = np.where(has_bm25, self.w / (self.k + cands.ranks(cands.bm25)), 0.0)
        return dense_part + bm25_part


FEATURES = ("dense_gap", "bm25_minmax", "coverage", "all_terms")


def fusion_features(cands: Candidates) -> np.ndarray:
    """The (n, 4) feature matrix :class:`LearnedFusion` scores; ``evals/tune_fusion.py`` trains on it.

    * ``dense_gap`` — cosine minus the best cosine of the question, ×10: how far behind the dense leader a
      candidate is, in the model's own units (min-max would stretch a near-tie into a full-scale gap);
    * ``bm25_minmax`` — BM25 scaled to [0, 1] within the question's candidates;
    * ``coverage`` — share of the question's term weight (IDF) the candidate contains;
    * ``all_terms`` — 1 when it contains every query term.

    Coverage is what a dense ranking misses most: the paragraph that *introduces* an entity outranks the one
    that holds the asked attribute ("istri Utsman", "arsitek stadion"), which contains the attribute word too.
    """
    n = len(cands.ids)
    dense_gap = (cands.dense - cands.dense.max()) * 10 if n else cands.dense
    total = float(cands.term_weights.sum())
    if total > 0 and cands.presence.shape[1]:
        coverage = (cands.presence @ cands.term_weights) / total
        all_terms = cands.presence.all(axis=1).astype(np.float64)
    else:
        coverage = np.zeros(n)
        all_terms = np.zeros(n)
    return np.column_stack([dense_gap, _minmax(cands.bm25), coverage, all_terms]).astype(np.float64)


class LearnedFusion(Fusion):
    """A linear model over :func:`fusion_features`, rescaled to [0, 1] per question (best candidate = 1).

    The rescaling keeps fused scores on the scale the answerer's rank prior and the API's ``score`` expect;
    the ranking is the model's. Weights belong to one embedding model (cosine scales differ between models),
    see :func:`learned_weights`.
    """

    name = "learned"

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        if self.weights.shape != (len(FEATURES),):
            raise ValueError(f"expected {len(FEATURES)} weights, got {self.weights.shape}")

    def fuse(self, cands: Candidates) -> np.ndarray:
        if not len(cands.ids):
            return np.zeros(0)
        return _minmax(fusion_features(cands) @ self.weights)


RANKING_FEATURES = (*FEATURES, "cosine", "dense_rank_log", "bm25_rank_log", "dense_margin", "query_terms",
                    "bm25_max", "term_share", "density", "density_gap")
DENSITY_NEIGHBOURS = 10


def ranking_features(cands: Candidates) -> np.ndarray:
    """The (n, 13) matrix :class:`BoostedFusion` scores: :func:`fusion_features` plus what a tree model can use
    and a linear one cannot.

    * ``cosine`` — the raw cosine: how confident the dense match is at all, not only relative to the leader;
    * ``dense_rank_log`` / ``bm25_rank_log`` — log rank in each list (BM25 rank 100 when no term matches);
    * ``dense_margin`` — the dense leader's lead over the second (one value per question);
    * ``query_terms`` / ``bm25_max`` — how many terms the question has and how strongly the best passage matches
      them: short keyword questions and long paraphrases want different mixes;
    * ``term_share`` — unweighted share of the question's terms the candidate contains;
    * ``density`` — the candidate's mean cosine to its 10 nearest fellow candidates, minus the candidates' mean:
      a "hub" passage, close to everything, rides high on cosine for every question without answering it;
    * ``density_gap`` — cosine minus half that density, relative to the question's best (a CSLS-style correction).

    Density is measured within the candidate set, so it needs no index-time work and does not drift with the
    collection's size; ``cands.vectors`` = None (a caller without the vectors) gives zeros there.
    Held-out TyDi QA-id train questions (``evals/tune_fusion.py``): MRR@10 0.829 linear, 0.835 boosted without
    the two density features, 0.839 with them.
    """
    n = len(cands.ids)
    if not n:
        return np.zeros((0, len(RANKING_FEATURES)))
    dense_rank = cands.ranks(cands.dense).astype(np.float64)
    bm25_rank = np.where(cands.bm25 > 0, cands.ranks(cands.bm25), 100).astype(np.float64)
    top = np.sort(cands.dense)[::-1]
    margin = float(top[0] - top[1]) if n > 1 else 0.0
    n_terms = cands.presence.shape[1]
    share = cands.presence.mean(axis=1) if n_terms else np.zeros(n)
    density = np.zeros(n)
    density_gap = np.zeros(n)
    if cands.vectors is not None and n > 1:
        V = np.asarray(cands.vectors, dtype=np.float32)
        S = V @ V.T
        np.fill_diagonal(S, -np.inf)
        k = min(DENSITY_NEIGHBOURS, n - 1)
        local = np.partition(S, n - k, axis=1)[:, n - k:].mean(axis=1).astype(np.float64)
        density = local - local.mean()
        corrected = cands.dense - 0.5 * local
        density_gap = corrected - corrected.max()
    per_question = np.ones(n)
    return np.column_stack([
        fusion_features(cands), cands.dense, np.log(dense_rank), np.log(bm25_rank), per_question * margin,
        per_question * n_terms, per_question * float(cands.bm25.max()), share, density, density_gap,
    ]).astype(np.float64)


class BoostedFusion(Fusion):
    """A LightGBM LambdaMART ranker over :func:`ranking_features`, rescaled to [0, 1] per question.

    Trees see what the linear model cannot: that a BM25 match matters more when the dense leader's margin is
    thin, that coverage counts for short keyword questions, that a "hub" passage close to every other candidate
    is less likely the answer. The booster (text format, no pickle) loads on first use: LightGBM's import takes
    ~1.5 s, which the API's warm-up pays before ``/readyz``, not the CLI's ``--help``.
    """

    name = "boosted"
    needs_vectors = True

    def __init__(self, model: str) -> None:
        self._model = model
        self._booster = None
        self._lock = threading.Lock()

    def _load(self):
        if self._booster is None:
            with self._lock:
                if self._booster is None:
                    import lightgbm

                    booster = lightgbm.Booster(model_str=self._model)
                    if booster.num_feature() != len(RANKING_FEATURES):
                        raise ValueError(f"ranker expects {booster.num_feature()} features, "
                                         f"ranking_features gives {len(RANKING_FEATURES)}")
                    self._booster = booster
        return self._booster

    def fuse(self, cands: Candidates) -> np.ndarray:
        if not len(cands.ids):
            return np.zeros(0)
        # One thread: a prediction is ~60 rows, and the server already runs queries in parallel.
        return _minmax(np.asarray(self._load().predict(ranking_features(cands), num_threads=1), dtype=np.float64))


def _trained_entry(path: Path, model_name: str, features: tuple[str, ...]) -> dict | None:
    """``model_name``'s entry in a trained-fusion file, or None when it has none or it was trained on another
    feature list (then it is not applicable)."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(model_name)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return entry if entry and tuple(entry.get("features", ())) == features else None


@lru_cache(maxsize=8)
def trained_ranker(model_name: str, path: Path = FUSION_RANKER) -> str | None:
    """The LightGBM model text for ``model_name`` from ``fusion_ranker.json``, or None when it has none."""
    entry = _trained_entry(path, model_name, RANKING_FEATURES)
    return entry["model"] if entry else None


@lru_cache(maxsize=8)
def learned_weights(model_name: str, path: Path = FUSION_WEIGHTS) -> np.ndarray | None:
    """Trained weights for ``model_name`` from ``fusion_weights.json``, or None when it has none."""
    entry = _trained_entry(path, model_name, FEATURES)
    return np.asarray(entry["weights"], dtype=np.float64) if entry else None


class Retriever:
    """Retrieval over one published generation; ``mode`` is ``hybrid``, ``dense`` or ``bm25``."""

    def __init__(self, embedder: Embedder, vectors: VectorStore, generation: Callable[[], Generation],
                 mode: str = "hybrid", fusion: Fusion | None = None, candidates: int = 40,
                 dedup_threshold: float = 0.9) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.generation = generation
        self.mode = mode
        self.fusion = fusion or WeightedScoreFusion()
        self.candidates = candidates
        self.dedup_threshold = dedup_threshold

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None,
                 timings: dict[str, float] | None = None) -> list[ScoredChunk]:
        gen = self.generation()
        if not gen.chunks:
            return []
        timings = timings if timings is not None else {}
        mask = gen.matching(filters)
        n = max(self.candidates, k * 4)

        dense: dict[int, float] = {}
        qraw = qvec = None
        if self.mode in ("hybrid", "dense"):
            t = time.perf_counter()
            qraw = self.embedder.embed_query_np(query)
            qvec = self.embedder.search_vector(qraw)
            timings["embed_query"] = _ms(t)
            t = time.perf_counter()
            dense = self._dense(gen, qvec, n, filters, mask)
            timings["dense"] = _ms(t)
        bm25: dict[int, float] = {}
        all_bm25 = None
        if self.mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            all_bm25 = gen.bm25.scores(query)
            if all_bm25 is not None:
                if mask is not None:
                    all_bm25 = np.where(mask, all_bm25, 0.0)
                top = np.argsort(-all_bm25)[:n]
                bm25 = {int(i): float(all_bm25[i]) for i in top if all_bm25[i] > 0}
            timings["bm25"] = _ms(t)

        t = time.perf_counter()
        if self.mode == "dense":
            scores = dense
        elif self.mode == "bm25":
            scores = bm25
        else:
            scores = self._fuse(gen, query, qvec, dense, bm25, all_bm25)
        ranked = sorted(scores, key=scores.get, reverse=True)
        out: list[ScoredChunk] = []
        kept_tokens: list[frozenset[str]] = []
        for i in ranked:
            chunk = gen.chunks[i]
            toks = _word_set(chunk.text)
            if any(_jaccard(toks, other) >= self.dedup_threshold for other in kept_tokens):
                continue
            kept_tokens.append(toks)
            out.append(ScoredChunk(chunk, float(scores[i]), dense.get(i), bm25.get(i)))
            if len(out) >= k:
                break
        if qvec is not qraw and out:
            # Ranked with the adapted query vector; report the model's own cosine, on which the answerer's
            # evidence and abstention thresholds were calibrated.
            raw = self._cosines(gen, [gen.ids[h.chunk.chunk_id] for h in out], qraw)
            out = [replace(h, dense=raw.get(gen.ids[h.chunk.chunk_id], h.dense)) for h in out]
        timings["fuse"] = _ms(t)
        return out

    def _fuse(self, gen: Generation, query: str, qvec: np.ndarray, dense: dict[int, float],
              bm25: dict[int, float], all_bm25: np.ndarray | None) -> dict[int, float]:
        """Complete both signals for every candidate of either list, then let the fusion strategy score them."""
        only_bm25 = [i for i in bm25 if i not in dense]
        if only_bm25:
            dense.update(self._cosines(gen, only_bm25, qvec))
        ids = np.fromiter(dense, dtype=np.int64, count=len(dense))
        terms = gen.bm25.query_terms(query)
        terms = list(dict.fromkeys(terms))
        cands = Candidates(
            ids=ids,
            dense=np.array([dense[i] for i in ids.tolist()], dtype=np.float64),
            bm25=(all_bm25[ids].astype(np.float64) if all_bm25 is not None else np.zeros(len(ids))),
            presence=gen.bm25.term_presence(terms, ids),
            term_weights=np.array([gen.bm25.idf(t) for t in terms], dtype=np.float64),
            vectors=self._vectors(gen, ids) if self.fusion.needs_vectors else None)
        fused = self.fusion.fuse(cands)
        for i in ids.tolist():  # report the BM25 score of dense hits too
            if all_bm25 is not None and all_bm25[i] > 0:
                bm25.setdefault(i, float(all_bm25[i]))
        return dict(zip(ids.tolist(), fused.tolist(), strict=True))

    def _dense(self, gen: Generation, qvec: np.ndarray, n: int, filters: Filters | None,
               mask: np.ndarray | None) -> dict[int, float]:
        if mask is not None:
            allowed = int(mask.sum())
            if allowed <= 200:
                # Few chunks pass the filter (e.g. one document): score them exactly from their stored vectors.
                # Measured at 100k chunks: 1.3 ms for 20 chunks vs 54 ms with Chroma's ``where``.
                return self._cosines(gen, np.flatnonzero(mask).tolist(), qvec) if allowed else {}
            share = allowed / len(mask)
            if share >= 0.2:
                # Chroma's ``where`` is slow on large collections (~350 ms at 100k chunks against 3–60 ms for an
                # unfiltered k of 40–4,000); when the filter keeps a large share, over-fetch without it and filter
                # with the mask. The allowed chunks may be rare near this query (a 22 % topic gave 9 of the 283
                # nearest), so a second, larger fetch is sized by the share actually seen in the first.
                want = min(int(n / share * 1.5) + 10, 2000)
                for _ in range(2):
                    hits = self.vectors.query(qvec, want, None)
                    out = {gen.ids[cid]: sim for cid, sim in hits if cid in gen.ids and mask[gen.ids[cid]]}
                    if len(out) >= min(n, allowed) or len(hits) < want or want >= 4000:
                        return out
                    seen = max(len(out), 1) / len(hits)
                    want = min(int(n / seen * 1.5) + 10, 4000)
        where = _where(filters)
        want = n
        out: dict[int, float] = {}
        for _ in range(3):
            hits = self.vectors.query(qvec, want, where)
            out = {gen.ids[cid]: sim for cid, sim in hits if cid in gen.ids}
            if mask is not None:
                out = {i: s for i, s in out.items() if mask[i]}
            # Ids outside this generation (an ingest in progress or killed) are skipped; ask for more if
            # they crowded out real candidates.
            if len(out) >= min(n, len(gen.chunks)) or len(hits) < want:
                return out
            want *= 2
        return out

    def _vectors(self, gen: Generation, ids: np.ndarray) -> np.ndarray | None:
        """Stored vectors of the candidates: from the generation's copy, or (an older index) from Chroma."""
        if gen.vectors is not None:
            return np.asarray(gen.vectors[ids], dtype=np.float32)
        found = self.vectors.vectors_of([gen.chunks[i].chunk_id for i in ids.tolist()])
        if len(found) != len(ids):
            return None  # some vector is missing: rank without the density features rather than guess
        return np.stack([found[gen.chunks[i].chunk_id] for i in ids.tolist()]).astype(np.float32)

    def _cosines(self, gen: Generation, idx: list[int], qvec: np.ndarray) -> dict[int, float]:
        """Cosines of known chunks: from the generation's own vector copy, or (a generation written before it
        kept one) from Chroma."""
        if gen.vectors is not None:
            rows = np.asarray(idx, dtype=np.int64)
            sims = gen.vectors[rows] @ np.asarray(qvec, dtype=np.float32)
            return dict(zip(idx, sims.astype(np.float64).tolist(), strict=True))
        found = self.vectors.vectors_of([gen.chunks[i].chunk_id for i in idx])
        return {gen.ids[cid]: float(np.dot(vec, qvec)) for cid, vec in found.items()}


def _where(filters: Filters | None) -> dict | None:
    if filters is None or filters.is_empty():
        return None
    conds = []
    for key in ("topic", "doc_id"):
        want = getattr(filters, key)
        if want:
            conds.append({key: {"$in": [want] if isinstance(want, str) else list(want)}})
    return conds[0] if len(conds) == 1 else {"$and": conds}


def _minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; all-equal values become 1 (each is as good as the best)."""
    if not len(values):
        return np.asarray(values, dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    return (values - lo) / span if span > 0 else np.ones(len(values))


@lru_cache(maxsize=20_000)
def _word_set(text: str) -> frozenset[str]:
    """The words near-duplicate removal compares (memoised: the same top chunks come back query after query)."""
    return frozenset(tokenize(text, stemming=False))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)


def build_fusion(name: str, bm25_weight: float, model_name: str = "") -> Fusion:
    """The configured strategy. ``boosted`` falls back to ``learned`` for a model (or query space) without a
    trained ranker, and ``learned`` to ``weighted`` for one without trained weights."""
    if name == "rrf":
        return ReciprocalRankFusion(bm25_weight)
    if name == "boosted":
        model = trained_ranker(model_name)
        if model is not None:
            return BoostedFusion(model)
        name = "learned"
    if name == "learned":
        weights = learned_weights(model_name)
        if weights is not None:
            return LearnedFusion(weights)
    return WeightedScoreFusion(bm25_weight)
