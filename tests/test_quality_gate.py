"""CI quality gate: the full gold set through a real index of corpus/ must stay above the stored thresholds.

The thresholds in ``evals/thresholds.json`` (``gate``) come from a measured run minus a small margin; the
``_note`` beside them says which run. A change that drops a metric below them fails here. Raise the
thresholds when quality improves; never lower them to let a regression through — fix the regression, or
argue the new trade-off in review with both reports attached.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = REPO / "evals" / "thresholds.json"
GOLD = REPO / "evals" / "datasets" / "gold.jsonl"
GATED = ("key_fact_coverage", "key_fact_lead", "citation_precision", "abstain_accuracy", "recall@5")


@pytest.fixture(scope="module")
def gold_results(corpus_index, embedder, tmp_path_factory):
    from evals.runner import Evaluator

    idx = tmp_path_factory.mktemp("gate") / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    ev = Evaluator(corpus_index.model_copy(update={"index_dir": idx}), embedder=embedder)
    try:
        return ev.run(GOLD)
    finally:
        ev.close()


def test_thresholds_are_documented():
    gate = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["gate"]
    assert gate.get("_note"), "each gate must say which run and date its numbers came from"
    for key in GATED:
        assert 0 < gate[key] <= 1, key


@pytest.mark.parametrize("metric", GATED)
def test_quality_gate(gold_results, metric):
    gate = json.loads(THRESHOLDS.read_text(encoding="utf-8"))["gate"]
    value = gold_results["summary"][metric]
    if value is None or value < gate[metric]:
        worst = sorted(gold_results["items"], key=lambda it: -it.get("severity", 0))[:10]
        detail = ", ".join(f"{it['id']}({'/'.join(it['failures'])})" for it in worst)
        pytest.fail(f"{metric} = {value} < threshold {gate[metric]} ({gate['_note']}). Worst items: {detail}. "
                    f"Run `kota-kreatif eval run --baseline <previous results.json>` for the full report.")
