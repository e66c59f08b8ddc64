"""``kota-kreatif bench``: the typer entry point. Imports only typer at module level (it loads on every start)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, help="Benchmark kecepatan, memori dan kualitas (3 ukuran korpus).")


@app.callback(invoke_without_command=True)
def bench(
    sizes: str = typer.Option("corpus,10k,100k", help="Ukuran korpus: corpus, 10k, 100k atau jumlah chunk."),
    store: str = typer.Option("embedded,http", help="Mode Chroma: embedded dan/atau http (chroma run)."),
    out: Optional[Path] = typer.Option(None, help="Folder hasil (bawaan: bench-out/bench)."),
    quick: bool = typer.Option(False, "--quick", help="Sampel kecil (untuk tes): selesai dalam ~1 menit."),
    corpus_dir: Optional[Path] = typer.Option(None, help="Korpus proyek (bawaan: corpus/)."),
    embedding_cache: Optional[Path] = typer.Option(
        None, help="Cache embedding yang memuat vektor passage TyDi/FacQA (bawaan: index/embedding-cache.sqlite)."),
    requests: int = typer.Option(200, min=2, max=2000, help="Permintaan HTTP per pengaturan (1 dan N klien)."),
    clients: int = typer.Option(10, min=2, max=64, help="Jumlah klien bersamaan."),
    ingest_sample: Optional[int] = typer.Option(
        None, min=1, help="Chunk dalam sampel ingest (bawaan: korpus proyek; lebih besar: ditambah passage TyDi)."),
) -> None:
    """Build (or reuse) the bench indexes, measure, print the tables and write results.json + report.md."""
    from evals.bench.runner import BenchConfig

    cfg = BenchConfig(quick=quick, requests=requests, clients=clients, ingest_sample=ingest_sample)
    cfg.sizes = [s.strip() for s in sizes.split(",") if s.strip()]
    cfg.stores = [s.strip() for s in store.split(",") if s.strip()]
    bad = [s for s in cfg.stores if s not in ("embedded", "http")]
    if bad or not cfg.stores or not cfg.sizes:
        raise typer.BadParameter(f"--store takes embedded,http; got {store!r}")
    try:
        from evals.bench.corpora import parse_size

        for s in cfg.sizes:
            parse_size(s)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if out:
        cfg.out = out
    if corpus_dir:
        cfg.corpus_dir = corpus_dir
    if embedding_cache:
        cfg.embedding_cache = embedding_cache
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    from evals.bench.report import render
    from evals.bench.runner import run

    results = run(cfg, log)
    text = render(results)
    (cfg.out / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"hasil: {cfg.out / 'results.json'} · {cfg.out / 'report.md'}", file=sys.stderr)
