"""External answer benchmark: Indonesian QA sets asked through the full ``Assistant``, scored on the answer text.

Why: the project's own question sets were written against its own corpus, and every reading rule was tuned on
them. TyDi QA-id (Wikipedia prose, native questions) and FacQA-id (news) are text and questions nobody here wrote;
their short gold answers say whether the *answer* holds the fact, not only whether a passage was retrieved. The
IDK-MRC questions that their source paragraph does not answer say whether the assistant abstains when it should.

The pool is indexed once in a scratch index (the same one ``kota-kreatif eval retrieval`` builds: one chunk per
passage, so cached vectors are reused) and every question goes through ``Assistant.ask`` — validation, retrieval,
reading, abstention, citations — exactly the path of ``POST /v1/ask``.

Metrics (answerable questions):

* ``answer_recall`` — a gold short answer, normalised, occurs in the answer text (an abstention scores 0);
* ``answer_first_sentence`` — … in the answer's first sentence (up to its first citation marker);
* ``gold_cited`` — the gold passage is among the answer's citations;
* ``gold_in_context`` — the gold passage was among the chunks the answer was read from (a retrieval ceiling), and
  ``reading_recall`` — answer recall over those questions only (what reading loses when retrieval did its part);
* ``false_abstention`` — share of answerable questions abstained on.

Unanswerable questions (IDK-MRC, TyDi only): ``unanswerable_abstained``, reported for human- and model-written
questions apart. They are unanswerable with respect to their source paragraph only; another passage of the pool
may answer some of them, so this rate has a ceiling below 1.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.metrics import lead_sentence, mean, percentile
from evals.retrieval_bench import build_index, read_jsonl

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.models import Answer

Progress = Callable[[str, int, int], None]
UNANSWERABLE_FILE = "questions_unanswerable_idkmrc.jsonl"
SUMMARY_KEYS = ["answer_recall", "answer_first_sentence", "gold_cited", "gold_in_context", "reading_recall",
                "false_abstention", "unanswerable_abstained", "unanswerable_abstained_human",
                "unanswerable_abstained_model", "latency_ms_p50", "latency_ms_p95"]
LOWER_IS_BETTER = {"false_abstention", "latency_ms_p50", "latency_ms_p95"}
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_PUNCT = re.compile(r"[^\w\s]")


@dataclass
class BenchItem:
    """One question of a benchmark: answerable (gold answers and passages) or not (its source passage)."""

    id: str
    question: str
    answers: list[str]
    gold_passages: list[str]
    answerable: bool
    kind: str = ""  # unanswerable: "human" or "model" (how IDK-MRC wrote it)


def normalise_answer(text: str) -> str:
    """Folded, citation markers (ours and Wikipedia's ``[2]``) and punctuation removed, spaces collapsed."""
    from assistant.text import fold

    text = _MARKER.sub(" ", fold(text))
    return " ".join(_PUNCT.sub(" ", text).split())


def contains_answer(text: str, answers: list[str]) -> bool:
    """A gold answer occurs in ``text`` as whole words ("7" is not found in "2017")."""
    hay = f" {normalise_answer(text)} "
    return any(f" {a} " in hay for a in (normalise_answer(x) for x in answers) if a)


def load_items(bench_dir: Path, split: str | None, *, unanswerable: bool = True, limit: int | None = None,
               seed: int = 0) -> list[BenchItem]:
    """The split's answerable questions, then (when the benchmark has them) its unanswerable ones.

    ``limit`` keeps a seeded random sample of each kind, in proportion, so a quick run measures the same mix."""
    rows = [r for r in read_jsonl(bench_dir / "questions.jsonl") if split is None or r.get("split") == split]
    items = [BenchItem(r["id"], r["question"], list(r.get("answers", [])), list(r["gold_passage_ids"]), True)
             for r in rows]
    unans: list[BenchItem] = []
    path = bench_dir / UNANSWERABLE_FILE
    if unanswerable and path.exists():
        unans = [BenchItem(r["id"], r["question"], [], [r["source_passage_id"]], False, r.get("kind", ""))
                 for r in read_jsonl(path) if split is None or r.get("split") == split]
    if limit is not None:
        rng = random.Random(seed)
        total = len(items) + len(unans)
        share = min(1.0, limit / total) if total else 0.0
        items = sorted(rng.sample(items, round(len(items) * share)), key=lambda i: i.id)
        unans = sorted(rng.sample(unans, round(len(unans) * share)), key=lambda i: i.id)
    return items + unans


def score_item(item: BenchItem, answer: Answer, context_ids: list[str]) -> dict[str, Any]:
    """The per-question record: what was answered, and the metrics that apply to its kind."""
    cited = [c.doc_id for c in answer.citations]
    rec: dict[str, Any] = {
        "id": item.id, "question": item.question, "answerable": item.answerable, "kind": item.kind,
        "answers": item.answers, "gold_passages": item.gold_passages, "answer": answer.answer,
        "abstained": answer.abstained, "flags": answer.flags, "cited": cited, "context": context_ids,
        "latency_ms": answer.timings_ms.get("total"),
    }
    if item.answerable:
        found = not answer.abstained and contains_answer(answer.answer, item.answers)
        rec["answer_recall"] = float(found)
        rec["answer_first_sentence"] = float(found and contains_answer(lead_sentence(answer.answer), item.answers))
        rec["gold_cited"] = float(bool(set(cited) & set(item.gold_passages)))
        rec["gold_in_context"] = float(bool(set(context_ids) & set(item.gold_passages)))
        rec["false_abstention"] = float(answer.abstained)
    else:
        rec["unanswerable_abstained"] = float(answer.abstained)
    return rec


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in records if r["answerable"]]
    una = [r for r in records if not r["answerable"]]
    out: dict[str, Any] = {"n_answerable": len(ans), "n_unanswerable": len(una)}
    for key in ("answer_recall", "answer_first_sentence", "gold_cited", "gold_in_context", "false_abstention"):
        out[key] = _round(mean(r[key] for r in ans))
    out["reading_recall"] = _round(mean(r["answer_recall"] for r in ans if r["gold_in_context"]))
    out["unanswerable_abstained"] = _round(mean(r["unanswerable_abstained"] for r in una))
    for kind in ("human", "model"):
        out[f"unanswerable_abstained_{kind}"] = _round(mean(r["unanswerable_abstained"] for r in una
                                                            if r["kind"] == kind))
    lat = [r["latency_ms"] for r in records if r.get("latency_ms") is not None]
    out["latency_ms_p50"] = percentile(lat, 50)
    out["latency_ms_p95"] = percentile(lat, 95)
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def bench_settings(index_dir: Path, embedding_cache: Path | None, bench: str | None = None,
                   **extra: Any) -> Settings:
    """The product's default settings on a benchmark's scratch index: one chunk per passage (the pool is indexed
    as passages, as ``kota-kreatif eval retrieval`` does, so cached passage vectors are reused), and the
    abstention threshold calibrated on the benchmark's own valid questions (``abstain_calibration``)."""
    from assistant.config import Settings

    kw: dict[str, Any] = {"index_dir": index_dir, "chunk_size": 100_000, "chunk_overlap": 0, **extra}
    if bench:
        kw.setdefault("abstain_calibration", bench)
    if embedding_cache is not None:
        kw["embedding_cache"] = embedding_cache
    return Settings(**kw)


def sample_pool(passages: list[dict[str, Any]], items: list[BenchItem], distractors: int,
                seed: int = 0) -> list[dict[str, Any]]:
    """A smaller pool for a quick run: every passage the items were written on, plus ``distractors`` others
    (seeded), in the pool's own order."""
    keep = {p for it in items for p in it.gold_passages}
    others = [p["id"] for p in passages if p["id"] not in keep]
    keep |= set(random.Random(seed).sample(others, min(distractors, len(others))))
    return [p for p in passages if p["id"] in keep]


def run_answer_bench(bench_dir: Path, *, settings: Settings, split: str | None = "valid", limit: int | None = None,
                     unanswerable: bool = True, progress: Progress | None = None,
                     distractors: int | None = None) -> dict[str, Any]:
    """Index the benchmark's pool (or reuse the scratch index), ask every question, score the answers.

    ``distractors``: index only the items' own passages and this many others (a quick run: CI's reading gate)."""
    from assistant.assistant import Assistant

    passages = read_jsonl(bench_dir / "passages.jsonl")
    items = load_items(bench_dir, split, unanswerable=unanswerable, limit=limit)
    if not items:
        raise ValueError(f"no questions in split {split!r} of {bench_dir}")
    if distractors is not None:
        passages = sample_pool(passages, items, distractors)
    a = Assistant(settings)
    t0 = time.perf_counter()
    try:
        build = build_index(a, passages, progress)
        records = []
        for i, item in enumerate(items, 1):
            answer = a.ask(item.question, remember=False)
            context = answer.retrieved[: settings.answer_context_chunks]
            gen = a.generation()
            context_docs = [gen.chunks[gen.ids[cid]].doc_id for cid in context if cid in gen.ids]
            records.append(score_item(item, answer, context_docs))
            if progress:
                progress("questions", i, len(items))
        threshold = a.reader.threshold
    finally:
        a.close()
    return {
        "meta": {"kind": "answers", "bench": bench_dir.name, "split": split, "limit": limit, "n": len(records),
                 "distractors": distractors,
                 "index": build, "embedding_model": settings.embedder, "retrieval_mode": settings.retrieval_mode,
                 "answerer": settings.llm_backend, "abstain_threshold": round(threshold, 4),
                 "abstain_calibration": settings.abstain_calibration,
                 "started_at": dt.datetime.now().isoformat(timespec="seconds"),
                 "seconds": round(time.perf_counter() - t0, 1)},
        "summary": summarize(records),
        "items": records,
    }


def write_answer_results(results: dict[str, Any], out_dir: Path) -> Path:
    """``results.json`` and ``report.html`` (headline, then the misses: wrong, falsely abstained, not abstained)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "report.html").write_text(render_answer_report(results), encoding="utf-8")
    return path


def render_answer_report(results: dict[str, Any]) -> str:
    from evals.report import esc, headline_table, page

    meta, summary, records = results["meta"], results["summary"], results["items"]
    title = f"Benchmark jawaban — {meta['bench']} {meta.get('split') or 'semua'}"
    body = [f"<h1>{esc(title)}</h1>",
            f"<p class='muted'>n={esc(meta['n'])} ({esc(summary['n_answerable'])} bisa dijawab, "
            f"{esc(summary['n_unanswerable'])} tidak), pool {esc(meta['index']['chunks'])} passage, "
            f"{esc(meta['started_at'])}, {esc(meta['seconds'])} s</p>",
            "<h2>Metrik utama</h2>", headline_table(summary, keys=SUMMARY_KEYS)]
    groups = [
        ("Jawaban salah (passage emas ada di konteks)",
         [r for r in records if r["answerable"] and not r["abstained"] and not r["answer_recall"]
          and r["gold_in_context"]]),
        ("Jawaban salah (passage emas tidak terambil)",
         [r for r in records if r["answerable"] and not r["abstained"] and not r["answer_recall"]
          and not r["gold_in_context"]]),
        ("Abstain padahal bisa dijawab", [r for r in records if r["answerable"] and r["abstained"]]),
        ("Tidak abstain pada pertanyaan tak terjawab", [r for r in records if not r["answerable"]
                                                         and not r["abstained"]]),
    ]
    for name, rows in groups:
        body.append(f"<h2>{esc(name)}: {len(rows)}</h2>")
        for r in rows[:40]:
            gold = " | ".join(r["answers"]) if r["answers"] else f"(sumber: {', '.join(r['gold_passages'])})"
            body.append(f"<div class='fail'><b>{esc(r['question'])}</b><br><span class='muted'>emas: {esc(gold)}"
                        f" · dikutip: {esc(', '.join(r['cited']))} · flags: {esc(', '.join(r['flags']))}</span>"
                        f"<div class='chunk'>{esc(r['answer'])}</div></div>")
    return page(title, "".join(body))


def benchmarks_root() -> Path:
    """Where the shared benchmarks live: ``KK_BENCHMARKS_DIR``, else ``shared/benchmarks`` beside the repository,
    else this machine's ``/work/shared/benchmarks``."""
    import os

    env = os.environ.get("KK_BENCHMARKS_DIR")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"
    return beside if beside.exists() else Path("/work/shared/benchmarks")
