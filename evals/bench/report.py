"""The results as Markdown tables (printed and written to ``report.md``) and the targets, each met or not."""

from __future__ import annotations

from typing import Any

RUN_LIMIT_S = 20 * 60


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pct(lat: dict[str, Any] | None) -> str:
    if not lat or "p50_ms" not in lat:
        return "–"
    return f"{lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} / {lat['p99_ms']:.0f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _many(lat: dict[str, Any]) -> str:
    return next((k for k in lat if k != "1"), "10")


def evaluate_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the brief with the measured value and whether it is met (None = not measured)."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, op: str, where: str) -> None:
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        out.append({"target": name, "where": where, "value": value, "limit": f"{op} {limit}", "met": met})

    sizes = res.get("sizes", {})
    for size, s in sizes.items():
        ing = s.get("ingest") or {}
        add("ingest ≥ 80% of bare encoder throughput", ing.get("ratio"), 0.8, ">=", size)
    if "10k" in sizes:
        s = sizes["10k"]
        add("re-ingest of unchanged 10k corpus (s)", (s.get("reingest") or {}).get("median_s"), 2.0, "<=", "10k")
        for store, h in s.get("http", {}).items():
            ask = h["latency"].get("/v1/ask", {})
            many = _many(ask)
            add("ask p50, 1 client (ms)", ask.get("1", {}).get("p50_ms"), 50, "<=", f"10k {store}")
            add("ask p95, 1 client (ms)", ask.get("1", {}).get("p95_ms"), 150, "<=", f"10k {store}")
            add(f"ask p95, {many} clients (ms)", ask.get(many, {}).get("p95_ms"), 500, "<=", f"10k {store}")
    if "100k" in sizes:
        for store, h in sizes["100k"].get("http", {}).items():
            ask = h["latency"].get("/v1/ask", {})
            add("ask p95, 1 client (ms)", ask.get("1", {}).get("p95_ms"), 300, "<=", f"100k {store}")
            add("server RSS peak (MB)", max(h["rss_peak_mb"] or [0]) or None, 1536, "<=", f"100k {store}")
            add("start → /readyz 200 (s)", max(h["ready_s"] or [0]) or None, 10, "<=", f"100k {store}")
    q = res.get("quality")
    if q:
        add("R@5 gain over naive LangChain (points)", q.get("gain_r5_points"), 8, ">=", "TyDi test")
        add("latency ours/naive, in-process p50", q.get("latency", {}).get("ratio_p50"), 1.5, "<=", "TyDi 4,650")
    meta = res.get("meta", {})
    if meta.get("wall_s") is not None and not meta.get("config", {}).get("quick"):
        add("whole bench run (s)", meta["wall_s"], RUN_LIMIT_S, "<=", "this run")
    return out


def render(res: dict[str, Any]) -> str:
    """All tables as one Markdown document."""
    meta = res.get("meta", {})
    parts = [f"# kota-kreatif bench — {meta.get('started', '')}",
             f"`{meta.get('command') or 'kota-kreatif bench'}` · {meta.get('cpus')} cores · load average at start "
             f"{meta.get('loadavg_start')} / end {meta.get('loadavg_end')}"
             + f" · other processes used {_f(meta.get('other_processes_cores'), 2)} cores on average"
             + (" · **measured under load**" if meta.get("under_load") else "")
             + f" · wall {_f(meta.get('wall_s'))} s"]
    sizes = res.get("sizes", {})

    rows = []
    for size, s in sizes.items():
        sp = s.get("corpus_spec")
        if sp:
            cos = sp.get("variant_cosine_to_source") or {}
            rows.append([size, str(sp["chunks"]), str(sp["real"]), str(sp["variants"]), str(sp["sigma"]),
                         f"{_f(cos.get('mean'), 3)} / {_f(cos.get('min'), 3)}", str(sp["file_chunks"]),
                         str(sp["seed"])])
    if rows:
        parts += ["## Corpora (see `evals/bench/corpora.py`)",
                  "Real TyDi + FacQA passages (cached e5 vectors), then variants: sentence-shuffled, truncated or "
                  "sentence-dropped copies of passage `j mod n_real`, vector = source vector + N(0, σ²) per "
                  "dimension, re-normalised; written as .txt files the indexer sees as unchanged.",
                  _table(["size", "chunks", "real passages", "variants", "σ", "variant cos to source mean / min",
                          "chunks per file", "seed"], rows)]

    rows = []
    for size, s in sizes.items():
        b, d, ri, ing = s.get("build", {}), s.get("disk", {}), s.get("reingest", {}), s.get("ingest", {})
        build = "reused" if b.get("reused") else f"{_f(b.get('total_s'))} s"
        ph = ing.get("phases") or {}
        rows.append([size, str(s.get("chunks")), build, f"{_f(d.get('total_mb'))} ({_f(d.get('chroma_mb'))} + "
                     f"{_f(d.get('generation_mb'))})", _f(ri.get("median_s"), 2),
                     f"{_f(ing.get('ingest_chunks_per_s'), 2)} ({ing.get('chunks')} ch, {ing.get('into')})",
                     f"{_f(ph.get('read_chunk_embed_s'))} / {_f(ph.get('upsert_s'))} / "
                     f"{_f(ph.get('bm25_publish_reload_s'))}",
                     _f(ing.get("bare_encoder_per_s"), 2), _f(ing.get("ratio"), 2)])
    parts += ["## Index and ingest", _table(
        ["size", "chunks", "build", "disk MB (chroma + generation)", "re-ingest s", "ingest chunks/s",
         "ingest s: read+chunk+embed / upsert / BM25+publish+reload", "bare encoder passages/s", "ingest/encoder"],
        rows)]

    rows = []
    for size, s in sizes.items():
        for store, h in s.get("http", {}).items():
            lat = h.get("latency", {})
            se, ak = lat.get("/v1/search", {}), lat.get("/v1/ask", {})
            many = _many(ak or se)
            chroma = (f"{_f(h.get('chroma_rss_start_mb'), 0)} / {_f(h.get('chroma_rss_peak_mb'), 0)}"
                      if store == "http" else "–")
            rps = (ak.get(many) or {}).get("rps")
            inside = ((ak.get("1") or {}).get("server_total") or {}).get("p50_ms")
            ready = "/".join(_f(x, 1) for x in h.get("ready_s", []))
            rows.append([size, store, _f(s.get("other_processes_cores"), 2), ready,
                         f"{_f(max(h.get('rss_start_mb') or [0]), 0)} / {_f(max(h.get('rss_peak_mb') or [0]), 0)}",
                         chroma, _pct(se.get("1")), _pct(se.get(many)), _pct(ak.get("1")), _f(inside),
                         _pct(ak.get(many)), _f(rps)])
    many = "10"
    parts += ["## Server over HTTP (loopback; latency p50 / p95 / p99 ms)", _table(
        ["size", "store", "other procs' cores (size avg)", "start → /readyz s", "serve RSS MB start / peak",
         "chroma RSS MB start / peak",
         "search 1 client", f"search {many} clients", "ask 1 client", "ask 1 client: in-server p50",
         f"ask {many} clients", f"ask rps @{many}"],
        rows)]

    rows = []
    q = res.get("quality")
    entries = ([("TyDi 4,650 (quality index)", q.get("latency", {}))] if q else []) + [
        (size, s.get("inprocess", {})) for size, s in sizes.items()]
    for name, lat in entries:
        if not lat:
            continue
        rows.append([name, str(lat.get("n")), _pct(lat.get("naive")), _pct(lat.get("ours_ask")),
                     _pct(lat.get("ours_retrieve")), _f(lat.get("ratio_p50"), 2), _f(lat.get("ratio_p95"), 2)])
    parts += ["## In-process latency: ours (`Assistant.ask`) vs naive LangChain (`similarity_search(k=4)`), ms",
              _table(["index", "questions", "naive p50/p95/p99", "ours ask p50/p95/p99", "ours retrieve p50/p95/p99",
                      "ratio p50", "ratio p95"], rows)]
    rows = []
    for name, lat in entries:
        mp = (lat or {}).get("ours_mean_parts_ms")
        if mp:
            rows.append([name] + [_f(mp.get(k), 1) for k in ("embed_query", "dense", "bm25", "fuse", "retrieve",
                                                             "answer", "total")])
    if rows:
        parts += ["## Where `Assistant.ask` spends its time (same run, no profiler; mean ms)", _table(
            ["index", "embed query", "dense (Chroma)", "BM25", "fuse + cosines + dedup", "retrieve", "answer",
             "total"], rows)]
    if q:
        o, nv = q["ours"], q["naive"]
        parts += [f"## Retrieval quality, TyDi QA-id test ({o['n']} questions, {q['passages']} passages)", _table(
            ["system", "R@1", "R@5", "R@10", "MRR@10"],
            [["naive LangChain (Chroma top-k, e5)", _f(nv["recall@1"], 3), _f(nv["recall@5"], 3),
              _f(nv["recall@10"], 3), _f(nv["mrr@10"], 3)],
             ["ours (hybrid e5 + BM25, fused, dedup)", _f(o["recall@1"], 3), _f(o["recall@5"], 3),
              _f(o["recall@10"], 3), _f(o["mrr@10"], 3)],
             ["gain (points)", "", _f(q["gain_r5_points"]), "", _f(q["gain_mrr10_points"])]])]

    rows = []
    for size, s in sizes.items():
        ann, fl = s.get("ann"), s.get("filter") or {}
        if not ann:
            continue
        deep = next((v for k, v in ann.items() if k.startswith("recall@") and k != "recall@10"), None)
        rows.append([size, _f(ann.get("recall@10"), 3), _f(deep, 3), _f(ann.get("chroma_query_p50_ms"), 2),
                     _f(ann.get("numpy_exact_p50_ms"), 2), _f(fl.get("selectivity"), 2),
                     _f(fl.get("retrieve_no_filter_p50_ms"), 1), _f(fl.get("retrieve_filter_p50_ms"), 1),
                     _f(fl.get("python_mask_p50_ms"), 1),
                     f"{_f(fl.get('chroma_no_where_p50_ms'), 1)} → {_f(fl.get('chroma_where_p50_ms'), 1)}"])
    if rows:
        parts += ["## HNSW vs exact search, and the cost of a metadata filter", _table(
            ["size", "ANN recall@10", "ANN recall@40", "Chroma query p50 ms", "numpy exact p50 ms",
             "filter share", "retrieve p50 ms", "retrieve + filter p50 ms", "filter mask (Python) ms",
             "Chroma ms: no where → where"], rows)]

    for size, s in sizes.items():
        p = s.get("profile")
        if p:
            parts += [f"## Profile of `Assistant.ask` at {size} ({p['questions']} questions)",
                      "mean ms per part: " + ", ".join(f"{k} {v}" for k, v in p["mean_parts_ms"].items())
                      + f" · text profile: `{p['profile']}`"]

    t = res.get("targets") or evaluate_targets(res)
    parts += ["## Targets", _table(["target", "where", "measured", "limit", "met"],
                                   [[x["target"], x["where"], _f(x["value"], 2), x["limit"],
                                     {True: "yes", False: "**no**", None: "not measured"}[x["met"]]] for x in t])]
    return "\n\n".join(parts) + "\n"
