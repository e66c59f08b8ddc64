"""Does a passage support a sentence? A cheap, measured scorer (no LLM, no NLI model).

Used for citation precision/recall in the eval (ALCE-style) and, by the generation step, to check that an
LLM's ``[n]`` citations point at passages that really say what the sentence says.

Why this shape: the corpus is short factual Indonesian prose, and the supported/unsupported pairs that matter
(``support_labels.jsonl``) differ mostly in one value: a year, a number, a month, a city or a field name.
Embedding similarity is high for both sides of such a pair (same topic), so it cannot carry the decision;
what separates them is whether the sentence's *specific* tokens occur in the passage. The score is therefore

    score = base × penalty(missing critical values)

* ``base`` — share of the sentence's content words (Sastrawi stems, stop-words and numbers removed,
  :func:`assistant.text.tokenize`) found in the passage; a stem sharing a 5-letter prefix with a passage stem
  counts half (``dibentuk``/``pembentukan`` style variation the stemmer misses). With an embedder, ``base``
  mixes in the cosine of sentence (as query) and passage (as passage) mapped from e5's compressed range.
* **critical values** — numbers (digits with Indonesian separators, and number words such as *tujuh*,
  *dua puluh*, *ketiga*), month names and capitalised names/acronyms. Each one missing from the passage
  multiplies the score by ``miss_factor``: one wrong year makes a sentence unsupported however many other
  words match.

The decision threshold is calibrated on ``evals/datasets/support_labels.jsonl`` with
``kota-kreatif eval calibrate-support`` (``evals/support.py``) and stored beside this module in ``support.json``;
the CLI prints accuracy/F1 per threshold and a cross-validated accuracy so the stored number is an honest estimate
rather than a best case. The scorer lives in the core because the citation check of the LLM answerer runs it on
every answer; the calibration lives with the evals.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.numbers import canon_number, number_word
from assistant.text import fold, stem, stop_words

THRESHOLDS_PATH = Path(__file__).resolve().parent / "support.json"
DEFAULT_THRESHOLD = 0.6  # replaced by the calibrated value in support.json when present

_MONTHS = {"januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober",
           "november", "desember", "january", "february", "march", "june", "july", "august", "october",
           "december"}
_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_CAP = re.compile(r"[^\W_][\w-]*")
_WORD_RE = re.compile(r"[0-9a-z]+")
_CLAUSE_END = frozenset(";:.!?")


class SentenceEmbedder(Protocol):
    """What the scorer needs from an embedder (``assistant.embeddings.CachedEmbeddings`` fits)."""

    def embed_query_np(self, text: str) -> Any: ...

    def embed_documents_np(self, texts: list[str]) -> Any: ...


# --------------------------------------------------------------------------- critical values
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z0-9]+|[;:,.!?()]")


def value_stream(text: str) -> list[tuple[str, Any]]:
    """Content tokens in order: ``("num", 26.47)``, ``("ord", 3.0)``, ``("month", "juli")``, ``("term", stem)``
    or ``("sep", ";")`` for punctuation that ends a clause.

    Number words become numbers *before* stop-word removal (Sastrawi lists ``dua`` and ``satu`` as
    stop-words); the order lets :class:`SupportScorer` check that a number comes with the same unit.
    """
    sw = stop_words()
    toks = _TOKEN.findall(fold(text))
    out: list[tuple[str, Any]] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if not t[0].isalnum():  # clause boundary: a number's unit never lies beyond it
            out.append(("sep", t))
            i += 1
            continue
        if t[0].isdigit():
            v = canon_number(t)
            if v is not None:
                out.append(("num", v))
            i += 1
            continue
        v, ordinal, j = number_word(toks, i)
        if v is not None:
            out.append(("ord" if ordinal else "num", v))
            i = j
            continue
        if t in _MONTHS:
            out.append(("month", t))
        elif t not in sw:
            out.append(("term", stem(t)))
        i = j
    return out


def numbers(text: str) -> set[float]:
    """Numeric values in ``text``: digits (Indonesian separators) and number words."""
    return {v for kind, v in value_stream(text) if kind in ("num", "ord")}


def _close(v: float, p: float) -> bool:
    """Exact, or ``v`` is ``p`` rounded/truncated (``sekitar 26,5 juta`` for 26,47; ``USD 25 miliar`` for 25,1)."""
    if v == p:
        return True
    if p.is_integer():
        return False
    return any(round(p, k) == v for k in (0, 1, 2)) or (v.is_integer() and math.floor(p) == v)


def _is_year(v: float) -> bool:
    return v.is_integer() and 1900 <= v <= 2100


def names(sentence: str) -> set[str]:
    """Capitalised words and acronyms, folded. The first word of the sentence counts only when it is an
    acronym (every sentence starts with a capital); stop-words (``Sebelum``, ``Dalam``) never count."""
    out: set[str] = set()
    sw = stop_words()
    for m in _CAP.finditer(sentence):
        word = m.group(0)
        if not word[0].isupper():
            continue
        at_start = not sentence[: m.start()].strip(" \"'([“")
        if at_start and not (word.isupper() and len(word) > 1):
            continue
        for part in _WORD_RE.findall(fold(word)):
            if not part.isdigit() and part not in sw and part not in _MONTHS and number_word([part], 0)[0] is None:
                out.add(part)
    return out


def months(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(fold(text)) if w in _MONTHS}


# --------------------------------------------------------------------------- scorer
# Words every passage of this corpus is implicitly about (they are in its titles): a sentence may name them
# although the cited paragraph does not repeat them.
CONTEXT_NAMES = frozenset({"uccn", "unesco", "indonesia", "ri"})
# Abbreviations the corpus often writes out in full.
ALIASES = {"uu": "undang", "pp": "peraturan", "perpres": "presiden", "permen": "menteri", "kemenekraf": "kementerian",
           "solo": "surakarta", "surakarta": "solo"}


@dataclass
class SupportDetail:
    """The parts of a score, for debugging a disagreement with a label."""

    score: float
    lexical: float
    embedding: float | None
    missing: list[str]


@dataclass
class _Passage:
    terms: set[str]
    words: set[str]
    sentences: list[list[tuple[str, Any]]]


class SupportScorer:
    """``score(sentence, passage)`` in [0, 1]; ``supports`` compares it with the calibrated threshold.

    Keep one instance per process: it memoises passage analyses and embeddings, so checking many sentences
    against the same few passages is cheap.
    """

    def __init__(self, embedder: SentenceEmbedder | None = None, threshold: float | None = None, *,
                 number_factor: float = 0.3, name_factor: float = 0.5, embedding_weight: float = 0.3,
                 cos_low: float = 0.78, cos_high: float = 0.9, unit_window: int = 8) -> None:
        self.embedder = embedder
        self.threshold = load_threshold(embedder is not None) if threshold is None else threshold
        self.number_factor = number_factor
        self.name_factor = name_factor
        self.embedding_weight = embedding_weight
        self.cos_low, self.cos_high = cos_low, cos_high
        self.unit_window = unit_window
        self._passages: dict[str, _Passage] = {}
        self._pvec: dict[str, Any] = {}

    def _passage(self, passage: str) -> _Passage:
        got = self._passages.get(passage)
        if got is None:
            words = set(_WORD_RE.findall(fold(passage)))
            sents = [value_stream(s) for s in split_sentences_text(passage)]
            terms = {v for s in sents for k, v in s if k == "term"}
            got = _Passage(terms, words | {stem(w) for w in words}, sents)
            if len(self._passages) > 20000:
                self._passages.clear()
            self._passages[passage] = got
        return got

    def _number_ok(self, v: float, unit: str | None, p: _Passage) -> bool:
        """``v`` occurs in the passage, and — for a quantity followed by a noun in the sentence (``41
        kabupaten``) — that noun occurs near it in the same clause of the passage, so "41 daerah" does not
        support "41 kabupaten/kota"."""
        for sent in p.sentences:
            for i, (kind, pv) in enumerate(sent):
                if kind not in ("num", "ord") or not _close(v, pv):
                    continue
                if unit is None or self._unit_near(sent, i, unit):
                    return True
        return False

    def _unit_near(self, sent: list[tuple[str, Any]], i: int, unit: str) -> bool:
        """``unit`` within ``unit_window`` tokens of position ``i``, not crossing ``; : . ! ?``."""
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(sent) and abs(j - i) <= self.unit_window:
                kind, tok = sent[j]
                if kind == "sep" and tok in _CLAUSE_END:
                    break
                if kind == "term" and tok == unit:
                    return True
                j += step
        return False

    def detail(self, sentence: str, passage: str) -> SupportDetail:
        p = self._passage(passage)
        stream = value_stream(sentence)
        terms = list(dict.fromkeys(v for k, v in stream if k == "term"))
        if terms:
            credit = 0.0
            for t in terms:
                if t in p.terms:
                    credit += 1.0
                elif len(t) >= 5 and any(len(q) >= 5 and q[:5] == t[:5] for q in p.terms):
                    credit += 0.5
            lexical = credit / len(terms)
        else:
            lexical = 1.0 if stream else 0.0
        missing_nums: list[str] = []
        for i, (kind, v) in enumerate(stream):
            if kind not in ("num", "ord"):
                continue
            # An ordinal follows its noun ("bidang kedelapan") and a year is a date: no unit to check.
            nxt = stream[i + 1] if i + 1 < len(stream) else None
            unit = nxt[1] if kind == "num" and nxt is not None and nxt[0] == "term" and not _is_year(v) else None
            if not self._number_ok(v, unit, p) and f"{v:g}" not in missing_nums:
                missing_nums.append(f"{v:g}")
        missing_nums += sorted(m for m in months(sentence) if m not in p.words)
        missing_names = sorted(n for n in names(sentence) if n not in p.words and stem(n) not in p.words
                               and n not in CONTEXT_NAMES and ALIASES.get(n, "-") not in p.words)
        emb = None
        base = lexical
        if self.embedder is not None:
            emb = self._cosine(sentence, passage)
            mapped = min(1.0, max(0.0, (emb - self.cos_low) / (self.cos_high - self.cos_low)))
            base = (1 - self.embedding_weight) * lexical + self.embedding_weight * mapped
        score = base * self.number_factor ** len(missing_nums) * self.name_factor ** len(missing_names)
        return SupportDetail(round(score, 6), round(lexical, 6), None if emb is None else round(emb, 6),
                             missing_nums + missing_names)

    def _cosine(self, sentence: str, passage: str) -> float:
        import numpy as np

        assert self.embedder is not None
        pv = self._pvec.get(passage)
        if pv is None:
            pv = np.asarray(self.embedder.embed_documents_np([passage])[0], dtype=np.float32)
            self._pvec[passage] = pv
        qv = np.asarray(self.embedder.embed_query_np(sentence), dtype=np.float32)
        return float(np.dot(qv, pv) / ((np.linalg.norm(qv) * np.linalg.norm(pv)) or 1.0))

    def score(self, sentence: str, passage: str) -> float:
        return self.detail(sentence, passage).score

    def supports(self, sentence: str, passage: str) -> bool:
        return self.score(sentence, passage) >= self.threshold


def split_sentences_text(text: str) -> list[str]:
    from assistant.text import sentences

    return sentences(text) or [text]


def support(sentence: str, passage: str, embedder: SentenceEmbedder | None = None) -> float:
    """Support score in [0, 1] (see the module docstring); ≥ the calibrated threshold means "supported"."""
    return _default_scorer(embedder).score(sentence, passage)


_SCORERS: dict[int, SupportScorer] = {}


def _default_scorer(embedder: SentenceEmbedder | None) -> SupportScorer:
    key = id(embedder)
    if key not in _SCORERS:
        _SCORERS[key] = SupportScorer(embedder)
    return _SCORERS[key]


# --------------------------------------------------------------------------- thresholds file
def read_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def load_threshold(with_embedder: bool = False, path: Path = THRESHOLDS_PATH) -> float:
    sup = read_thresholds(path).get("support", {})
    key = "threshold_embedding" if with_embedder else "threshold"
    return float(sup.get(key, sup.get("threshold", DEFAULT_THRESHOLD)))
