"""CI gate on text nobody here wrote: a seeded sample of TyDi QA-id *valid* questions (answerable ones, and IDK-MRC
questions their paragraph does not answer) asked through the full ``Assistant`` over a smaller pool (their own
paragraphs plus seeded distractors), scored on the answer text.

The thresholds in ``evals/thresholds.json`` (``reading_gate``) are this same run measured minus a margin; the
``_note`` says which run. The full benchmark (all 4,650 passages) is ``kota-kreatif eval answers``; its figures
are in docs/evaluation.md. The test split is never used here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.answer_bench import benchmarks_root

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = REPO / "evals" / "thresholds.json"
BENCH = benchmarks_root() / "tydiqa-id"
GATED_UP = ("answer_recall", "answer_first_sentence", "unanswerable_abstained")
GATED_DOWN = ("false_abstention",)


@pytest.fixture(scope="module")
def reading_run(tmp_path_factory):
    from evals.answer_bench import bench_settings, run_answer_bench
    from tests.conftest import CACHE

    gate = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["reading_gate"]
    settings = bench_settings(tmp_path_factory.mktemp("reading-gate") / "index", CACHE, bench=BENCH.name)
    return run_answer_bench(BENCH, settings=settings, split="valid", limit=gate["_sample"]["questions"],
                            distractors=gate["_sample"]["distractors"])


@pytest.mark.skipif(not BENCH.exists(), reason="shared TyDi benchmark not available")
@pytest.mark.parametrize("metric", GATED_UP + GATED_DOWN)
def test_reading_gate(reading_run, metric):
    gate = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["reading_gate"]
    value = reading_run["summary"][metric]
    ok = value is not None and (value <= gate[metric] if metric in GATED_DOWN else value >= gate[metric])
    if not ok:
        misses = [r for r in reading_run["items"] if (r["answerable"] and not r.get("answer_recall"))
                  or (not r["answerable"] and not r["abstained"])][:8]
        detail = "; ".join(f"{r['question']!r} → {r['answer'][:80]!r}" for r in misses)
        pytest.fail(f"{metric} = {value}, gate {gate[metric]} ({gate['_note']}). Some misses: {detail}")
