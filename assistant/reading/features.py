"""Generic features of (question, candidate sentence) pairs, and of a whole reading, for the trained models.

Nothing here knows a particular question or document. The features say how close a sentence is to the question
(the embedding model's cosine, rarity-weighted word overlap), whether it holds the kind of value asked for (a
date for *kapan*, a number for *berapa*, a name for *siapa*: :mod:`assistant.reading.questions`), and where it
sits (its chunk's retrieval rank and scores, its place in the chunk). The selector (LightGBM LambdaMART) and the
abstainer (logistic regression) learn how to weigh them from public Indonesian QA (``evals/train_reader.py``).

Values the question itself names are not answers: "Kapan festival 2025 dibuka?" is not answered by any sentence
that merely repeats 2025.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.lexicon import (
    INSTITUTION_WORDS,
    MONTHS,
    PLACE_PREPOSITIONS,
    REASON_WORDS,
    UNKNOWN_PHRASES,
)
from assistant.reading.candidates import Candidate
from assistant.reading.questions import Asked
from assistant.text import fold, tokenize

# Original-case word tokens (letters and digits), for the value cues that need capitals.
_SURFACE = re.compile(r"[^\W_]+")

SENTENCE_FEATURES = (
    "q_kind", "q_terms", "q_list",
    "cos", "cos_gap", "cos_rank",
    "cover", "cover_ctx", "cover_plain", "cover_gap", "matched_idf", "missing_idf", "new_terms", "words",
    "has_year", "has_month", "has_number", "has_name", "has_place", "has_reason", "kind_match",
    "chunk_rank", "chunk_score", "chunk_dense", "chunk_dense_gap", "chunk_cover", "chunk_missing", "head_cover",
    "position", "rel_position", "first", "item", "unknown",
)


@dataclass(frozen=True)
class Values:
    """The value cues of one sentence (which kinds of answer it could give)."""

    years: frozenset[str]
    months: bool
    numbers: frozenset[str]
    names: frozenset[str]  # capitalised words after the first word, not naming an institution
    place: bool  # "di/ke/dari" + a capitalised word
    reason: bool


@lru_cache(maxsize=50_000)
def values(text: str) -> Values:
    """The value cues of ``text`` (memoised: a chunk's sentences come back question after question)."""
    toks = _SURFACE.findall(text)
    low = [fold(t) for t in toks]
    numbers = frozenset(t for t in tokenize(text, stemming=False, stopwords=False) if t.isdigit())
    years = frozenset(n for n in numbers if len(n) == 4 and 1000 <= int(n) <= 2100)
    names: set[str] = set()
    place = False
    for i, t in enumerate(toks):
        if not i or not t[:1].isupper():
            continue  # a sentence's first word is capitalised anyway
        if low[i] not in INSTITUTION_WORDS:
            names.add(low[i])
        place = place or low[i - 1] in PLACE_PREPOSITIONS
    return Values(years, any(w in MONTHS for w in low), numbers, frozenset(names), place,
                  any(w in REASON_WORDS for w in low))


def kind_match(asked: Asked, v: Values, question_values: Values) -> bool:
    """Whether a sentence holds a value of the asked kind that the question does not already name."""
    if asked.kind == "date":
        return bool(v.years - question_values.years) or v.months
    if asked.kind == "number":
        return bool(v.numbers - question_values.numbers)
    if asked.kind == "person":
        return bool(v.names - question_values.names)
    if asked.kind == "place":
        return v.place or bool(v.names - question_values.names)
    if asked.kind == "reason":
        return v.reason
    return False


@lru_cache(maxsize=50_000)
def says_unknown(text: str) -> bool:
    """The sentence states that something is not known or not confirmed (:data:`~assistant.lexicon.UNKNOWN_PHRASES`;
    memoised like :func:`values`)."""
    f = fold(text)
    return any(p in f for p in UNKNOWN_PHRASES)


@dataclass
class QuestionTerms:
    """The question's content terms and their weights (rarity in the whole index)."""

    weights: dict[str, float]

    @classmethod
    def of(cls, terms: set[str], idf: Callable[[str], float] | None) -> QuestionTerms:
        return cls({t: (idf(t) if idf else 1.0) for t in terms})

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0

    def cover(self, terms: set[str]) -> float:
        return sum(w for t, w in self.weights.items() if t in terms) / self.total

    def plain_cover(self, terms: set[str]) -> float:
        return sum(t in terms for t in self.weights) / max(1, len(self.weights))

    def missing(self, terms: set[str]) -> float:
        return max((w for t, w in self.weights.items() if t not in terms), default=0.0)

    def matched(self, terms: set[str]) -> float:
        return sum(w for t, w in self.weights.items() if t in terms)


@lru_cache(maxsize=50_000)
def _terms(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


def sentence_features(question: str, asked: Asked, qterms: QuestionTerms, cands: list[Candidate],
                      cosines: np.ndarray | None) -> np.ndarray:
    """The (n, len(SENTENCE_FEATURES)) matrix of one question's candidates, aligned with ``cands``.

    ``cosines``: each candidate's cosine to the question in the embedding model's space (None when the
    sentence vectors are not available: the column is then 0 and the rank column uniform).
    """
    n = len(cands)
    out = np.zeros((n, len(SENTENCE_FEATURES)), dtype=np.float64)
    if not n:
        return out
    qv = values(question)
    qwords = _terms(question)
    top_score = max((c.hit.score for c in cands), default=1.0) or 1.0
    dense = [c.hit.dense for c in cands if c.hit.dense is not None]
    best_dense = max(dense) if dense else 0.0
    chunk_cover: dict[str, tuple[float, float, float]] = {}
    per_chunk: dict[str, int] = {}
    for c in cands:
        per_chunk[c.chunk_id] = per_chunk.get(c.chunk_id, 0) + 1
        if c.chunk_id not in chunk_cover:
            ch = c.hit.chunk
            head = set(_terms(f"{ch.title} {ch.section}"))
            whole = head | _terms(ch.text)
            # A section heading is often the question the section answers ("Kapan … didirikan?"): how much of
            # the question it repeats says how much the section is about it (0 for text without headings).
            chunk_cover[c.chunk_id] = (qterms.cover(whole), qterms.missing(whole), qterms.cover(head))
    cos = np.asarray(cosines, dtype=np.float64) if cosines is not None else np.zeros(n)
    order = np.argsort(-cos, kind="stable")
    cos_rank = np.empty(n)
    cos_rank[order] = np.arange(n)
    covers = []
    for i, c in enumerate(cands):
        s = c.sentence
        terms = set(_terms(s.embed_text))
        ctx = terms | _terms(f"{c.hit.chunk.title} {c.hit.chunk.section}")
        v = values(s.text)
        cover = qterms.cover(terms)
        covers.append(cover)
        new = len(terms - qwords)
        out[i] = (
            asked.kind_id, len(qterms.weights), float(asked.wants_list),
            cos[i], 0.0, math.log1p(cos_rank[i]) if cosines is not None else 0.0,
            cover, qterms.cover(ctx), qterms.plain_cover(terms), 0.0, qterms.matched(terms), qterms.missing(ctx),
            math.log1p(new), math.log1p(len(s.text.split())),
            float(bool(v.years - qv.years)), float(v.months), float(bool(v.numbers - qv.numbers)),
            float(bool(v.names - qv.names)), float(v.place), float(v.reason), float(kind_match(asked, v, qv)),
            c.rank, max(0.0, c.hit.score / top_score), c.hit.dense or 0.0,
            (c.hit.dense - best_dense) * 10 if c.hit.dense is not None else 0.0, *chunk_cover[c.chunk_id],
            math.log1p(s.position), s.position / max(1, per_chunk[c.chunk_id] - 1), float(s.first), float(s.is_item),
            float(says_unknown(s.embed_text)),
        )
    out[:, SENTENCE_FEATURES.index("cos_gap")] = (cos - cos.max()) * 10 if cosines is not None else 0.0
    cv = np.asarray(covers)
    out[:, SENTENCE_FEATURES.index("cover_gap")] = cv - cv.max()
    return out
