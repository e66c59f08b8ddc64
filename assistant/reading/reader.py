"""``Reader.read(question, hits) -> Reading``: the one place that decides which sentences answer a question,
and whether any does.

The steps, each its own module: candidate sentences of the top chunks (:mod:`.candidates`), generic features
(:mod:`.features`), a trained ranker's score per sentence (:mod:`.selector`) and a calibrated probability that
the best of them answer (:mod:`.abstainer`). Everything that answers a question — the extractive answerer, the LLM
answerer (whether to call the model at all), reply drafting — reads through one ``Reader``. (The readiness check
does not answer questions: it cites, per checklist item, the corpus sentence stating that requirement.)

Sentence vectors: the features include each sentence's cosine to the question in the embedding model's space.
Sentences are embedded once, at ingest (``Indexer``), and looked up by content hash in the embedding cache here;
a sentence missing from the cache (an index built before, a cache deleted) is embedded now and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.embeddings import Embedder
from assistant.models import ScoredChunk
from assistant.reading.abstainer import VERIFIED, Abstainer, reading_features
from assistant.reading.candidates import Candidate, candidates
from assistant.reading.features import QuestionTerms, sentence_features
from assistant.reading.questions import Asked, asked
from assistant.reading.selector import RankerSelector, Selector
from assistant.reading.verifier import Verifier
from assistant.text import content_terms


@dataclass
class Reading:
    """What the reader found: candidates best first, their scores, and the probability that they answer."""

    question: str
    asked: Asked
    candidates: list[Candidate]  # best first
    scores: list[float]  # selector score of each candidate, same order
    p_answer: float
    threshold: float
    features: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    verified: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # verifier logits, best first

    @property
    def answerable(self) -> bool:
        return bool(self.candidates) and self.p_answer >= self.threshold

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass
class Prepared:
    """The candidates of one question with their features (what training and reading share)."""

    candidates: list[Candidate]
    features: np.ndarray
    unseen: float
    asked: Asked


def prepare(question: str, hits: list[ScoredChunk], terms: set[str] | None, idf: Callable[[str], float] | None,
            embedder: Embedder | None, context_chunks: int, qvec: np.ndarray | None = None) -> Prepared:
    """Candidates of the top ``context_chunks`` hits and their feature rows (``terms``: the question's corrected
    content terms; ``idf``: a term's rarity in the whole index, the highest value for a term no chunk contains).
    Training (``evals/train_reader.py``) and reading call this same function; ``qvec``, when given, is the
    question's vector (retrieval already computed it)."""
    q_terms = terms if terms is not None else content_terms(question)
    qterms = QuestionTerms.of(q_terms, idf)
    unseen = 0.0
    if idf is not None and q_terms:
        never = idf("\x00")
        unseen = sum(w for t, w in qterms.weights.items() if w >= never and not t.isdigit()) / qterms.total
    cands = candidates(hits, context_chunks)
    cosines = None
    if embedder is not None and cands:
        vecs = embedder.embed_documents_np([c.sentence.embed_text for c in cands])
        cosines = vecs @ (qvec if qvec is not None else embedder.embed_query_np(question))
    a = asked(question)
    return Prepared(cands, sentence_features(question, a, qterms, cands, cosines), unseen, a)


class Reader:
    """Reads the top ``context_chunks`` hits of a question with a trained selector and abstainer."""

    def __init__(self, embedder: Embedder | None = None, selector: Selector | None = None,
                 abstainer: Abstainer | None = None, verifier: Verifier | None = None, context_chunks: int = 4,
                 threshold: float | None = None, calibration: str | None = None) -> None:
        self.embedder = embedder
        self._selector = selector
        self._abstainer = abstainer
        self.verifier = verifier or Verifier()  # loads torch and its weights on first use
        self.context_chunks = context_chunks
        self._threshold = threshold
        self.calibration = calibration
        self._lock = threading.Lock()

    # The trained models load on first use: building an Assistant (an ingest, ``--help``) never needs them.
    @property
    def selector(self) -> Selector:
        if self._selector is None:
            with self._lock:
                if self._selector is None:
                    self._selector = RankerSelector.load()
        return self._selector

    @property
    def abstainer(self) -> Abstainer:
        if self._abstainer is None:
            with self._lock:
                if self._abstainer is None:
                    self._abstainer = Abstainer.load()
        return self._abstainer

    @property
    def threshold(self) -> float:
        """The configured threshold, else the abstainer's for the configured kind of text."""
        return self.abstainer.threshold_for(self.calibration) if self._threshold is None else self._threshold

    def prepare(self, question: str, hits: list[ScoredChunk], terms: set[str] | None = None,
                idf: Callable[[str], float] | None = None) -> Prepared:
        return prepare(question, hits, terms, idf, self.embedder, self.context_chunks)

    def read(self, question: str, hits: list[ScoredChunk], terms: set[str] | None = None,
             idf: Callable[[str], float] | None = None) -> Reading:
        prep = self.prepare(question, hits, terms, idf)
        if not prep.candidates:
            return Reading(question, prep.asked, [], [], 0.0, self.threshold, prep.features)
        scores = self.selector.scores(prep.features)
        order = np.argsort(-scores, kind="stable")
        verified = np.zeros(0)
        if self.abstainer.uses_verifier:
            top = order[:VERIFIED]
            verified = self.verifier.logits(question, [prep.candidates[i].sentence.embed_text for i in top])
        p = self.abstainer.probability(reading_features(prep.features, scores, prep.unseen, verified))
        return Reading(question, prep.asked, [prep.candidates[i] for i in order], [float(scores[i]) for i in order],
                       p, self.threshold, prep.features[order], verified)
