"""Passage-retrieval benchmarks (TyDi QA-id, FacQA-id, …) through the project's own retriever.

The passages go into a scratch index (its own ``index_dir``) with the same embedder, Chroma store, BM25 and
``Retriever`` as the product, so the numbers measure the product's retrieval, not a re-implementation.

Why passages become chunks directly instead of going through files and the chunker: the embedding cache is
keyed by sha256 of the exact embedded text, and the shared cache (``index/embedding-cache.sqlite``) holds
the benchmark vectors computed on each passage's raw ``text``. A :class:`Chunk` with empty title and section
embeds exactly its ``text``, so one untouched chunk per passage reuses those vectors; any re-chunking,
stripping or title prefix would re-embed ~6,000 passages at ~15/s. Passage ids become ``doc_id`` and the run
ranks passages by their best chunk (one chunk each here, but the rule holds for any chunking).

Metrics mirror ``/work/shared/benchmarks/eval_run.py`` (recall@k, hit@k, ans_hit@k for k = 1, 5, 10, 20,
100, and MRR@10), and the run file it scores is written too: one ``{"id", "ranked"}`` line per question.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.text import TOKENIZER_VERSION

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.config import Settings
    from assistant.embeddings import CachedEmbeddings

KS = (1, 5, 10, 20, 100)
Progress = Callable[[str, int, int], None]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def passage_chunks(passages: list[dict[str, Any]]) -> list[Any]:
    """One chunk per passage whose ``embed_text`` is exactly the passage text (see the module docstring)."""
    from assistant.models import Chunk

    out = []
    for i, p in enumerate(passages):
        text = p["text"]
        out.append(Chunk(doc_id=str(p["id"]), title="", section="", text=text, start=0, end=len(text), position=i))
    return out


def build_index(a: Assistant, passages: list[dict[str, Any]], progress: Progress | None = None) -> dict[str, Any]:
    """Publish the passages as the scratch index's generation; a no-op when it already holds exactly them.

    Uses the same pieces an ingest uses (cached embedder → Chroma upsert → BM25 → atomic generation publish)
    but skips files and the chunker, so every passage stays one chunk with its exact text.
    """
    chunks = passage_chunks(passages)
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        chunks = [c for c in chunks if not (c.chunk_id in seen or seen.add(c.chunk_id))]
        ids = [c.chunk_id for c in chunks]
    gen = a.generation()
    # The tokenizer's version too: BM25 tokens and stems of an older tokenizer must not be reused.
    settings = {"benchmark": True, "tokenizer": TOKENIZER_VERSION}
    if gen.name and [c.chunk_id for c in gen.chunks] == ids and gen.manifest.get("settings") == settings:
        return {"reused": True, "chunks": len(ids), "embedded": 0, "seconds": 0.0}
    report = a.indexer.publish_chunks(chunks, settings, progress)
    a.generation()
    return {"reused": False, "chunks": len(ids), "embedded": report.embedded, "seconds": report.seconds}


def rank_passages(a: Assistant, question: str, depth: int) -> list[str]:
    """Passage ids best first, each at the rank of its best chunk."""
    hits = a.retrieve(question, k=depth)
    out: list[str] = []
    seen: set[str] = set()
    for h in hits:
        pid = h.chunk.doc_id
        if pid not in seen:
            seen.add(pid)
            out.append(pid)
    return out


def score_run(run: dict[str, list[str]], questions: list[dict[str, Any]],
              passages: dict[str, str]) -> dict[str, Any]:
    """The metrics of ``eval_run.py``, computed the same way (same normalisation, missing = complete miss)."""
    tot = {f"{m}@{k}": 0.0 for m in ("recall", "hit", "ans_hit") for k in KS}
    tot["mrr@10"] = 0.0
    missing = 0
    for q in questions:
        r = run.get(q["id"])
        if r is None:
            missing += 1
            continue
        gold = set(q["gold_passage_ids"])
        answers = [x.lower() for x in q.get("answers", []) if x.strip()]
        for k in KS:
            top = r[:k]
            n = len(gold.intersection(top))
            tot[f"recall@{k}"] += n / len(gold)
            tot[f"hit@{k}"] += 1.0 if n else 0.0
            tot[f"ans_hit@{k}"] += 1.0 if (n or any(x in passages.get(p, "") for p in top for x in answers)) else 0.0
        first = next((i + 1 for i, p in enumerate(r) if p in gold), None)
        tot["mrr@10"] += 1.0 / first if first and first <= 10 else 0.0
    n = len(questions)
    return {"n": n, "missing_from_run": missing, **{k: round(v / n, 4) if n else 0.0 for k, v in tot.items()}}


def run_benchmark(passages_path: Path, questions_path: Path, run_out: Path, *, settings: Settings,
                  split: str | None = "test", depth: int = 100, embedder: CachedEmbeddings | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Index the passages (or reuse the scratch index), rank passages for every question, write the run file
    and return eval_run.py-compatible metrics plus timing."""
    from assistant.assistant import Assistant

    passages = read_jsonl(passages_path)
    questions = read_jsonl(questions_path)
    if split:
        questions = [q for q in questions if q.get("split") == split]
    if not questions:
        raise ValueError(f"no questions{f' in split {split!r}' if split else ''} in {questions_path}")
    settings = settings.model_copy(update={"candidates": max(settings.candidates, depth)})
    a = Assistant(settings, embedder=embedder)
    try:
        build = build_index(a, passages, progress)
        run: dict[str, list[str]] = {}
        t0 = time.perf_counter()
        run_out.parent.mkdir(parents=True, exist_ok=True)
        with open(run_out, "w", encoding="utf-8") as fh:
            for i, q in enumerate(questions, 1):
                ranked = rank_passages(a, q["question"], depth)
                run[q["id"]] = ranked
                fh.write(json.dumps({"id": q["id"], "ranked": ranked}, ensure_ascii=False) + "\n")
                if progress:
                    progress("questions", i, len(questions))
        seconds = time.perf_counter() - t0
    finally:
        a.feedback.close()
        a.conversations.close()
        if embedder is None:
            a.embedder.close()
    texts = {p["id"]: ((p.get("title") or "") + "\n" + p["text"]).lower() for p in passages}
    metrics = score_run(run, questions, texts)
    return {"passages": str(passages_path), "questions": str(questions_path), "split": split,
            "mode": settings.retrieval_mode, "fusion": settings.fusion, "bm25_weight": settings.bm25_weight,
            "depth": depth,
            "index": build, "query_seconds": round(seconds, 2),
            "ms_per_question": round(1000 * seconds / len(questions), 1), "run_file": str(run_out), **metrics}
