"""Training data for the encoder: benchmark *train* questions with their gold passage and mined hard negatives.

Why these negatives: in-batch negatives alone are easy (random other paragraphs); what the model must learn is to
rank the gold paragraph above the ones that share its words (BM25's top) and the ones the base model already
confuses with it (its dense top). Candidates that contain one of the question's answer strings are dropped:
they are often unlabelled positives, and training against them would teach the model to miss answers.

Only ``questions_train.jsonl`` is read here; valid/test questions never reach training.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENCH_ROOT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
BENCHES = ("tydiqa-id", "facqa-id")


@dataclass
class Example:
    qid: str
    question: str
    positive: str  # passage id
    bm25_negs: list[str]
    dense_negs: list[str]


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_pool(bench_root: Path = BENCH_ROOT, benches: tuple[str, ...] = BENCHES) -> dict[str, str]:
    """Passage id -> text over all benchmark pools (ids are unique across them)."""
    pool: dict[str, str] = {}
    for b in benches:
        for row in read_jsonl(bench_root / b / "passages.jsonl"):
            pool[row["id"]] = row["text"]
    return pool


def load_questions(split: str, bench_root: Path = BENCH_ROOT, benches: tuple[str, ...] = BENCHES) -> list[dict]:
    """Questions of one split ("train" reads questions_train.jsonl; "valid"/"test" read questions.jsonl)."""
    out: list[dict] = []
    for b in benches:
        if split == "train":
            rows = read_jsonl(bench_root / b / "questions_train.jsonl")
        else:
            rows = [r for r in read_jsonl(bench_root / b / "questions.jsonl") if r.get("split") == split]
        out += [{**r, "bench": b} for r in rows if r.get("gold_passage_ids")]
    return out


def _contains_answer(text: str, answers: list[str]) -> bool:
    low = text.lower()
    return any(a and a.lower() in low for a in answers)


def mine_negatives(questions: list[dict], pool: dict[str, str], passage_vecs: dict[str, np.ndarray],
                   query_vecs: np.ndarray, depth: int = 30) -> list[Example]:
    """For each question: the BM25 top ``depth`` and the base model's top ``depth`` of its own benchmark's pool,
    minus gold passages and passages containing an answer string, in rank order."""
    from assistant.store import BM25Index

    examples: list[Example] = []
    by_bench: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        by_bench.setdefault(q["bench"], []).append(i)
    for bench, idxs in by_bench.items():
        prefix = "tydi-" if bench.startswith("tydi") else "facqa-"
        ids = [pid for pid in pool if pid.startswith(prefix)]
        bm25 = BM25Index.build([pool[p] for p in ids])
        P = np.stack([passage_vecs[p] for p in ids])
        for i in idxs:
            q = questions[i]
            gold = set(q["gold_passage_ids"])

            def keep(order, q=q, gold=gold, ids=ids) -> list[str]:
                out = []
                for j in order:
                    pid = ids[int(j)]
                    if pid not in gold and not _contains_answer(pool[pid], q.get("answers", [])):
                        out.append(pid)
                return out

            s = bm25.scores(q["question"])
            bm = keep(np.argsort(-s)[:depth]) if s is not None else []
            dn = keep(np.argsort(-(P @ query_vecs[i]))[:depth])
            examples.append(Example(q["id"], q["question"], q["gold_passage_ids"][0], bm, dn))
    return examples


def save_examples(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for e in examples:
            fh.write(json.dumps(e.__dict__, ensure_ascii=False) + "\n")


def load_examples(path: Path) -> list[Example]:
    return [Example(**row) for row in read_jsonl(path)]


def pick_negative(e: Example, rng: random.Random, top: int = 10) -> str | None:
    """One hard negative: from BM25's or the base model's list (a coin flip), uniformly among its first ``top``."""
    lists = [lst for lst in (e.bm25_negs[:top], e.dense_negs[:top]) if lst]
    if not lists:
        return None
    return rng.choice(rng.choice(lists))
