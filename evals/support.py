"""Calibration of the support scorer (:mod:`assistant.support`): score every labelled (sentence, passage) pair of
``evals/datasets/support_labels.jsonl``, choose the threshold with the best accuracy, and store it in
``assistant/support.json`` with a cross-validated accuracy (an honest estimate rather than a best case).

    kota-kreatif eval calibrate-support [--embed]      # or: python -m evals.support calibrate [--embed]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.support import THRESHOLDS_PATH, SentenceEmbedder, SupportScorer, read_thresholds

LABELS_PATH = Path(__file__).resolve().parent / "datasets" / "support_labels.jsonl"


# --------------------------------------------------------------------------- calibration
@dataclass
class ThresholdRow:
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float


def _row(t: float, scores: Sequence[float], labels: Sequence[bool]) -> ThresholdRow:
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and not y)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < t and y)
    tn = len(labels) - tp - fp - fn
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return ThresholdRow(round(t, 3), (tp + tn) / len(labels) if labels else 0.0, p, r, f1)


def threshold_table(scores: Sequence[float], labels: Sequence[bool],
                    grid: Iterable[float] | None = None) -> list[ThresholdRow]:
    grid = list(grid) if grid is not None else [round(0.05 * i, 2) for i in range(1, 20)]
    return [_row(t, scores, labels) for t in grid]


def best_threshold(scores: Sequence[float], labels: Sequence[bool], grid: Iterable[float] | None = None) -> float:
    """Highest accuracy, then highest F1; remaining ties go to the middle of the tied thresholds (least
    sensitive to noise)."""
    rows = threshold_table(scores, labels, grid)
    top = max((r.accuracy, r.f1) for r in rows)
    tied = [r.threshold for r in rows if (r.accuracy, r.f1) == top]
    return tied[len(tied) // 2]


def cross_validated_accuracy(scores: Sequence[float], labels: Sequence[bool], folds: int = 5) -> float:
    """Accuracy when the threshold is chosen on the other folds: what to expect on unseen sentences."""
    n = len(labels)
    correct = 0
    for f in range(folds):
        test = [i for i in range(n) if i % folds == f]
        train = [i for i in range(n) if i % folds != f]
        t = best_threshold([scores[i] for i in train], [labels[i] for i in train])
        correct += sum(1 for i in test if (scores[i] >= t) == labels[i])
    return correct / n if n else 0.0


def load_labels(path: Path = LABELS_PATH) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def calibrate(labels_path: Path = LABELS_PATH, embedder: SentenceEmbedder | None = None,
              write: bool = True, thresholds_path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    """Score every labelled pair, pick the threshold, optionally store it; return the full table."""
    import datetime as dt

    rows = load_labels(labels_path)
    scorer = SupportScorer(embedder, threshold=0.5)
    details = [scorer.detail(r["sentence"], r["passage"]) for r in rows]
    scores = [d.score for d in details]
    labels = [bool(r["supports"]) for r in rows]
    t = best_threshold(scores, labels)
    chosen = _row(t, scores, labels)
    result = {
        "n": len(rows), "positives": sum(labels), "threshold": t, "accuracy": round(chosen.accuracy, 4),
        "f1": round(chosen.f1, 4), "cv_accuracy": round(cross_validated_accuracy(scores, labels), 4),
        "embedder": getattr(embedder, "model_name", None) if embedder else None,
        "table": [r.__dict__ for r in threshold_table(scores, labels)],
        "errors": [{"sentence": r["sentence"], "supports": r["supports"], "score": d.score, "missing": d.missing}
                   for r, d, y in zip(rows, details, labels, strict=True) if (d.score >= t) != y],
    }
    if write:
        data = read_thresholds(thresholds_path)
        sup = data.setdefault("support", {})
        key = "threshold_embedding" if embedder else "threshold"
        sup[key] = t
        sup[key.replace("threshold", "accuracy")] = result["accuracy"]
        sup[key.replace("threshold", "cv_accuracy")] = result["cv_accuracy"]
        sup[key.replace("threshold", "f1")] = result["f1"]
        sup["_note_embedding" if embedder else "_note"] = (
            f"kota-kreatif eval calibrate-support{' --embed' if embedder else ''} on {labels_path.name} "
            f"(n={len(rows)}), {dt.date.today().isoformat()}")
        thresholds_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.support calibrate [--embed]`` without the typer CLI."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "calibrate":
        print("usage: python -m evals.support calibrate [--embed] [--no-write]")
        return 2
    embedder = None
    if "--embed" in argv:
        from assistant.config import get_settings
        from assistant.generators import build_embedder

        embedder = build_embedder(get_settings())
    res = calibrate(embedder=embedder, write="--no-write" not in argv)
    for r in res["table"]:
        print(f"{r['threshold']:.2f}  acc {r['accuracy']:.3f}  P {r['precision']:.3f}  R {r['recall']:.3f}  "
              f"F1 {r['f1']:.3f}")
    print(f"chosen {res['threshold']}: accuracy {res['accuracy']}, F1 {res['f1']}, 5-fold CV accuracy "
          f"{res['cv_accuracy']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
