"""No source or test file copies a question of the eval sets.

Why: an eval question written into code (a rule, a word-list entry, a docstring example that a rule was built
around) or into a test (a check that one eval item passes) makes the eval measure itself. The eval sets measure
phrasings nobody tuned for; code and tests use examples of their own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCANNED = ("assistant", "bots", "tests", "evals")
MIN_WORDS = 4  # shorter questions ("Apa itu UCCN?") are phrases anyone writes, not copies


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def eval_questions() -> set[str]:
    out: set[str] = set()
    for path in (REPO / "evals" / "datasets").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            out.update(item[k] for k in ("question", "message") if item.get(k))
            for turn in item.get("turns", []):
                out.update(t for t in (turn.get("question"), turn.get("standalone")) if t)
    return {n for n in map(_norm, out) if len(n.split()) >= MIN_WORDS}


def test_eval_questions_are_not_copied_into_code_or_tests():
    questions = eval_questions()
    assert len(questions) > 300  # the scan itself works: the datasets are there
    found = []
    for root in SCANNED:
        for path in (REPO / root).rglob("*.py"):
            text = _norm(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(REPO)}: {q}" for q in questions if q in text]
    assert not found, "eval questions copied:\n" + "\n".join(found)
