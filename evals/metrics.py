"""Answer and retrieval metrics that need no LLM judge.

Every function is pure and small enough to check by hand (``tests/test_evals.py`` does). Conventions:

* Retrieval is judged on *chunks in rank order*, each mapped to ``(doc_id, section)``. A gold entry
  ``{"doc": d}`` is found by any chunk of ``d``; with ``"section": s`` the section-level variant also requires
  ``s`` to be contained (case-insensitively) in the chunk's section path. Recall counts gold entries found,
  MRR uses the first chunk matching any gold entry, and nDCG gives gain 1 to the first chunk of each gold
  entry (a second chunk of the same document earns nothing: it adds no new evidence).
* Text matching folds case and accents (``assistant.text.fold``) and collapses whitespace. Key facts are
  substrings; a purely numeric or very short fact must stand alone (``7`` must not match inside ``2017``).
* Citations are ALCE-style: the answer is split into sentences, each sentence owns the ``[n]`` markers in it
  or directly after it; recall asks whether the cited passages together support the sentence, precision
  whether each citation is needed (supports alone, or the others do not suffice without it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.text import fold, split_sentences, words

# The metrics reports lead with, in this order.
HEADLINE = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10", "key_fact_coverage",
            "key_fact_all", "key_fact_lead", "token_f1", "rouge_l", "citation_precision", "citation_recall",
            "abstain_accuracy", "correct_abstain_rate", "false_abstain_rate", "latency_ms_p50", "latency_ms_p95"]
# Metrics where lower is better (deltas are coloured the other way in reports).
LOWER_IS_BETTER = {"false_abstain_rate", "latency_ms_p50", "latency_ms_p95", "retrieve_ms_p50", "retrieve_ms_p95",
                   "answer_ms_p50", "answer_ms_p95"}


# --------------------------------------------------------------------------- retrieval
Ranked = Sequence[tuple[str, str]]  # (doc_id, section) per retrieved chunk, best first
GoldDocs = Sequence[Mapping[str, Any]]


def _gold_entries(gold: GoldDocs, section_level: bool) -> list[tuple[str, str | None]]:
    """Distinct gold targets; at doc level, sections are ignored and duplicates of a doc merge."""
    out: list[tuple[str, str | None]] = []
    for g in gold:
        doc = str(g["doc"]).lower()
        sec = g.get("section") if section_level else None
        entry = (doc, str(sec).lower() if sec else None)
        if entry not in out:
            out.append(entry)
    return out


def _matches(item: tuple[str, str], entry: tuple[str, str | None]) -> bool:
    doc, sec = item
    if doc.lower() != entry[0]:
        return False
    return entry[1] is None or entry[1] in (sec or "").lower()


def recall_at_k(ranked: Ranked, gold: GoldDocs, k: int, *, section_level: bool = False) -> float:
    entries = _gold_entries(gold, section_level)
    if not entries:
        return 0.0
    top = list(ranked)[:k]
    found = sum(1 for e in entries if any(_matches(it, e) for it in top))
    return found / len(entries)


def mrr_at_k(ranked: Ranked, gold: GoldDocs, k: int = 10, *, section_level: bool = False) -> float:
    entries = _gold_entries(gold, section_level)
    for rank, it in enumerate(list(ranked)[:k], 1):
        if any(_matches(it, e) for e in entries):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Ranked, gold: GoldDocs, k: int = 10, *, section_level: bool = False) -> float:
    entries = _gold_entries(gold, section_level)
    if not entries:
        return 0.0
    credited: set[int] = set()
    dcg = 0.0
    for rank, it in enumerate(list(ranked)[:k], 1):
        for j, e in enumerate(entries):
            if j not in credited and _matches(it, e):
                credited.add(j)
                dcg += 1.0 / math.log2(rank + 1)
                break
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(entries), k) + 1))
    return dcg / idcg


def retrieval_scores(ranked: Ranked, gold: GoldDocs, ks: Iterable[int] = (1, 3, 5, 10)) -> dict[str, float]:
    """recall@k, MRR@10 and nDCG@10 at document level, plus ``section_*`` when a gold entry names a section."""
    out = {f"recall@{k}": recall_at_k(ranked, gold, k) for k in ks}
    out["mrr@10"] = mrr_at_k(ranked, gold, 10)
    out["ndcg@10"] = ndcg_at_k(ranked, gold, 10)
    if any(g.get("section") for g in gold):
        for k in ks:
            out[f"section_recall@{k}"] = recall_at_k(ranked, gold, k, section_level=True)
        out["section_mrr@10"] = mrr_at_k(ranked, gold, 10, section_level=True)
        out["section_ndcg@10"] = ndcg_at_k(ranked, gold, 10, section_level=True)
    return out


# --------------------------------------------------------------------------- key facts
def normalize(text: str) -> str:
    """Folded (case, accents), with runs of whitespace collapsed: the form all text matching uses."""
    return " ".join(fold(text).split())


def fact_present(fact: str | Sequence[str], text: str) -> bool:
    """One key fact (or any of its alternatives) occurs in ``text``.

    Plain substring match after :func:`normalize`, except that a numeric or ≤3-character fact must not touch
    another letter or digit, so ``7`` does not match ``2017`` and ``UU`` does not match ``tuuu``.
    """
    alternatives = [fact] if isinstance(fact, str) else list(fact)
    hay = normalize(text)
    for alt in alternatives:
        needle = normalize(alt)
        if not needle:
            continue
        if needle.replace(" ", "").isdigit() or len(needle) <= 3:
            if re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", hay):
                return True
        elif needle in hay:
            return True
    return False


def key_fact_scores(facts: Sequence[str | Sequence[str]], text: str) -> dict[str, Any]:
    """Share of facts present (``coverage``), whether all/any are, and which are missing (for reports)."""
    if not facts:
        return {"coverage": None, "all": None, "any": None, "missing": []}
    present = [fact_present(f, text) for f in facts]
    missing = [f if isinstance(f, str) else " | ".join(f) for f, ok in zip(facts, present, strict=True) if not ok]
    return {"coverage": sum(present) / len(facts), "all": float(all(present)), "any": float(any(present)),
            "missing": missing}


def lead_sentence(answer: str) -> str:
    """The answer's first sentence as a reader sees it: up to its first citation marker, else its first sentence.

    Why measure it: a focal point reads, or copies, the first line; an answer whose key fact sits in its third
    sentence is complete but badly ordered, which ``key_fact_coverage`` over the whole text cannot see.
    """
    m = _MARK.search(answer)  # the citation markers the citation scores count ("[1]", "[1, 2]")
    if m:
        return answer[: m.end()]
    spans = split_sentences(answer)
    return answer[spans[0][0]: spans[0][1]] if spans else answer


def key_fact_lead(facts: Sequence[str | Sequence[str]], answer: str) -> float | None:
    """1.0 when at least one key fact is in the answer's :func:`lead_sentence` (None without key facts)."""
    if not facts:
        return None
    lead = lead_sentence(answer)
    return float(any(fact_present(f, lead) for f in facts))


# --------------------------------------------------------------------------- overlap with a reference
def _tokens(text: str) -> list[str]:
    return words(text)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-words F1 on folded word tokens (no stemming: the surface wording is what is compared)."""
    p, r = _tokens(prediction), _tokens(reference)
    if not p or not r:
        return float(p == r)
    common: dict[str, int] = {}
    rc: dict[str, int] = {}
    for t in r:
        rc[t] = rc.get(t, 0) + 1
    for t in p:
        if rc.get(t, 0) > 0:
            common[t] = common.get(t, 0) + 1
            rc[t] -= 1
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(r)
    return 2 * prec * rec / (prec + rec)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (β = 1) over folded word tokens."""
    p, r = _tokens(prediction), _tokens(reference)
    lcs = lcs_length(p, r)
    if lcs == 0:
        return 0.0
    prec, rec = lcs / len(p), lcs / len(r)
    return 2 * prec * rec / (prec + rec)


# --------------------------------------------------------------------------- citations
_MARK = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKS = re.compile(r"^\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+")
# Sentences that are about the answer rather than claims from the documents: the abstain message, the
# "documents do not say" preface and the conflict note. They are not scored for citations.
META_SENTENCE = re.compile(
    r"^(?:Maaf\b|Dokumen yang (?:saya|kami) miliki tidak memuat|Catatan:|(?:Saya|Kami) tidak (?:dapat|menemukan))",
    re.I)


@dataclass
class CitedSentence:
    text: str
    citations: list[int] = field(default_factory=list)
    meta: bool = False


def parse_cited_sentences(answer: str) -> list[CitedSentence]:
    """Split an answer into sentences with their ``[n]`` markers.

    A marker belongs to the sentence it is in, or to the previous sentence when it opens the next one — the
    extractive answerer writes ``… 2004. [1] Next …`` and LLMs write ``… 2004 [1]. Next …``; both parse
    the same way. A marker followed by more text of the same sentence closes a claim there (``A; [1] B
    [2]`` is two claims), so each clause is checked against its own citation.
    """
    out: list[CitedSentence] = []
    for a, b in split_sentences(answer):
        seg = answer[a:b]
        lead = _LEADING_MARKS.match(seg)
        if lead and out:
            out[-1].citations.extend(_numbers(lead.group(0)))
            seg = seg[lead.end():]
        whole = " ".join(_MARK.sub(" ", seg).split())
        if META_SENTENCE.match(whole):
            out.append(CitedSentence(whole, _numbers(seg), True))
            continue
        for piece, cites in _claims(seg):
            text = " ".join(_MARK.sub(" ", piece).split())
            # Trim a dangling space before punctuation left by a removed "… 2004 [1]." marker.
            text = re.sub(r"\s+([.!?,;:])", r"\1", text)
            if re.search(r"\w", text):
                out.append(CitedSentence(text, cites, bool(META_SENTENCE.match(text))))
            elif out:
                out[-1].citations.extend(cites)
    for s in out:
        s.citations = list(dict.fromkeys(s.citations))
    return out


def _claims(seg: str) -> list[tuple[str, list[int]]]:
    """Cut a sentence after each run of markers that more words follow; markers stay with the text before."""
    out: list[tuple[str, list[int]]] = []
    start = 0
    runs = list(re.finditer(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+[.!?,;:]?", seg))
    for m in runs:
        if re.search(r"\w", seg[m.end():]):
            out.append((seg[start:m.end()], _numbers(m.group(0))))
            start = m.end()
    tail = seg[start:]
    if tail.strip():
        out.append((tail, _numbers(tail)))
    return out


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARK.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


SupportFn = Callable[[str, str], bool]


def citation_scores(answer: str, passages: Mapping[int, str], supports: SupportFn) -> dict[str, Any]:
    """ALCE citation recall and precision of one answer.

    ``passages`` maps citation numbers to the text of the cited chunk; a number with no passage is an invalid
    citation (counted as imprecise). Meta sentences are skipped. Returns ``None`` values when the answer makes
    no claim (e.g. an abstention).
    """
    sents = [s for s in parse_cited_sentences(answer) if not s.meta]
    if not sents:
        return {"citation_recall": None, "citation_precision": None, "sentences": 0, "citations": 0,
                "unsupported": []}
    supported = 0
    total_cites = 0
    precise = 0
    unsupported: list[str] = []
    for s in sents:
        cited = [passages.get(n) for n in s.citations]
        valid = [p for p in cited if p]
        joint = bool(valid) and supports(s.text, "\n".join(valid))
        supported += joint
        if not joint:
            unsupported.append(s.text)
        for i, p in enumerate(cited):
            total_cites += 1
            if not p:
                continue
            if supports(s.text, p):
                precise += 1
            elif joint:
                rest = [q for j, q in enumerate(cited) if j != i and q]
                if not rest or not supports(s.text, "\n".join(rest)):
                    precise += 1
    return {"citation_recall": supported / len(sents),
            "citation_precision": precise / total_cites if total_cites else None,
            "sentences": len(sents), "citations": total_cites, "unsupported": unsupported}


# --------------------------------------------------------------------------- aggregation
def mean(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def abstention_scores(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float | None]:
    """From ``(answerable, abstained)`` pairs: overall decision accuracy, correct-abstain rate on unanswerable
    questions, false-abstain rate on answerable ones, and their balanced accuracy."""
    unans = [ab for ans, ab in pairs if not ans]
    ans = [ab for a, ab in pairs if a]
    acc = sum(1 for a, ab in pairs if ab != a) / len(pairs) if pairs else None
    correct = sum(unans) / len(unans) if unans else None
    false = sum(ans) / len(ans) if ans else None
    balanced = (correct + 1 - false) / 2 if correct is not None and false is not None else None
    return {"abstain_accuracy": acc, "correct_abstain_rate": correct, "false_abstain_rate": false,
            "abstain_balanced_accuracy": balanced}
