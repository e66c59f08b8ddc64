"""Calibrate the extractive answerer's abstain threshold on the gold questions, split-half.

The threshold trades false abstentions on answerable questions against answering out-of-scope ones. It is
chosen on one half of the gold set (even ids) and checked on the other (odd ids), so the reported rates are
not measured on the questions that chose it. "Unanswerable because the documents say it is unknown"
(category ``tidak-terjawab``) is left out: those are handled by quoting the document's own statement, not by
the threshold.

    python evals/calibrate_abstain.py --index-dir /tmp/kk-evalidx --embedding-cache .cache/test-embeddings.sqlite
    python evals/calibrate_abstain.py --dataset evals/datasets/gold.jsonl --dataset evals/datasets/focal_dev.jsonl …
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.answer.extractive import ExtractiveAnswerer
from evals.eval_followups import DEFAULT_CACHE, DEFAULT_INDEX, open_assistant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", action="append", default=None,
                    help="question set(s) in the gold format; repeat to pool several (default: gold.jsonl)")
    ap.add_argument("--index-dir", default=None)
    ap.add_argument("--embedding-cache", default=None)
    ap.add_argument("--cost", type=float, default=2.0, help="weight of a false abstention vs a missed one")
    args = ap.parse_args()
    a = open_assistant(Path(args.index_dir) if args.index_dir else DEFAULT_INDEX,
                       Path(args.embedding_cache) if args.embedding_cache else DEFAULT_CACHE)
    bm25 = a.generation().bm25
    rows = [json.loads(line) for path in (args.dataset or ["evals/datasets/gold.jsonl"])
            for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    ev = []
    for r in rows:
        hits = a.retrieve(r["question"], a.settings.top_k)
        e = ExtractiveAnswerer.evidence(r["question"], hits, bm25.idf, set(bm25.query_terms(r["question"])))
        ev.append((r["answerable"], r["category"], e, int("".join(ch for ch in r["id"] if ch.isdigit()) or 0) % 2))

    def rates(sub, th):
        ans = [e for e in sub if e[0]]
        oos = [e for e in sub if not e[0] and e[1] != "tidak-terjawab"]
        fa = float(np.mean([e[2] < th for e in ans])) if ans else 0.0
        ca = float(np.mean([e[2] < th for e in oos])) if oos else 0.0
        return fa, ca, len(ans), len(oos)

    grid = np.round(np.arange(0.2, 0.8, 0.025), 3)
    tune = [e for e in ev if e[3] == 0]
    check = [e for e in ev if e[3] == 1]
    best = max(grid, key=lambda th: rates(tune, th)[1] - args.cost * rates(tune, th)[0])
    print("threshold  false-abstain(tune)  oos-abstain(tune)  false-abstain(check)  oos-abstain(check)")
    for th in grid:
        ft, ct, _, _ = rates(tune, th)
        fc, cc, _, _ = rates(check, th)
        mark = "  <- chosen" if th == best else ""
        print(f"{th:9.3f}  {ft:19.3f}  {ct:17.3f}  {fc:20.3f}  {cc:18.3f}{mark}")
    fc, cc, n_ans, n_oos = rates(check, best)
    print(f"chosen {best}: on the held-out half false-abstain {fc:.3f} (n={n_ans}), out-of-scope abstain {cc:.3f} "
          f"(n={n_oos}); configured abstain_threshold = {a.settings.abstain_threshold}")


if __name__ == "__main__":
    main()
