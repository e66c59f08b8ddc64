"""Follow-up questions without an LLM: run ``conversations.jsonl`` through a real Assistant and measure.

Each conversation is asked turn by turn under one conversation id (as the chat and the API do). Per turn:

* **key facts** — every key fact (or one of its alternatives) occurs in the answer (accent/case-insensitive
  substring, ``evals.metrics.fact_present``); for an unanswerable turn the assistant must abstain instead;
* **rewrite similarity** — token F1 and ROUGE-L of the rewritten stand-alone question against the gold
  ``standalone``.

``--oracle`` asks the gold stand-alone questions directly: the ceiling the rewriter could reach with this
retriever and answerer, which separates rewriting errors from answering errors.

    KK_INDEX_DIR=/tmp/kk-gen-index KK_EMBEDDING_CACHE=.cache/test-embeddings.sqlite .venv/bin/kota-kreatif ingest
    .venv/bin/python -m evals.eval_followups [--oracle] [--condense] [--json out.json] [-v]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO / "evals" / "datasets" / "conversations.jsonl"
DEFAULT_INDEX = Path(os.environ.get("KK_INDEX_DIR", "/tmp/kk-gen-index"))
DEFAULT_CACHE = Path(os.environ.get("KK_EMBEDDING_CACHE", REPO / ".cache" / "test-embeddings.sqlite"))


def emit(summary: dict[str, Any], rows: list[dict[str, Any]], json_path: Path | None) -> None:
    """Print the summary; with ``--json``, also write summary and per-item rows to that file."""
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if json_path:
        json_path.write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=2),
                             encoding="utf-8")


def open_assistant(index_dir: Path = DEFAULT_INDEX, embedding_cache: Path = DEFAULT_CACHE, ingest: bool = True,
                   **overrides: Any):
    """A real Assistant over the project corpus; ingests first (cheap when nothing changed)."""
    from assistant.assistant import Assistant
    from assistant.config import Settings

    settings = Settings(index_dir=index_dir, corpus_dir=REPO / "corpus", embedding_cache=embedding_cache,
                        **overrides)
    a = Assistant(settings)
    if ingest and a.is_stale():
        a.ingest()
    return a


class _Condensing:
    """Puts the LLM condense step in front of the assistant's rule rewriter (what ``llm_condense`` does once the
    facade wires it), so the same eval measures both."""

    def __init__(self, condenser, rules) -> None:
        self.condenser, self.rules = condenser, rules

    def rewrite(self, question: str, history: list) -> str:
        return self.condenser.rewrite(question, history, self.rules)


def use_condenser(assistant) -> bool:
    """Install the LLM condenser when the settings configure an LLM backend; False when there is none."""
    from assistant.generators import build_condenser

    condenser = build_condenser(assistant.settings)
    if condenser is None:
        return False
    assistant.generation()
    assistant._rewriter = _Condensing(condenser, assistant._rewriter)
    return True


def load_conversations(path: Path = DATASET) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run(assistant, conversations: list[dict[str, Any]], oracle: bool = False) -> list[dict[str, Any]]:
    from evals.metrics import key_fact_scores, rouge_l, token_f1

    rows = []
    for conv in conversations:
        cid = None
        for i, turn in enumerate(conv["turns"], 1):
            q = turn["standalone"] if oracle else turn["question"]
            # The oracle asks complete questions: no conversation, so nothing rewrites them.
            ans = assistant.ask(q, conversation_id=None if oracle else cid, remember=not oracle)
            cid = ans.conversation_id if not oracle else None
            kf = key_fact_scores(turn["key_facts"], ans.answer)
            # An unanswerable turn is right only when the assistant abstains.
            ok = (not ans.abstained and kf["all"] in (None, 1.0)) if turn["answerable"] else ans.abstained
            rows.append({
                "id": f"{conv['id']}#{i}", "turn": i, "question": turn["question"],
                "rewritten": ans.standalone_question, "gold_standalone": turn["standalone"],
                "rewrite_f1": round(token_f1(ans.standalone_question, turn["standalone"]), 4),
                "rewrite_rouge_l": round(rouge_l(ans.standalone_question, turn["standalone"]), 4),
                "answerable": turn["answerable"], "abstained": ans.abstained, "ok": ok,
                "coverage": kf["coverage"], "missing": kf["missing"], "answer": ans.answer,
            })
        if cid:
            assistant.conversations.delete(cid)
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def share(items: list[dict[str, Any]]) -> float | None:
        return round(sum(r["ok"] for r in items) / len(items), 4) if items else None

    answerable = [r for r in rows if r["answerable"]]
    follow = [r for r in rows if r["turn"] > 1]
    covs = [r["coverage"] for r in answerable if r["coverage"] is not None]
    return {
        "turns": len(rows), "answerable_turns": len(answerable),
        "all_key_facts_share": share(answerable),
        "all_key_facts_share_followups": share([r for r in follow if r["answerable"]]),
        "turns_ok_share": share(rows),
        "unanswerable_abstained": share([r for r in rows if not r["answerable"]]),
        "mean_key_fact_coverage": round(sum(covs) / len(covs), 4) if covs else None,
        "mean_rewrite_f1_followups": round(sum(r["rewrite_f1"] for r in follow) / len(follow), 4) if follow else None,
        "mean_rewrite_rouge_l_followups": (round(sum(r["rewrite_rouge_l"] for r in follow) / len(follow), 4)
                                           if follow else None),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    ap.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--oracle", action="store_true", help="ask the gold stand-alone questions (ceiling)")
    ap.add_argument("--condense", action="store_true",
                    help="rewrite follow-ups with the LLM backend of the settings (KK_LLM_BACKEND …)")
    ap.add_argument("--json", type=Path, help="write per-turn rows and the summary here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every turn")
    args = ap.parse_args(argv)
    a = open_assistant(args.index_dir, args.embedding_cache)
    if args.condense and not use_condenser(a):
        print("no LLM backend configured (KK_LLM_BACKEND=extractive): using the rule rewriter", file=sys.stderr)
    try:
        rows = run(a, load_conversations(args.dataset), oracle=args.oracle)
    finally:
        a.close()
    summary = summarize(rows)
    for r in rows:
        if args.verbose or not r["ok"]:
            mark = "ok " if r["ok"] else "GAGAL"
            print(f"{mark} {r['id']:6} F1={r['rewrite_f1']:.2f} {r['question']!r} -> {r['rewritten']!r}")
            if not r["ok"]:
                print(f"       missing={r['missing']} abstained={r['abstained']} answer={r['answer'][:160]!r}")
    emit(summary, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
