"""The bench run, size by size: build (or reuse) the index, in-process figures, then the HTTP servers.

Order inside a size matters: everything that opens the index in this process (build, re-ingest, ingest sample,
ANN recall, filter cost, profile, naive baseline) runs first; then the Chroma handles are released and the
server processes (and the ``chroma run`` server) get the folder to themselves, since two processes writing one
Chroma folder can lock each other out.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "evals" / "datasets" / "gold.jsonl"
SHARED_CACHE = REPO / "index" / "embedding-cache.sqlite"
Log = Callable[[str], None]


@dataclass
class BenchConfig:
    """What to run; ``quick`` shrinks every sample so the whole bench runs in about a minute (tests)."""

    sizes: list[str] = field(default_factory=lambda: ["corpus", "10k", "100k"])
    stores: list[str] = field(default_factory=lambda: ["embedded", "http"])
    out: Path = REPO / "bench-out" / "bench"
    quick: bool = False
    corpus_dir: Path = REPO / "corpus"
    embedding_cache: Path = SHARED_CACHE
    requests: int = 200
    clients: int = 10
    ingest_sample: int | None = None  # chunks in the ingest-throughput sample (None: the project corpus)

    @property
    def n_inprocess(self) -> int:
        return 10 if self.quick else 200

    @property
    def n_profile(self) -> int:
        return 8 if self.quick else 103

    @property
    def n_ann(self) -> int:
        return 10 if self.quick else 200

    @property
    def n_filter(self) -> int:
        return 5 if self.quick else 50

    @property
    def ingest_chunks(self) -> int | None:
        return 6 if self.quick else self.ingest_sample

    @property
    def quick_pool(self) -> int:
        return 40


def quick_passage_pool(n_questions: int, size: int) -> set[str]:
    """``--quick``: the gold passages of the first test questions, topped up with the first TyDi passages."""
    from evals.bench.corpora import TYDI, read_jsonl, tydi_questions

    pool: list[str] = []
    for q in tydi_questions()[:n_questions]:
        pool.extend(p for p in q["gold_passage_ids"] if p not in pool)
    for p in read_jsonl(TYDI / "passages.jsonl"):
        if len(pool) >= size:
            break
        if p["id"] not in pool:
            pool.append(p["id"])
    return set(pool)


def release(*assistants: Any) -> None:
    """Close this process's handles on the indexes so server processes own the Chroma folders."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for a in assistants:
        if a is None:
            continue
        a.feedback.close()
        a.conversations.close()
        a.vectors._col = None
        a.vectors._client = None
    SharedSystemClient.clear_system_cache()
    gc.collect()


def _questions(size: str) -> tuple[list[str], list[str]]:
    """(measured questions, warm-up questions) for a size."""
    from evals.bench.corpora import read_jsonl, tydi_questions
    from evals.load_api import BUILTIN

    if size == "corpus":
        return list(dict.fromkeys(q["question"] for q in read_jsonl(GOLD))), BUILTIN[:5]
    test = [q["question"] for q in tydi_questions("test")]
    return test, [q["question"] for q in tydi_questions("valid")[:5]]


def _slices(questions: list[str], per: int) -> tuple[list[str], list[str]]:
    """Two disjoint slices (1 client, N clients); shorter than ``per`` when there are not enough questions."""
    per = min(per, len(questions) // 2)
    return questions[:per], questions[per : 2 * per]


def run(cfg: BenchConfig, log: Log) -> dict[str, Any]:
    """Run the whole bench; returns the results (also written to ``cfg.out/results.json``)."""
    from assistant.config import Settings
    from assistant.embeddings import CachedEmbeddings
    from assistant.generators import build_engine
    from evals.bench.corpora import parse_size
    from evals.bench.procs import OtherCpu

    t_start = time.perf_counter()
    others = OtherCpu()
    cfg.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": _meta(cfg), "sizes": {}}
    base = Settings(corpus_dir=cfg.corpus_dir, embedding_cache=cfg.embedding_cache)
    inner = build_engine(base)
    shared = CachedEmbeddings(inner, cfg.embedding_cache)
    pool = quick_passage_pool(20, cfg.quick_pool) if cfg.quick else None
    try:
        log("quality index (TyDi passages only): ours vs naive LangChain")
        results["quality"] = _quality(cfg, base, inner, shared, pool, log)
        tydi_sizes = [s for s in cfg.sizes if parse_size(s) is not None]
        profiled = {s for s in ("10k", "100k") if s in cfg.sizes} or set(tydi_sizes[-1:])
        for size in cfg.sizes:
            log(f"size {size}")
            size_others = OtherCpu()
            results["sizes"][size] = _one_size(cfg, size, base, inner, shared, pool, size in profiled, log)
            results["sizes"][size]["other_processes_cores"] = size_others.cores()
            _write(cfg, results)
    finally:
        shared.close()
    results["meta"]["wall_s"] = round(time.perf_counter() - t_start, 1)
    results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    seen = [results["meta"]["loadavg_start"][0], results["meta"]["loadavg_end"][0]] + [
        x for s in results["sizes"].values() for x in s.get("loadavg_1min", [])]
    results["meta"]["loadavg_1min_max"] = max(seen)
    # Other processes on this 2-core machine change every figure. The load average counts the bench itself
    # (1–2 busy cores), so "under load" is judged on the CPU other processes used: more than a quarter core on
    # average over the run, or over any size, or a busy machine at the start.
    results["meta"]["other_processes_cores"] = others.cores()
    per_size = [s.get("other_processes_cores") or 0.0 for s in results["sizes"].values()]
    results["meta"]["under_load"] = (max([results["meta"]["other_processes_cores"] or 0.0, *per_size]) > 0.25
                                     or results["meta"]["loadavg_start"][0] > 1.5)
    from evals.bench.report import evaluate_targets

    results["targets"] = evaluate_targets(results)
    _write(cfg, results)
    return results


def _write(cfg: BenchConfig, results: dict[str, Any]) -> None:
    (cfg.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))


def _meta(cfg: BenchConfig) -> dict[str, Any]:
    import chromadb

    load = os.getloadavg()
    return {"command": " ".join(["kota-kreatif", "bench", *sys.argv[2:]]) if "bench" in sys.argv else None,
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "chromadb": chromadb.__version__, "loadavg_start": [round(x, 2) for x in load],
            "under_load": load[0] > 1.5}


def _quality(cfg: BenchConfig, base: Any, inner: Any, shared: Any, pool: set[str] | None, log: Log) -> dict[str, Any]:
    """Ours vs the naive pipeline on the TyDi pool (4,650 passages; 423 test questions)."""
    from assistant.assistant import Assistant
    from assistant.embeddings import CachedEmbeddings
    from evals.bench.baseline import KnownVectors, NaivePipeline
    from evals.bench.corpora import build_tydi_corpus, load_passages, tydi_questions
    from evals.bench.indexing import publish_precomputed
    from evals.bench.inproc import latency_vs_naive, quality

    root = cfg.out / "indexes" / "tydi-quality"
    passages = [p for p in load_passages(pool) if p.source == "tydi"]
    corpus = build_tydi_corpus("tydi", len(passages), shared, passages)
    a = Assistant(base.model_copy(update={"index_dir": root / "index"}), embedder=shared)
    naive_emb = CachedEmbeddings(inner, cfg.embedding_cache)
    try:
        build = publish_precomputed(a, corpus, root / "files")
        naive = NaivePipeline(root / "naive", KnownVectors(naive_emb))
        naive_build = naive.index(corpus)
        questions = tydi_questions("test")
        if pool is not None:
            questions = [q for q in questions if set(q["gold_passage_ids"]) <= pool][:20]
        texts = {p.pid: ("\n" + p.text).lower() for p in passages}
        log(f"  quality on {len(questions)} questions over {len(passages)} passages")
        out = {"passages": len(passages), "build": build, "naive_build": naive_build,
               **quality(a, naive, questions, texts)}
        log("  in-process latency, ours vs naive")
        out["latency"] = latency_vs_naive(a, naive, [q["question"] for q in questions][: cfg.n_inprocess])
        return out
    finally:
        naive_emb.close()
        release(a)


def _one_size(cfg: BenchConfig, size: str, base: Any, inner: Any, shared: Any, pool: set[str] | None,
              profile: bool, log: Log) -> dict[str, Any]:
    from assistant.assistant import Assistant
    from assistant.embeddings import CachedEmbeddings
    from evals.bench.baseline import KnownVectors, NaivePipeline, known_vectors
    from evals.bench.corpora import BenchCorpus, build_tydi_corpus, load_passages, parse_size, variant_cosines
    from evals.bench.indexing import disk_usage, publish_precomputed
    from evals.bench.ingest import ingest_throughput, reingest, sample_files
    from evals.bench.inproc import ann_recall, filter_cost, latency_vs_naive, profile_ask
    from evals.bench.servers import serve_bench

    n = parse_size(size)
    root = cfg.out / "indexes" / size
    settings = base.model_copy(update={"index_dir": root / "index"})
    questions, warm = _questions(size)
    r: dict[str, Any] = {"size": size, "loadavg_1min": [round(os.getloadavg()[0], 2)]}
    a = Assistant(settings, embedder=shared)
    naive_emb = CachedEmbeddings(inner, cfg.embedding_cache)
    try:
        t = time.perf_counter()
        if n is None:
            log("  ingest the project corpus (cached vectors)")
            rep = a.ingest([cfg.corpus_dir])
            r["build"] = {"reused": rep.embedded == 0 and rep.chunks_added == 0, "chunks": len(a.generation().chunks),
                          "embedded": rep.embedded, "total_s": round(time.perf_counter() - t, 2)}
            gen = a.generation()
            corpus = BenchCorpus("corpus", list(gen.chunks), _zeros(a), [], {"real": len(gen.chunks)})
            files_root = cfg.corpus_dir
        else:
            log(f"  build {n} chunks from TyDi/FacQA passages (+ variants)")
            corpus = build_tydi_corpus(size, n, shared, load_passages(pool) if pool else None)
            r["build"] = publish_precomputed(a, corpus, root / "files")
            r["corpus_spec"] = {**corpus.spec, "variant_cosine_to_source": variant_cosines(corpus)}
            files_root = root / "files"
        r["chunks"] = len(a.generation().chunks)
        r["disk"] = disk_usage(a)
        log(f"  {r['chunks']} chunks, {r['disk']['total_mb']} MB; re-ingest of the unchanged folder")
        r["reingest"] = reingest(a, [files_root], runs=2 if cfg.quick else 3)
        log("  ingest throughput (fresh cache) vs bare encoder")
        files = sample_files(cfg.corpus_dir, cfg.ingest_chunks, settings, cfg.out / "scratch" / "ingest-extra")
        r["ingest"] = ingest_throughput(settings, inner, files, cfg.out / "scratch" / size, into_existing=n is not None)
        if n is not None:
            log("  HNSW vs exact; metadata filter cost")
            r["ann"] = ann_recall(a, corpus, questions[: cfg.n_ann])
            r["filter"] = filter_cost(a, questions[: cfg.n_filter])
        if profile:
            log("  pyinstrument profile of Assistant.ask")
            r["profile"] = profile_ask(a, questions[: cfg.n_profile], cfg.out / f"profile-ask-{size}.txt")
        log("  naive LangChain baseline: index and in-process latency")
        naive = NaivePipeline(root / "naive", KnownVectors(naive_emb, known_vectors(corpus)))
        r["naive_build"] = naive.index(corpus)
        r["inprocess"] = latency_vs_naive(a, naive, questions[: cfg.n_inprocess])
        del naive
    finally:
        naive_emb.close()
        release(a)
    per = min(cfg.requests, 20) if cfg.quick else cfg.requests
    slices = _slices(questions, per)
    r["http"] = {}
    sentences = _sentence_vectors(settings, corpus.chunks, shared, log)
    r["sentence_vectors"] = {"sentences": len(sentences[0]), "embedded_now": sentences[2]}
    for store in cfg.stores:
        log(f"  HTTP, {store} store: {len(slices[0])} + {len(slices[1])} questions per endpoint")
        logs = cfg.out / "logs" / size / store
        _seed_server_cache(inner, logs / "serve-embedding-cache.sqlite", sentences)
        r["http"][store] = serve_bench(settings.index_dir, store, slices, warm, logs, cfg.clients,
                                       split_processes=not cfg.quick)
        r["http"][store]["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    r["loadavg_1min"].append(round(os.getloadavg()[0], 2))
    return r


def _sentence_vectors(settings: Any, chunks: list[Any], shared: Any, log: Any) -> tuple[list[str], Any, int]:
    """The reader's sentence vectors of the published ``chunks``, as an ingest leaves them in the embedding cache
    (``reader_sentence_vectors="ingest"``); the bench's precomputed indexes skip the indexer, so the missing ones
    are embedded here, outside every timed phase. Empty with ``"query"`` (the server then embeds at question
    time, which is what that setting measures)."""
    import numpy as np

    from assistant.reading.candidates import chunk_sentences

    if settings.reader_sentence_vectors != "ingest":
        return [], np.zeros((0, shared.dim), dtype=np.float32), 0
    texts = list(dict.fromkeys(s.embed_text for c in chunks for s in chunk_sentences(c.text)))
    found = shared.lookup(texts)
    missing = [t for i, t in enumerate(texts) if i not in found]
    if missing:
        log(f"  reader sentence vectors: {len(missing)} of {len(texts)} not cached, embedding them (as ingest would)")
    vecs = shared.embed_documents_np(texts)
    return texts, vecs, len(missing)


def _seed_server_cache(inner: Any, path: Path, sentences: tuple[list[str], Any, int]) -> None:
    """A fresh server cache holding the index's sentence vectors and nothing else (no query vectors: every
    question is new to the server)."""
    from assistant.embeddings import CachedEmbeddings

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    cache = CachedEmbeddings(inner, path)
    try:
        cache.store(sentences[0], sentences[1])
    finally:
        cache.close()


def _zeros(a: Any) -> Any:
    import numpy as np

    return np.zeros((0, a.embedder.dim), dtype=np.float32)
