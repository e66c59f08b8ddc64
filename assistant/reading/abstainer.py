"""The abstainer: the calibrated probability that the best sentences answer the question.

A logistic regression over :data:`~assistant.reading.features.READING_FEATURES` (standardised), trained by
``evals/train_reader.py`` on TyDi QA-id train questions read against their retrieved chunks (answerable when a
candidate holds the gold answer) versus IDK-MRC train questions their passage does not answer and train questions
read without their gold passage. A logistic model is calibrated by construction on its training distribution and
small enough to read: each weight says how much a feature moves the odds. The threshold is chosen on the valid
splits for a false-abstention rate of at most 5 % and stored with the weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.reading.features import SENTENCE_FEATURES
from assistant.reading.questions import KINDS

MODEL_DIR = Path(__file__).with_name("model")

VERIFIED = 3  # how many of the selector's best sentences the verifier reads (the abstainer sees its logits)

READING_FEATURES = (
    *(f"kind_{k}" for k in KINDS[1:]), "q_terms", "q_unseen", "verify_top", "verify_max",
    "top_score", "score_gap", "top_cos", "top_cover", "top_cover_ctx", "top_missing", "top_kind_match",
    "best_cover", "best_cos", "chunk_dense", "chunk_dense_margin", "chunk_cover", "chunk_missing",
)


def reading_features(feats: np.ndarray, scores: np.ndarray, unseen: float, verified: np.ndarray) -> np.ndarray:
    """One row for the abstainer: how well the best sentences (by selector ``scores``) and chunks answer.

    ``unseen``: the weight share of the question's terms that no indexed chunk contains — a question about
    something the documents never mention. ``verified``: the verifier's logits for the selector's best
    :data:`VERIFIED` sentences, best first.
    """
    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    order = np.argsort(-scores, kind="stable")
    top = feats[order[0]]
    second = scores[order[1]] if len(order) > 1 else scores[order[0]] - 1.0
    dense = np.unique(feats[:, col["chunk_dense"]])[::-1]
    margin = float(dense[0] - dense[1]) if len(dense) > 1 else 0.0
    best_chunk = feats[feats[:, col["chunk_rank"]] == feats[:, col["chunk_rank"]].min()]
    kind = np.zeros(len(KINDS) - 1)
    if top[col["q_kind"]] > 0:
        kind[int(top[col["q_kind"]]) - 1] = 1.0
    return np.array([
        *kind, top[col["q_terms"]], unseen, verified[0], verified.max(),
        scores[order[0]], scores[order[0]] - second, top[col["cos"]], top[col["cover"]], top[col["cover_ctx"]],
        top[col["missing_idf"]], top[col["kind_match"]],
        feats[:, col["cover"]].max(), feats[:, col["cos"]].max(), feats[:, col["chunk_dense"]].max(), margin,
        best_chunk[:, col["chunk_cover"]].max(), best_chunk[:, col["chunk_missing"]].max(),
    ], dtype=np.float64)


@dataclass
class Abstainer:
    """``p = sigmoid(w · (x - mean) / scale + b)``; abstain when ``p < threshold``."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> Abstainer:
        _require(folder / "abstainer.json")
        data = json.loads((folder / "abstainer.json").read_text(encoding="utf-8"))
        if tuple(data["features"]) != READING_FEATURES:
            raise ValueError(f"{folder}/abstainer.json was trained on other features: re-train it with "
                             "`python -m evals.train_reader`")
        return cls(np.asarray(data["weights"]), float(data["bias"]), np.asarray(data["mean"]),
                   np.asarray(data["scale"]), float(data["threshold"]))

    def to_json(self) -> dict:
        return {"features": list(READING_FEATURES), "weights": self.weights.round(6).tolist(),
                "bias": round(self.bias, 6), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "threshold": round(self.threshold, 4)}

    def probability(self, row: np.ndarray) -> float:
        z = float(((np.asarray(row) - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _require(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the reader's trained models ship with the package; re-train "
                                "them with `python -m evals.train_reader`")
