"""Turn users' 👎 feedback into review items in the gold-set schema.

Why: real failures are the best new gold questions. Each exported line already has the gold fields
(``question``, ``reference_answer`` = "" to fill, ``key_facts`` = [], ``gold_docs`` = [], ``category``
"feedback", ``answerable`` null) plus a ``review`` block with the bad answer, its citations and the user's
comment, so a reviewer fills in the blanks and moves the line into ``gold.jsonl``. Repeated 👎 on the same
question (case/accent/space-insensitive) become one item with all feedback ids and a vote count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.metrics import normalize


def export_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Review items from feedback rows (``FeedbackStore.iter_all(rating="down")`` dictionaries)."""
    by_question: dict[str, dict[str, Any]] = {}
    for r in rows:
        q = (r.get("question") or "").strip()
        if not q:
            continue
        key = normalize(q)
        item = by_question.get(key)
        if item is None:
            item = {
                "id": f"fb-{str(r.get('id', ''))[:10]}", "question": q, "reference_answer": "", "key_facts": [],
                "gold_docs": [], "category": "feedback", "answerable": None,
                "review": {"votes": 0, "feedback_ids": [], "answer_ids": [], "bad_answers": [], "comments": [],
                           "channels": [], "first_at": r.get("at")},
            }
            by_question[key] = item
        rev = item["review"]
        rev["votes"] += 1
        rev["feedback_ids"].append(r.get("id"))
        rev["answer_ids"].append(r.get("answer_id"))
        answer = r.get("answer") or ""
        if answer and all(b["answer"] != answer for b in rev["bad_answers"]):
            rev["bad_answers"].append({"answer": answer, "citations": [
                {k: c.get(k) for k in ("n", "doc_id", "title", "section", "quote", "chunk_id") if k in c}
                for c in (r.get("citations") or [])]})
        if r.get("comment"):
            rev["comments"].append(r["comment"])
        if r.get("channel") and r["channel"] not in rev["channels"]:
            rev["channels"].append(r["channel"])
    return sorted(by_question.values(), key=lambda it: (-it["review"]["votes"], it["review"]["first_at"] or 0))


def export_feedback(index_dir: Path, out: Path) -> int:
    """Write the review items of ``index_dir/feedback.sqlite`` to ``out`` (JSONL); return how many.

    A missing feedback database means no feedback yet: an empty file is written rather than creating one.
    """
    db = Path(index_dir) / "feedback.sqlite"
    rows: list[dict[str, Any]] = []
    if db.exists():
        from assistant.feedback import FeedbackStore

        store = FeedbackStore(db)
        try:
            rows = list(store.iter_all(rating="down"))
        finally:
            store.close()
    items = export_items(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    return len(items)
