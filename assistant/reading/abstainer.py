"""The abstainer: the probability that the best sentences answer the question.

Trained by ``evals/train_reader.py`` over :data:`READING_FEATURES` (what the selector's best sentences and the
best chunks look like: scores, cosines, word cover, the asked kind of value, words the index never uses) on TyDi
QA-id and FacQA-id train questions read against their retrieved chunks (answerable when a candidate holds the gold
answer), IDK-MRC train questions their passage does not answer, train questions read without their gold passage,
and the project's own train sets. The shipped model is a LightGBM classifier (:class:`BoostedAbstainer`); the
logistic one (:class:`LogisticAbstainer`, readable weights) is kept as the simpler alternative it beat on valid.
A threshold is chosen per kind of text on its valid split for a false-abstention rate of at most 5 % and stored
with the model.
"""

from __future__ import annotations

import json
import math
import threading
from abc import ABC, abstractmethod
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
# The columns that need the verifier: an abstainer trained without them never runs it (no torch at query time).
VERIFIER_FEATURES = ("verify_top", "verify_max")


def reading_features(feats: np.ndarray, scores: np.ndarray, unseen: float,
                     verified: np.ndarray | None = None) -> np.ndarray:
    """One row for the abstainer: how well the best sentences (by selector ``scores``) and chunks answer.

    ``unseen``: the weight share of the question's terms that no indexed chunk contains — a question about
    something the documents never mention. ``verified``: the verifier's logits for the selector's best
    :data:`VERIFIED` sentences, best first (None or empty: zeros, for an abstainer that does not use them).
    """
    if verified is None or not len(verified):
        verified = np.zeros(1)
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


class Abstainer(ABC):
    """The probability that the best sentences answer the question; abstain when it is below the threshold.

    ``features``: the columns of a :func:`reading_features` row the model reads, in order. ``thresholds``: one
    per kind of text, each chosen on its valid split ("project", "tydiqa-id", "facqa-id"); ``threshold`` is the
    project's, the one the assistant uses on its own documents.
    """

    kind = ""

    def __init__(self, features: tuple[str, ...], threshold: float, thresholds: dict[str, float] | None = None):
        unknown = set(features) - set(READING_FEATURES)
        if unknown:
            raise ValueError(f"abstainer features not computed by reading_features: {sorted(unknown)}")
        self.features = tuple(features)
        self.threshold = threshold
        self.thresholds = dict(thresholds or {})
        self._columns = np.array([READING_FEATURES.index(f) for f in self.features])

    @property
    def uses_verifier(self) -> bool:
        return any(f in self.features for f in VERIFIER_FEATURES)

    def threshold_for(self, calibration: str | None) -> float:
        """The threshold calibrated on ``calibration``'s kind of text; the default one when there is none."""
        return self.thresholds.get(calibration or "", self.threshold)

    def probability(self, row: np.ndarray) -> float:
        """``row``: a full :func:`reading_features` row; the model reads its own columns of it."""
        return self._probability(np.asarray(row, dtype=np.float64)[self._columns])

    @abstractmethod
    def _probability(self, x: np.ndarray) -> float: ...

    def to_json(self) -> dict:
        return {"kind": self.kind, "features": list(self.features), "threshold": round(self.threshold, 4),
                "thresholds": self.thresholds}

    @staticmethod
    def load(folder: Path = MODEL_DIR) -> Abstainer:
        """The shipped abstainer (``abstainer.json``, plus ``abstainer.txt`` for the boosted one)."""
        _require(folder / "abstainer.json")
        data = json.loads((folder / "abstainer.json").read_text(encoding="utf-8"))
        common = (tuple(data["features"]), float(data["threshold"]), data.get("thresholds", {}))
        try:
            if data.get("kind") == BoostedAbstainer.kind:
                _require(folder / "abstainer.txt")
                return BoostedAbstainer((folder / "abstainer.txt").read_text(encoding="utf-8"), *common)
            return LogisticAbstainer(np.asarray(data["weights"]), float(data["bias"]), np.asarray(data["mean"]),
                                     np.asarray(data["scale"]), *common)
        except ValueError as exc:
            raise ValueError(f"{folder}/abstainer.json was trained on other features ({exc}): re-train it with "
                             "`python -m evals.train_reader`") from None


class LogisticAbstainer(Abstainer):
    """``p = sigmoid(w · (x - mean) / scale + b)``: each weight says how much a feature moves the odds."""

    kind = "logistic"

    def __init__(self, weights: np.ndarray, bias: float, mean: np.ndarray, scale: np.ndarray,
                 features: tuple[str, ...], threshold: float, thresholds: dict[str, float] | None = None) -> None:
        super().__init__(features, threshold, thresholds)
        self.weights, self.bias, self.mean, self.scale = weights, bias, mean, scale

    def _probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict:
        return {**super().to_json(), "weights": self.weights.round(6).tolist(), "bias": round(self.bias, 6),
                "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist()}


class BoostedAbstainer(Abstainer):
    """A LightGBM binary classifier (log loss, so its output is a probability) in LightGBM's text format.

    Why beside the logistic one: the signals interact (a high cosine means little when the asked kind of value is
    missing), and on the valid splits the trees separate answerable from unanswerable questions better (AUC:
    docs/evaluation.md)."""

    kind = "lightgbm"

    def __init__(self, model_text: str, features: tuple[str, ...], threshold: float,
                 thresholds: dict[str, float] | None = None) -> None:
        super().__init__(features, threshold, thresholds)
        self.model_text = model_text
        self._booster = None
        self._lock = threading.Lock()

    def _probability(self, x: np.ndarray) -> float:
        if self._booster is None:
            with self._lock:
                if self._booster is None:
                    import lightgbm

                    self._booster = lightgbm.Booster(model_str=self.model_text)
        return float(self._booster.predict(x.reshape(1, -1), num_threads=1)[0])


def _require(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the reader's trained models ship with the package; re-train "
                                "them with `python -m evals.train_reader`")
