"""Reply drafting on ``drafting.jsonl``: key-fact coverage of the letters, and whether they say what is unknown.

Per message: the letter from :func:`assistant.drafting.draft_reply` over a real index; key facts matched as in
every eval (``evals.metrics.fact_present``: accent/case-insensitive substrings with alternatives); for items
with ``unanswerable`` entries, whether the letter says something is not known (same markers as the eval
runner); citation recall/precision of the letter's sentences against the cited chunks (support scorer); and
the letter's form (salutation, "Dengan hormat", closing "Demikian …", "Hormat kami").

    .venv/bin/python -m evals.eval_drafting [--json out.json] [-v]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from evals.eval_followups import DEFAULT_CACHE, DEFAULT_INDEX, REPO, emit, open_assistant

DATASET = REPO / "evals" / "datasets" / "drafting.jsonl"
UNKNOWN = re.compile(r"tidak (?:ada|memuat|menemukan|tersedia)|belum (?:ada|diketahui|diumumkan|dapat kami pastikan)|"
                     r"tidak diketahui|belum dapat dipastikan|belum dikonfirmasi", re.I)
FORM = {"salutation": re.compile(r"^Yth\. ", re.M), "opening": re.compile(r"^Dengan hormat,", re.M),
        "closing": re.compile(r"^Demikian ", re.M), "signature": re.compile(r"^Hormat kami,", re.M)}


def run(assistant, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from assistant.drafting import draft_reply
    from assistant.support import SupportScorer
    from evals.metrics import citation_scores, key_fact_scores

    scorer = SupportScorer()
    gen = assistant.generation()
    rows = []
    for it in items:
        reply = draft_reply(assistant, assistant.letter_answerer, it["message"])
        kf = key_fact_scores(it["key_facts"], reply.draft)
        passages = {}
        for c in reply.citations:
            i = gen.ids.get(c.chunk_id)
            ch = gen.chunks[i] if i is not None else None
            passages[c.n] = f"{ch.title} — {ch.section}\n{ch.text}" if ch else c.quote
        # Score only the answer paragraphs' sentences (salutation/closing carry no claims).
        body = "\n".join(q.answer for q in reply.questions if not q.abstained)
        cit = citation_scores(body, passages, scorer.supports)
        rows.append({
            "id": it["id"], "questions": [q.question for q in reply.questions],
            "standalone": [q.standalone for q in reply.questions], "coverage": kf["coverage"], "all": kf["all"],
            "missing": kf["missing"], "unanswerable": it["unanswerable"],
            "unknown_flagged": bool(UNKNOWN.search(reply.draft)) if it["unanswerable"] else None,
            "unanswered": reply.unanswered, "citation_recall": cit["citation_recall"],
            "citation_precision": cit["citation_precision"],
            "form_ok": all(p.search(reply.draft) for p in FORM.values()), "draft": reply.draft,
            "ms": reply.timings_ms.get("total"),
        })
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return round(sum(vals) / len(vals), 4) if vals else None

    return {"messages": len(rows), "mean_key_fact_coverage": mean("coverage"), "all_key_facts_share": mean("all"),
            "unknown_flagged_share": mean("unknown_flagged"), "citation_recall": mean("citation_recall"),
            "citation_precision": mean("citation_precision"), "form_ok_share": mean("form_ok"),
            "mean_questions": round(sum(len(r["questions"]) for r in rows) / len(rows), 2) if rows else None,
            "mean_ms": mean("ms")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    ap.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every letter")
    args = ap.parse_args(argv)
    items = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    a = open_assistant(args.index_dir, args.embedding_cache)
    try:
        rows = run(a, items)
    finally:
        a.close()
    for r in rows:
        print(f"{r['id']}: coverage={r['coverage']:.2f} missing={r['missing']} unknown={r['unknown_flagged']} "
              f"questions={r['questions']}")
        if args.verbose:
            print("   standalone:", r["standalone"])
            print("   " + r["draft"].replace("\n", "\n   "))
    summary = summarize(rows)
    emit(summary, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
