"""The sentence selector: which candidate sentences answer the question, as a score per sentence.

A LightGBM LambdaMART ranker over :data:`~assistant.reading.features.SENTENCE_FEATURES`, trained on public
Indonesian QA (TyDi QA-id and FacQA-id train: a sentence holding the gold answer span is relevant) by
``evals/train_reader.py``. The model is LightGBM's own text format (no pickle), shipped beside its manifest; the
booster loads on first use (LightGBM's import costs ~1.5 s, paid by the API's warm-up, not by ``--help``).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from assistant.reading.features import SENTENCE_FEATURES

MODEL_DIR = Path(__file__).with_name("model")


class Selector(ABC):
    """Scores candidate sentences; higher answers the question better. Scores compare within one question."""

    @abstractmethod
    def scores(self, feats: np.ndarray) -> np.ndarray:
        """One score per row of ``feats`` (:func:`~assistant.reading.features.sentence_features`)."""


class RankerSelector(Selector):
    """A trained LightGBM ranker (``model/selector.txt``)."""

    def __init__(self, model_text: str) -> None:
        self._text = model_text
        self._booster = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> RankerSelector:
        _require(folder / "selector.txt")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        features = tuple(manifest["selector"]["features"])
        if features != SENTENCE_FEATURES:
            raise ValueError(f"{folder}/selector.txt was trained on other features ({len(features)}): re-train it "
                             "with `python -m evals.train_reader`")
        return cls((folder / "selector.txt").read_text(encoding="utf-8"))

    def _load(self):
        if self._booster is None:
            with self._lock:
                if self._booster is None:
                    import lightgbm

                    self._booster = lightgbm.Booster(model_str=self._text)
        return self._booster

    def scores(self, feats: np.ndarray) -> np.ndarray:
        if not len(feats):
            return np.zeros(0)
        # One thread: a question has ~20 candidates, and the server already answers questions in parallel.
        return np.asarray(self._load().predict(feats, num_threads=1), dtype=np.float64)


def _require(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the reader's trained models ship with the package; re-train "
                                "them with `python -m evals.train_reader`")
