"""Where passage retrieval fails: the questions whose gold passage is not in the top k of a run file, and whether
the gold passage even names what the question asks about.

Why: on TyDi QA-id most misses are questions about a named subject ("Apakah makanan Thopha saccata?") whose gold
paragraph never names it — the IDK-MRC copy of the benchmark dropped the Wikipedia article titles — so no lexical
feature or fusion can find it; only the embedding model's sense of meaning can. Telling those apart from the
misses a better ranker could fix says where the remaining work is.

    python -m evals.retrieval_misses --run run.jsonl --passages ../shared/benchmarks/tydiqa-id/passages.jsonl \
        --questions ../shared/benchmarks/tydiqa-id/questions.jsonl --split test [--k 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from assistant.text import fold, is_indonesian_word
from evals.retrieval_bench import read_jsonl

# A capitalised run of words: the question's named subject ("Mary Celeste", "Pro Duta FC").
_NAME = re.compile(r"\b[A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)*")


def names(question: str) -> list[str]:
    """Capitalised runs of the question without a leading question word or ordinary Indonesian word
    ("Apakah …", "Tahun berapa …", "Kota …" open the run, they are not the name)."""
    out = []
    for m in _NAME.finditer(question):
        words = m.group(0).split()
        while words and is_indonesian_word(fold(words[0])):
            words = words[1:]
        if words:
            out.append(" ".join(words))
    return out


def misses(run: dict[str, list[str]], passages: dict[str, str], questions: list[dict], k: int) -> list[dict]:
    """One row per question whose (first) gold passage is not in the top ``k``: its rank, the question's names,
    which of them the gold passage contains and which occur anywhere in the pool."""
    pool = fold(" ".join(passages.values()))
    rows = []
    for q in questions:
        gold = q["gold_passage_ids"][0]
        ranked = run.get(q["id"], [])
        rank = ranked.index(gold) + 1 if gold in ranked else None
        if rank is not None and rank <= k:
            continue
        found = names(q["question"])
        text = fold(passages[gold])
        rows.append({"id": q["id"], "question": q["question"], "rank": rank, "names": found,
                     "in_gold": [n for n in found if fold(n) in text],
                     "in_pool": [n for n in found if fold(n) in pool]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="run file of `kota-kreatif eval retrieval` (--run-out)")
    ap.add_argument("--passages", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--json", type=Path, help="write the rows here")
    args = ap.parse_args()
    run = {r["id"]: r["ranked"] for r in read_jsonl(args.run)}
    passages = {p["id"]: f"{p.get('title') or ''} {p['text']}" for p in read_jsonl(args.passages)}
    questions = [q for q in read_jsonl(args.questions) if not args.split or q.get("split") == args.split]
    rows = misses(run, passages, questions, args.k)
    for r in rows:
        where = "gold names it" if r["in_gold"] else ("named elsewhere only" if r["in_pool"] else
                                                      "named nowhere" if r["names"] else "no name")
        print(f"rank {r['rank'] or '>depth':>7}  {where:21s} {r['question']}")
    named = [r for r in rows if r["names"]]
    print(f"\n{len(rows)} of {len(questions)} questions miss the top {args.k}; {len(named)} ask about a name, "
          f"{sum(not r['in_gold'] for r in named)} of those names are absent from the gold passage and "
          f"{sum(not r['in_pool'] for r in named)} from every passage")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
