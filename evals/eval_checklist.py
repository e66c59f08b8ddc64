"""Application readiness check: accuracy of the checklist statuses on hand-labelled draft applications.

The drafts and their expected labels live in ``tests/data/drafts`` (``expected.json``, written from the drafts'
content, not from the checker's output). The ``.docx`` draft is built here from its ``.txt`` twin with
python-docx, so the document-loading path (``assistant.documents.load_bytes``) is measured too. Every item's
citation must be a real corpus sentence from the index (``citations_found``).

    .venv/bin/python -m evals.eval_checklist [--json out.json] [-v]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from evals.eval_followups import DEFAULT_CACHE, DEFAULT_INDEX, REPO, emit, open_assistant

DRAFTS = REPO / "tests" / "data" / "drafts"


def docx_bytes(text: str) -> bytes:
    """A .docx with one paragraph per line of ``text`` (how a focal point's Word draft arrives)."""
    import docx

    d = docx.Document()
    for line in text.splitlines():
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def load_drafts(folder: Path = DRAFTS) -> tuple[dict[str, bytes], dict[str, dict[str, str]]]:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))["labels"]
    files: dict[str, bytes] = {}
    for name in expected:
        path = folder / name
        if path.suffix == ".docx" and not path.exists():
            path = path.with_suffix(".txt")
            files[name] = docx_bytes(path.read_text(encoding="utf-8"))
        else:
            files[name] = path.read_bytes()
    return files, expected


def run(assistant, files: dict[str, bytes], expected: dict[str, dict[str, str]]) -> dict[str, Any]:
    from assistant.application_check import check_application

    rows = []
    for name, data in files.items():
        res = check_application(assistant, data, name)
        for it in res.items:
            want = expected[name].get(it.id)
            rows.append({"file": name, "requirement": it.id, "expected": want, "got": it.status,
                         "ok": want == it.status, "evidence": it.evidence, "note": it.note,
                         "citation": it.citation.model_dump(include={"doc_id", "section", "quote"})
                         if it.citation else None})
    return {"rows": rows}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_req: dict[str, list[bool]] = {}
    by_file: dict[str, list[bool]] = {}
    for r in rows:
        by_req.setdefault(r["requirement"], []).append(r["ok"])
        by_file.setdefault(r["file"], []).append(r["ok"])
    confusion = Counter(f"{r['expected']}→{r['got']}" for r in rows)
    return {
        "items": len(rows), "accuracy": round(sum(r["ok"] for r in rows) / len(rows), 4) if rows else None,
        "per_requirement": {k: round(sum(v) / len(v), 3) for k, v in by_req.items()},
        "per_file": {k: round(sum(v) / len(v), 3) for k, v in by_file.items()},
        "citations_found": round(sum(r["citation"] is not None for r in rows) / len(rows), 4) if rows else None,
        "confusion": dict(sorted(confusion.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drafts", type=Path, default=DRAFTS)
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    ap.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    files, expected = load_drafts(args.drafts)
    a = open_assistant(args.index_dir, args.embedding_cache)
    try:
        rows = run(a, files, expected)["rows"]
    finally:
        a.close()
    for r in rows:
        if args.verbose or not r["ok"]:
            mark = "ok   " if r["ok"] else "SALAH"
            print(f"{mark} {r['file']:24} {r['requirement']:26} expected={r['expected']:8} got={r['got']:8} "
                  f"evidence={r['evidence'][:70]!r}")
    summary = summarize(rows)
    emit(summary, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
