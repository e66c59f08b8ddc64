"""``kota-kreatif eval …``: run, compare, retrieval benchmarks, support calibration, feedback export.

This module is imported on every ``kota-kreatif`` start (``assistant/cli.py`` attaches it), so it imports only
typer at module level; the assistant, numpy, matplotlib and rich come in inside the commands.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import typer

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "evals" / "datasets"
RUNS = REPO / "evals" / "runs"
SHARED_CACHE = REPO / "index" / "embedding-cache.sqlite"

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Evaluasi: jawaban (gold/percakapan/drafting), retrieval benchmark, kalibrasi, feedback.")


def _consoles():
    from rich.console import Console

    return Console(), Console(stderr=True)


def _settings(index_dir: Optional[Path], embedding_cache: Optional[Path], corpus_dir: Optional[Path] = None,
              **extra: Any):
    from assistant.config import Settings

    kw: dict[str, Any] = dict(extra)
    if index_dir:
        kw["index_dir"] = index_dir
    if embedding_cache:
        kw["embedding_cache"] = embedding_cache
    if corpus_dir:
        kw["corpus_dir"] = corpus_dir
    return Settings(**kw)


def _progress(err):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


def _ingest_progress(prog):
    tasks: dict[str, Any] = {}

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = prog.add_task({"files": "membaca berkas", "embed": "embedding",
                 "sentences": "embedding kalimat", "bm25": "indeks BM25",
                                          "questions": "pertanyaan"}.get(stage, stage), total=total)
        prog.update(tasks[stage], completed=done, total=total)

    return cb


def _summary_table(summary: dict[str, Any], title: str, baseline: Optional[dict[str, Any]] = None):
    from rich.table import Table

    from evals.metrics import HEADLINE, LOWER_IS_BETTER
    from evals.report import fmt

    t = Table(title=title)
    t.add_column("metrik")
    t.add_column("nilai", justify="right")
    if baseline:
        t.add_column("baseline", justify="right")
        t.add_column("Δ", justify="right")
    keys = [k for k in HEADLINE if k in summary] + [k for k in ("rewrite_f1", "conversation_success") if k in summary]
    for k in keys:
        row = [k, fmt(summary.get(k), k)]
        if baseline:
            b = baseline.get(k)
            v = summary.get(k)
            if isinstance(v, int | float) and isinstance(b, int | float):
                d = v - b
                better = d < 0 if k in LOWER_IS_BETTER else d > 0
                style = "green" if better and abs(d) > 1e-9 else ("red" if abs(d) > 1e-9 else "dim")
                row += [fmt(b, k), f"[{style}]{d:+.3f}[/]" if "ms" not in k else f"[{style}]{d:+.1f}[/]"]
            else:
                row += [fmt(b, k), "–"]
        t.add_row(*row)
    return t


def _run_one(ev, dataset: Path, cfg, limit: Optional[int], err, **kw: Any) -> dict[str, Any]:
    with _progress(err) as prog:
        task = prog.add_task(f"{cfg.name}: {dataset.name}", total=None)

        def cb(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)

        return ev.run(dataset, cfg, limit=limit, progress=cb, **kw)


def _open_evaluator(settings, err, no_ingest: bool):
    from evals.runner import Evaluator

    ev = Evaluator(settings)
    if not no_ingest:
        with _progress(err) as prog:
            report = ev.ensure_index(_ingest_progress(prog))
        if report:
            err.print(f"indeks dibangun/diperbarui: {report['chunks_added']} chunk baru, {report['embedded']} "
                      f"di-embed, {report['seconds']} s")
    return ev


@app.command()
def run(dataset: Path = typer.Option(DATASETS / "gold.jsonl", "--dataset", help="gold/conversations/drafting"),
        config: Optional[str] = typer.Option(None, "--config", help="hybrid|dense|bm25[:w=0.2:t=0.35…]"),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder hasil; bawaan evals/runs/<waktu>-<config>"),
        baseline: Optional[Path] = typer.Option(None, "--baseline", help="results.json pembanding"),
        limit: Optional[int] = typer.Option(None, "--limit", help="Hanya N item pertama"),
        index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Bawaan: index/ (Settings)"),
        embedding_cache: Optional[Path] = typer.Option(None, "--embedding-cache"),
        corpus_dir: Optional[Path] = typer.Option(None, "--corpus-dir"),
        no_ingest: bool = typer.Option(False, "--no-ingest", help="Jangan bangun/perbarui indeks"),
        sample: Optional[str] = typer.Option(None, "--sample",
                                             help="Sampel tetap: N item, atau N,M (gold: terjawab,tak terjawab)"),
        seed: int = typer.Option(23, "--seed", help="Seed pengambilan sampel"),
        ids: Optional[str] = typer.Option(None, "--ids", help="Hanya item ini (id dipisah koma)"),
        replay: Optional[Path] = typer.Option(None, "--replay",
                                              help="llm_calls.jsonl: jawab dari keluaran LLM yang terekam")) -> None:
    """Run a dataset through Assistant.ask and write results.json + report.html.

    With an LLM backend (KK_LLM_BACKEND=openai|ollama|llamacpp) every model call is recorded in
    <out>/llm_calls.jsonl, so fixes to parsing and checking can be measured with --replay instead of the model."""
    from evals.runner import align_baseline, config_slug, load_results, parse_config, write_results

    console, err = _consoles()
    settings = _settings(index_dir, embedding_cache, corpus_dir)
    cfg = parse_config(config or settings.retrieval_mode)
    base = load_results(baseline) if baseline else None
    out = out or RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-{config_slug(cfg.name)}"
    ev = _open_evaluator(settings, err, no_ingest)
    try:
        t0 = time.perf_counter()
        results = _run_one(ev, dataset, cfg, limit, err, sample=sample, seed=seed,
                           record=out / "llm_calls.jsonl", replay=replay,
                           ids=[i.strip() for i in ids.split(",") if i.strip()] if ids else None)
        path = write_results(results, out, base)
    finally:
        ev.close()
    if base is not None:
        base = align_baseline(results, base)
        if base.get("aligned_on") is not None:
            err.print(f"baseline diringkas ulang atas {base['aligned_on']} item yang sama")
    if results["meta"]["n"]:
        console.print(_summary_table(results["summary"], f"{dataset.name} — {cfg.name} (n={results['meta']['n']})",
                                     base["summary"] if base else None))
    if results["summary"].get("llm"):
        console.print("LLM: " + json.dumps(results["summary"]["llm"], ensure_ascii=False))
    if results["summary"].get("failures"):
        console.print("pola kegagalan: " + ", ".join(f"{k} ×{v}" for k, v in results["summary"]["failures"].items()))
    for note in results["notes"]:
        err.print(f"[yellow]catatan:[/] {note}")
    console.print(f"{time.perf_counter() - t0:.1f} s — {path} dan {path.parent / 'report.html'}")


@app.command()
def compare(configs: str = typer.Option("dense,bm25,hybrid", "--configs", help="dipisah koma, mis. hybrid:w=0.2"),
            dataset: Path = typer.Option(DATASETS / "gold.jsonl", "--dataset"),
            out: Optional[Path] = typer.Option(None, "--out"),
            limit: Optional[int] = typer.Option(None, "--limit"),
            index_dir: Optional[Path] = typer.Option(None, "--index-dir"),
            embedding_cache: Optional[Path] = typer.Option(None, "--embedding-cache"),
            corpus_dir: Optional[Path] = typer.Option(None, "--corpus-dir"),
            no_ingest: bool = typer.Option(False, "--no-ingest")) -> None:
    """The same questions under several configurations, side by side (table, compare.json, compare.html)."""
    import datetime as dt

    from rich.table import Table

    from evals.metrics import HEADLINE
    from evals.report import fmt, write_compare_report
    from evals.runner import config_slug, parse_configs, write_results

    console, err = _consoles()
    cfgs = parse_configs(configs)
    settings = _settings(index_dir, embedding_cache, corpus_dir)
    out = out or RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-compare"
    ev = _open_evaluator(settings, err, no_ingest)
    comparison: dict[str, Any] = {"dataset": str(dataset), "configs": [c.name for c in cfgs], "summaries": {},
                                  "by_category": {}, "seconds": {},
                                  "started_at": dt.datetime.now().isoformat(timespec="seconds")}
    try:
        for cfg in cfgs:
            t0 = time.perf_counter()
            res = _run_one(ev, dataset, cfg, limit, err)
            write_results(res, out / config_slug(cfg.name))
            comparison["summaries"][cfg.name] = res["summary"]
            comparison["by_category"][cfg.name] = res["by_category"]
            comparison["seconds"][cfg.name] = round(time.perf_counter() - t0, 1)
            comparison["n"] = res["meta"]["n"]
    finally:
        ev.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(comparison, ensure_ascii=False, indent=2), encoding="utf-8")
    write_compare_report(comparison, out / "compare.html")
    t = Table(title=f"{dataset.name} (n={comparison.get('n')})")
    t.add_column("metrik")
    for c in cfgs:
        t.add_column(c.name, justify="right")
    sums = comparison["summaries"]
    for k in HEADLINE + ["rewrite_f1", "conversation_success"]:
        if any(k in sums[c.name] for c in cfgs):
            t.add_row(k, *[fmt(sums[c.name].get(k), k) for c in cfgs])
    t.add_row("detik", *[str(comparison["seconds"][c.name]) for c in cfgs])
    console.print(t)
    console.print(f"{out / 'compare.json'} dan {out / 'compare.html'}")


@app.command()
def retrieval(passages: Path = typer.Option(..., "--passages", help="passages.jsonl {id,title,text}"),
              questions: Path = typer.Option(..., "--questions", help="questions.jsonl"),
              split: Optional[str] = typer.Option("test", "--split", help="'' = semua"),
              run_out: Path = typer.Option(..., "--run-out", help="run.jsonl untuk eval_run.py"),
              mode: str = typer.Option("hybrid", "--mode", help="hybrid|dense|bm25"),
              bm25_weight: Optional[float] = typer.Option(None, "--bm25-weight"),
              index_dir: Optional[Path] = typer.Option(None, "--index-dir",
                                                       help="Indeks sementara; bawaan bench-out/retrieval-index/…"),
              embedding_cache: Path = typer.Option(SHARED_CACHE, "--embedding-cache"),
              depth: int = typer.Option(100, "--depth", help="Panjang daftar peringkat per pertanyaan"),
              json_out: Optional[Path] = typer.Option(None, "--json-out", help="Simpan metrik sebagai JSON")) -> None:
    """Index an external passage benchmark in a scratch index; report recall@k / MRR@10 and write the run file."""
    from rich.table import Table

    from evals.retrieval_bench import run_benchmark

    console, err = _consoles()
    if mode not in ("hybrid", "dense", "bm25"):
        raise typer.BadParameter("mode must be hybrid, dense or bm25")
    if index_dir is None:
        index_dir = REPO / "bench-out" / "retrieval-index" / f"{passages.parent.name}-{passages.stem}"
    extra: dict[str, Any] = {"retrieval_mode": mode, "chunk_size": 100_000, "chunk_overlap": 0}
    if bm25_weight is not None:
        extra["bm25_weight"] = bm25_weight
    settings = _settings(index_dir, embedding_cache, **extra)
    with _progress(err) as prog:
        res = run_benchmark(passages, questions, run_out, settings=settings, split=split or None, depth=depth,
                            progress=_ingest_progress(prog))
    weight = f" w={settings.bm25_weight}" if settings.fusion in ("weighted", "rrf") else ""
    t = Table(title=f"{passages.parent.name} {split or 'all'} — {mode}"
                    + (f" {settings.fusion}{weight}" if mode == "hybrid" else "") + f" (n={res['n']})")
    for k in ("recall@1", "recall@5", "recall@20", "mrr@10", "hit@5", "ans_hit@5", "recall@100"):
        t.add_column(k, justify="right")
    t.add_row(*[f"{res[k]:.3f}" for k in ("recall@1", "recall@5", "recall@20", "mrr@10", "hit@5", "ans_hit@5",
                                         "recall@100")])
    console.print(t)
    idx = res["index"]
    console.print(f"indeks: {'dipakai ulang' if idx['reused'] else 'dibangun'} ({idx['chunks']} passage, "
                  f"{idx['embedded']} di-embed); {res['ms_per_question']} ms/pertanyaan; run: {run_out}")
    print(json.dumps({k: v for k, v in res.items() if k != "index"}, ensure_ascii=False))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")


@app.command()
def answers(bench: str = typer.Option("tydiqa-id", "--bench", help="tydiqa-id | facqa-id | a benchmark folder"),
            split: str = typer.Option("valid", "--split", help="valid (develop) | test (report once per change)"),
            limit: Optional[int] = typer.Option(None, "--limit", help="A seeded sample of N questions"),
            unanswerable: bool = typer.Option(True, "--unanswerable/--no-unanswerable",
                                              help="Also the IDK-MRC questions their passage does not answer"),
            out: Optional[Path] = typer.Option(None, "--out", help="Bawaan evals/runs/<waktu>-answers-<bench>"),
            index_dir: Optional[Path] = typer.Option(None, "--index-dir",
                                                     help="Indeks sementara; bawaan bench-out/retrieval-index/…"),
            embedding_cache: Path = typer.Option(SHARED_CACHE, "--embedding-cache")) -> None:
    """External answer benchmark: the pool in a scratch index, every question through Assistant.ask."""
    from evals.answer_bench import (
        LOWER_IS_BETTER,
        SUMMARY_KEYS,
        bench_settings,
        benchmarks_root,
        run_answer_bench,
        write_answer_results,
    )

    console, err = _consoles()
    bench_dir = Path(bench) if Path(bench).is_dir() else benchmarks_root() / bench
    if not (bench_dir / "passages.jsonl").exists():
        raise typer.BadParameter(f"no passages.jsonl in {bench_dir}")
    if index_dir is None:
        index_dir = REPO / "bench-out" / "retrieval-index" / f"{bench_dir.name}-passages"
    settings = bench_settings(index_dir, embedding_cache, bench=bench_dir.name)
    out = out or RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-answers-{bench_dir.name}-{split}"
    t0 = time.perf_counter()
    with _progress(err) as prog:
        res = run_answer_bench(bench_dir, settings=settings, split=split or None, limit=limit,
                               unanswerable=unanswerable, progress=_ingest_progress(prog))
    path = write_answer_results(res, out)
    from rich.table import Table

    s = res["summary"]
    t = Table(title=f"{bench_dir.name} {split} — jawaban (n={s['n_answerable']} + {s['n_unanswerable']} tak terjawab)")
    t.add_column("metrik")
    t.add_column("nilai", justify="right")
    for k in SUMMARY_KEYS:
        if s.get(k) is not None:
            arrow = " (↓)" if k in LOWER_IS_BETTER else ""
            t.add_row(k + arrow, f"{s[k]:.1f}" if "ms" in k else f"{s[k]:.3f}")
    console.print(t)
    print(json.dumps(s, ensure_ascii=False))
    console.print(f"{time.perf_counter() - t0:.1f} s — {path} dan {path.parent / 'report.html'}")


@app.command("calibrate-support")
def calibrate_support(labels: Path = typer.Option(DATASETS / "support_labels.jsonl", "--labels"),
                      embed: bool = typer.Option(False, "--embed", help="Ikutkan kemiripan embedding"),
                      write: bool = typer.Option(True, "--write/--no-write",
                                                 help="Simpan ambang ke evals/thresholds.json")) -> None:
    """Accuracy/F1 of the support scorer per threshold on labelled pairs; store the chosen threshold."""
    from rich.table import Table

    from evals.support import calibrate

    console, _ = _consoles()
    embedder = None
    if embed:
        from assistant.config import get_settings
        from assistant.generators import build_embedder

        embedder = build_embedder(get_settings())
    res = calibrate(labels, embedder=embedder, write=write)
    t = Table(title=f"support scorer on {labels.name} (n={res['n']}, {res['positives']} supported)")
    for c in ("ambang", "akurasi", "presisi", "recall", "F1"):
        t.add_column(c, justify="right")
    for r in res["table"]:
        mark = " ←" if r["threshold"] == res["threshold"] else ""
        t.add_row(f"{r['threshold']:.2f}{mark}", f"{r['accuracy']:.3f}", f"{r['precision']:.3f}",
                  f"{r['recall']:.3f}", f"{r['f1']:.3f}")
    console.print(t)
    console.print(f"ambang {res['threshold']}: akurasi {res['accuracy']}, F1 {res['f1']}, akurasi 5-fold CV "
                  f"{res['cv_accuracy']}" + (" — disimpan di evals/thresholds.json" if write else ""))
    if embedder is not None:
        embedder.close()


@app.command("feedback-export")
def feedback_export(index_dir: Optional[Path] = typer.Option(None, "--index-dir"),
                    out: Path = typer.Option(..., "--out", help="JSONL berisi item tinjauan")) -> None:
    """Export 👎 feedback as gold-schema review items (reference answer and key facts left to fill)."""
    from evals.feedback_export import export_feedback

    console, _ = _consoles()
    if index_dir is None:
        from assistant.config import get_settings

        index_dir = Path(get_settings().index_dir)
    n = export_feedback(index_dir, out)
    console.print(f"{n} item tinjauan → {out}")
