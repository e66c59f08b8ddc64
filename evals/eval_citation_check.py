"""How often does the citation checker catch a corrupted answer, and how often does it wrongly touch a good one?

Real extractive answers to the answerable gold questions are taken as they are (the *clean* set) and corrupted
one way at a time, as an LLM might get them wrong:

* ``swap`` — two sentences exchange their citation numbers;
* ``wrong_source`` — a sentence cites another retrieved chunk instead of its own;
* ``number`` — a number or year in a sentence is changed (2015 → 2016, 58 → 59);
* ``name`` — a proper name in a sentence is replaced by another name from the corpus (Bandung → Ambon);
* ``out_of_range`` — a sentence cites ``[k+3]`` with only k chunks retrieved;
* ``unsupported`` — a true corpus sentence from another document is appended with citation ``[1]``.

The answer's citations are renumbered over the retrieved context chunks (as an LLM sees them: ``[1]..[k]``),
then :func:`assistant.answer.citations.check_citations` runs. A corruption is *caught* when its target
sentence is removed, or its citation is re-pointed to a chunk that supports it (the result is grounded again);
for ``out_of_range`` also when the bad marker is gone. Corruptions the cited chunk happens to support anyway
(a swapped number that also occurs in the chunk, two chunks that say the same) are *benign*: counted apart,
and excluded from the headline catch rate. The false-removal rate is the share of clean sentences the checker
removes (and, separately, re-points).

    .venv/bin/python -m evals.eval_citation_check [--limit N] [--embed] [--json out.json] [-v]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.eval_followups import DEFAULT_CACHE, DEFAULT_INDEX, REPO, open_assistant

GOLD = REPO / "evals" / "datasets" / "gold.jsonl"
KINDS = ("swap", "wrong_source", "number", "name", "out_of_range", "unsupported")
_MARK = re.compile(r"\[(\d+)\]")
_NUM = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{3,}\b")


@dataclass
class Case:
    """One answer as an LLM would have produced it: cited sentences over numbered context passages."""

    qid: str
    sentences: list[tuple[str, int]]  # (sentence without marker, passage number)
    passages: dict[int, str]

    def text(self) -> str:
        return " ".join(f"{s} [{n}]" for s, n in self.sentences)


@dataclass
class Corrupted:
    kind: str
    text: str
    targets: list[str]  # plain sentences that must be caught
    benign: bool = False
    bad_marker: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def build_cases(assistant, items: list[dict[str, Any]]) -> list[Case]:
    """Extractive answers → cited sentences over the top context chunks, numbered 1..k."""
    from assistant.answer.citations import cited_sentences
    from assistant.answer.llm import passage_text

    k = assistant.settings.answer_context_chunks
    cases = []
    for it in items:
        ans = assistant.ask(it["question"], remember=False)
        if ans.abstained or not ans.citations:
            continue
        hits = assistant.retrieve(ans.standalone_question)[:k]
        index = {h.chunk.chunk_id: n for n, h in enumerate(hits, 1)}
        local = {c.n: index.get(c.chunk_id) for c in ans.citations}
        sents = []
        for plain, nums in cited_sentences(ans.answer):
            if plain.startswith(("Dokumen yang saya miliki", "Catatan:", "Maaf")) or not nums:
                continue
            n = local.get(nums[0])
            if n is not None:
                sents.append((plain, n))
        if sents:
            cases.append(Case(it["id"], sents, {n: passage_text(h) for n, h in enumerate(hits, 1)}))
    return cases


def corrupt(case: Case, kind: str, rng: random.Random, pool: list[tuple[str, str]], names: list[str],
            scorer) -> Corrupted | None:
    """One corruption of ``kind`` (None when the answer offers no place for it)."""
    sents = list(case.sentences)
    k = len(case.passages)
    if kind == "swap":
        pairs = [(i, j) for i in range(len(sents)) for j in range(i + 1, len(sents)) if sents[i][1] != sents[j][1]]
        if not pairs:
            return None
        i, j = rng.choice(pairs)
        (si, ni), (sj, nj) = sents[i], sents[j]
        sents[i], sents[j] = (si, nj), (sj, ni)
        # Only a sentence its new source does not support is an error to catch.
        targets = [s for s, m in ((si, nj), (sj, ni)) if not scorer.supports(s, case.passages[m])]
        return Corrupted(kind, _join(sents), targets or [si, sj], not targets)
    if kind == "wrong_source":
        options = [(i, m) for i, (_, n) in enumerate(sents) for m in case.passages if m != n]
        if not options:
            return None
        i, m = rng.choice(options)
        s = sents[i][0]
        sents[i] = (s, m)
        return Corrupted(kind, _join(sents), [s], scorer.supports(s, case.passages[m]))
    if kind == "number":
        options = [i for i, (s, _) in enumerate(sents) if _NUM.search(s)]
        if not options:
            return None
        i = rng.choice(options)
        s, n = sents[i]
        m = rng.choice(list(_NUM.finditer(s)))
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        new_digits = str(int(digits) + rng.choice([1, 2, -1])) if int(digits) > 2 else str(int(digits) + 3)
        new = raw[: len(raw) - len(digits)] + new_digits if raw.isdigit() else raw[:-1] + new_digits[-1]
        if new == raw:
            return None
        changed = s[: m.start()] + new + s[m.end():]
        sents[i] = (changed, n)
        return Corrupted(kind, _join(sents), [changed], scorer.supports(changed, case.passages[n]),
                         notes={"from": raw, "to": new})
    if kind == "name":
        options = [(i, m) for i, (s, _) in enumerate(sents) for m in _NAME.finditer(s)]
        if not options:
            return None
        i, m = rng.choice(options)
        s, n = sents[i]
        other = rng.choice([x for x in names if x != m.group(0)])
        changed = s[: m.start()] + other + s[m.end():]
        sents[i] = (changed, n)
        return Corrupted(kind, _join(sents), [changed], scorer.supports(changed, case.passages[n]),
                         notes={"from": m.group(0), "to": other})
    if kind == "out_of_range":
        i = rng.randrange(len(sents))
        s, _ = sents[i]
        sents[i] = (s, k + 3)
        return Corrupted(kind, _join(sents), [s], False, bad_marker=k + 3)
    if kind == "unsupported":
        docs = {p.split("\n", 1)[0] for p in case.passages.values()}
        options = [s for s, head in pool if head not in docs]
        extra = rng.choice(options)
        benign = any(scorer.supports(extra, p) for p in case.passages.values())
        return Corrupted(kind, _join(sents) + f" {extra} [1]", [extra], benign)
    raise ValueError(kind)


def _join(sents: list[tuple[str, int]]) -> str:
    return " ".join(f"{s} [{n}]" for s, n in sents)


def caught(result, c: Corrupted, passages: dict[int, str], scorer) -> bool:
    """Every target sentence is gone from the checked answer, or cited there only by chunks that support it
    (re-pointed). (An out-of-range number never survives: the checker keeps only numbers it has passages for.)"""
    from assistant.answer.citations import cited_sentences

    kept = {_norm(s): [result.order[n - 1] for n in ns if 0 < n <= len(result.order)]
            for s, ns in cited_sentences(result.text)}
    for t in c.targets:
        cites = kept.get(_norm(t))
        if cites is None:
            continue  # removed
        if not cites or not all(scorer.supports(t, passages[n]) for n in cites):
            return False
    return True


def _norm(s: str) -> str:
    return " ".join(re.sub(r"\s+([.!?,;:])", r"\1", s).split()).rstrip(".")


def run(assistant, items: list[dict[str, Any]], scorer, seed: int = 7) -> dict[str, Any]:
    from assistant.answer.citations import check_citations, cited_sentences
    from assistant.text import sentences

    rng = random.Random(seed)
    cases = build_cases(assistant, items)
    gen = assistant.generation()
    pool = [(" ".join(s.split()), f"{c.title} — {c.section}") for c in gen.chunks for s in sentences(c.text)
            if len(s.split()) >= 8 and not s.lstrip().startswith(("#", "|", "-", "*")) and _NUM.search(s)]
    names = sorted({m.group(0) for c in gen.chunks for m in _NAME.finditer(c.text)})
    # Clean answers: what does the checker remove or re-point that was fine?
    clean_sents = clean_removed = clean_fixed = 0
    for case in cases:
        res = check_citations(case.text(), case.passages, scorer)
        clean_sents += len(case.sentences)
        clean_removed += len(res.removed)
        clean_fixed += len({f.sentence for f in res.fixes})
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "benign": 0, "caught": 0,
                                                                "caught_benign": 0})
    examples: list[dict[str, Any]] = []
    collateral = [0, 0]  # good sentences in corrupted answers, of which removed
    for case in cases:
        for kind in KINDS:
            c = corrupt(case, kind, rng, pool, names, scorer)
            if c is None:
                continue
            res = check_citations(c.text, case.passages, scorer)
            ok = caught(res, c, case.passages, scorer)
            # Collateral: good sentences of the corrupted answer that the check removed too.
            kept_text = {_norm(s) for s, _ in cited_sentences(res.text)}
            good = [s for s, _ in case.sentences if _norm(s) not in {_norm(t) for t in c.targets}
                    and s in c.text]
            collateral[0] += len(good)
            collateral[1] += sum(_norm(s) not in kept_text for s in good)
            row = per_kind[kind]
            if c.benign:
                row["benign"] += 1
                row["caught_benign"] += ok
            else:
                row["n"] += 1
                row["caught"] += ok
                if not ok:
                    examples.append({"qid": case.qid, "kind": kind, "targets": c.targets, "notes": c.notes,
                                     "checked": res.text})
    total_n = sum(r["n"] for r in per_kind.values())
    total_caught = sum(r["caught"] for r in per_kind.values())
    return {
        "answers": len(cases), "clean_sentences": clean_sents,
        "false_removal_rate": round(clean_removed / clean_sents, 4) if clean_sents else None,
        "false_repoint_rate": round(clean_fixed / clean_sents, 4) if clean_sents else None,
        "corruptions": total_n, "catch_rate": round(total_caught / total_n, 4) if total_n else None,
        "benign_corruptions": sum(r["benign"] for r in per_kind.values()),
        "collateral_removal_rate": round(collateral[1] / collateral[0], 4) if collateral[0] else None,
        "per_kind": {k: {**v, "catch_rate": round(v["caught"] / v["n"], 4) if v["n"] else None}
                     for k, v in per_kind.items()},
        "missed_examples": examples[:25],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, default=GOLD)
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    ap.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--embed", action="store_true", help="support scorer with the embedder (slower)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="print missed corruptions")
    args = ap.parse_args(argv)
    from assistant.support import SupportScorer

    items = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [it for it in items if it.get("answerable")][: args.limit]
    a = open_assistant(args.index_dir, args.embedding_cache)
    try:
        scorer = SupportScorer(a.embedder if args.embed else None)
        out = run(a, items, scorer, args.seed)
    finally:
        a.close()
    if args.verbose:
        for ex in out["missed_examples"]:
            print(f"MISSED {ex['kind']:13} {ex['qid']} {ex['notes']} {ex['targets'][0][:110]!r}")
    shown = {k: v for k, v in out.items() if k != "missed_examples"}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
