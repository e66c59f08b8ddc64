"""Citation parsing and checking for generated answers.

Why: an LLM writes fluent text with ``[n]`` markers, but nothing forces a marker to point at a retrieved chunk,
nor the chunk to say what the sentence says. This module makes every kept sentence earn its citation:

* a marker whose number is not a retrieved chunk (``[7]`` with four chunks) is dropped;
* a sentence is kept only when its cited chunks *support* it (``assistant.support.SupportScorer``: content-word
  overlap, and every number, month and name of the sentence present in the chunk). Otherwise, when another
  retrieved chunk does support it, the citation is re-pointed there (``repaired``); else the sentence is
  removed (or, in ``mark`` mode, kept without markers and labelled as unverified);
* a sentence that makes a claim without any citation is removed; short connective sentences ("Berikut
  rinciannya:") and the abstain sentence are kept;
* kept citations are renumbered 1..k in order of first use, so the answer's citation list has no gaps.

The checker works incrementally (:meth:`CitationChecker.feed`) so a stream can be checked sentence by
sentence: a sentence is released only once it is complete (its trailing ``[n]`` seen), and the pieces released
concatenate exactly to the text :func:`check_citations` returns for the whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from assistant.answer.base import ABSTAIN_TEXT
from assistant.lexicon import CONFLICT_PHRASES
from assistant.models import Citation
from assistant.text import content_terms, fold, mentions, split_sentences, words

MARK = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_LEAD = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.!?,;:])")
_MARKUP_CHARS = frozenset(" \t\n[]0123456789,;")
_ABSTAIN_KEY = fold(ABSTAIN_TEXT[:40])
UNVERIFIED_LABEL = " [tidak terverifikasi]"

Reason = Literal["uncited", "unsupported", "out_of_range", "partial", "prompt_leak"]


class Scorer(Protocol):
    """What the checker needs from a support scorer (``assistant.support.SupportScorer`` fits)."""

    def supports(self, sentence: str, passage: str) -> bool: ...

    def score(self, sentence: str, passage: str) -> float: ...


def default_scorer(embedder: Any = None, threshold: float | None = None) -> Scorer:
    """The project's calibrated support scorer; imported lazily (it lives with the evals)."""
    from assistant.support import SupportScorer

    return SupportScorer(embedder, threshold=threshold)


# Citation forms small models write instead of ``[n]`` (see docs/llm.md for which ones were seen):
# ``[Sumber 1]``, ``[dokumen 2]``, ``[Dokumen 1 dan 2]``, ``(Sumber: 1)``, ``[1-3]``, ``【1】``, ``[^1]``.
_LABEL = r"(?:sumber|dokumen|dok\.?|doc(?:ument)?|source|referensi|ref\.?|rujukan)"
_LABEL_WORDS = frozenset({"sumber", "dokumen", "dok", "doc", "document", "source", "referensi", "ref", "rujukan"})
_NUMS = r"\d{1,2}(?:\s*(?:,|;|&|dan|and|[-–])\s*\d{1,2})*"
_LABELLED = re.compile(
    rf"[\[(【]\s*\^?\s*{_LABEL}?\s*(?:n\s*=\s*)?[:#]?\s*\"?\s*({_NUMS})\s*\"?\s*[\])】]", re.I)
# A bare "(1)" is a citation only where a marker would stand: after text and before punctuation, another
# marker or the end of a line; "(1) mendaftar …" at the start of a list item is an enumerator. Only its
# brackets are swapped (same length), so a stream and the whole text parse alike whatever comes next.
_BARE_PAREN = re.compile(r"(?<=\S)(\s*)\((\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\)(?=\s*(?:[.,;:!?\[(]|$))", re.M)
_MAYBE_MARK = re.compile(rf"^\s*[\[(【]\s*\^?\s*(?:{_LABEL}|[a-z]{{0,9}})?\.?\s*(?:n\s*=\s*)?[:#]?\s*\"?[\d\s,;&\-–]*"
                         r"(?:dan|and)?[\d\s,;]*\"?\s*[\])】]?\s*$", re.I)


def _split_numbers(nums: str) -> list[str]:
    """The parts of a list of citation numbers: "1, 3", "1; 3", "1 & 3", "1 dan 3" (spaces trimmed)."""
    text = f" {nums.lower()} ".replace(" dan ", ",").replace(" and ", ",").replace(";", ",").replace("&", ",")
    return [p.strip() for p in text.split(",") if p.strip()]


def _expand(nums: str) -> str:
    """"1 dan 3" → "1, 3"; "1-3" → "1, 2, 3" (a short range only)."""
    out: list[int] = []
    for part in _split_numbers(nums):
        lo, dash, hi = part.replace("–", "-").partition("-")
        lo, hi = lo.strip(), hi.strip()
        if dash and lo.isdigit() and hi.isdigit() and 0 < int(hi) - int(lo) <= 5:
            out.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            out.append(int(part))
    return ", ".join(str(n) for n in dict.fromkeys(out))


def normalize_markers(text: str) -> str:
    """The model's citation forms rewritten as ``[n]`` / ``[n, m]``, which the checker reads. A labelled or
    bracketed form (``[Sumber 1]``, ``(dokumen 2)``, ``[1-3]``) is unambiguous; a bare ``(1)`` counts only in a
    marker's position (see ``_BARE_PAREN``)."""
    def labelled(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole.startswith("(") and not any(w in _LABEL_WORDS for w in words(whole)):
            return whole  # "(1)" without a label: decided by _BARE_PAREN below
        nums = _expand(m.group(1))
        return f"[{nums}]" if nums else whole

    text = _LABELLED.sub(labelled, text)
    return _BARE_PAREN.sub(lambda m: f"{m.group(1)}[{m.group(2)}]", text)


def citation_numbers(text: str) -> list[int]:
    """All citation numbers in ``text`` in order (``[1, 3]`` gives 1 and 3)."""
    return [int(n) for m in MARK.finditer(text) for n in _split_numbers(m.group(1))]


def renumber_citations(text: str, local: list[Citation], numbers: dict[str, int], cites: dict[str, Citation]) -> str:
    """``text``'s own ``[k]`` markers (numbered by ``local``) turned into numbers shared by several answers joined
    into one (a reply letter, the parts of a compound message): one number per chunk, in order of first use.
    ``numbers`` (chunk → number) and ``cites`` (chunk → renumbered citation, quotes merged) carry over from one
    call to the next; a marker ``local`` does not know is dropped."""
    by_local = {c.n: c for c in local}

    def sub(m: re.Match[str]) -> str:
        if not m.group(1).isdigit():
            return m.group(0)  # "[1, 2]": the extractive answers this renumbers cite one chunk per marker
        c = by_local.get(int(m.group(1)))
        if c is None:
            return ""
        key = c.chunk_id or f"{c.doc_id}#{c.section}"
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            cites[key] = c.model_copy(update={"n": numbers[key]})
        elif c.quote and c.quote not in cites[key].quote:
            prev = cites[key]
            cites[key] = prev.model_copy(update={"quote": f"{prev.quote} {c.quote}".strip()})
        return f"[{numbers[key]}]"

    return MARK.sub(sub, text)


def strip_markers(text: str) -> str:
    """The sentence without ``[n]`` markers, spaces before punctuation tidied."""
    return tidy_punctuation(" ".join(MARK.sub(" ", text).split()))


def tidy_punctuation(text: str) -> str:
    """No space before a full stop, comma, colon … (left behind where a marker was removed)."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def is_abstain(text: str) -> bool:
    return fold(text).startswith(_ABSTAIN_KEY)


def is_connective(text: str) -> bool:
    """A sentence that states nothing checkable: few content words, no number, no proper name."""
    return len(content_terms(text)) <= 2 and not _has_value(text)


def _has_value(text: str) -> bool:
    """A number, or a name of two capitalised words ("Teuku Riefky"): something a claim could get wrong."""
    if any(c.isdigit() for c in text):
        return True
    ws = text.split()
    return any(a[:1].isupper() and a[1:2].islower() and b[:1].isupper() for a, b in zip(ws, ws[1:], strict=False))


def states_conflict(text: str) -> bool:
    """The sentence says sources disagree (:data:`~assistant.lexicon.CONFLICT_PHRASES`, or "sedangkan" setting
    one source against another)."""
    return mentions(text, (*CONFLICT_PHRASES, "sedangkan"))


@dataclass
class Removal:
    """A sentence taken out of the answer, and why."""

    sentence: str
    reason: Reason
    citations: list[int] = field(default_factory=list)
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "reason": self.reason, "citations": self.citations, "score": self.score}


@dataclass
class Fix:
    """A citation number dropped or re-pointed inside a kept sentence (numbers are the *original* ones)."""

    sentence: str
    original: int
    replacement: int | None
    reason: Literal["out_of_range", "not_supporting", "repaired", "added"]

    def as_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "original": self.original, "replacement": self.replacement,
                "reason": self.reason}


@dataclass
class CheckedAnswer:
    """The checked text and everything the check changed."""

    text: str
    order: list[int]  # original passage numbers in order of first use: new number = index + 1
    claims: list[tuple[str, list[int]]]  # kept cited sentences (plain text, original numbers)
    removed: list[Removal]
    fixes: list[Fix]
    abstain_seen: bool = False
    held: str = ""  # connective text never released because no cited claim followed it

    @property
    def renumber(self) -> dict[int, int]:
        return {orig: i + 1 for i, orig in enumerate(self.order)}

    @property
    def flags(self) -> list[str]:
        out = []
        if any(f.reason == "out_of_range" for f in self.fixes) or any(r.reason == "out_of_range"
                                                                        for r in self.removed):
            out.append("citation_out_of_range")
        if any(f.reason == "repaired" for f in self.fixes):
            out.append("citation_repaired")
        if any(f.reason == "not_supporting" for f in self.fixes):
            out.append("citation_dropped")
        if any(f.reason == "added" for f in self.fixes):
            out.append("citation_added")
        if self.removed:
            out.append("sentences_removed")
        return out


def _grams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """Word 4-grams (case- and accent-folded): a copied sentence shares most of them, an answer that only names
    the same subject ("Jejaring Kota Kreatif UNESCO") shares a few."""
    ws = words(text)
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


_COMPLETE_ENDS = tuple(".!?;:…)\"”’")
_AFTER_MARK = re.compile(r"\]\s+(?=[A-Z\"“(])")


def _spans(raw: str) -> list[tuple[int, int]]:
    """Sentence spans, also cut after a marker that is followed by a new sentence: the text splitter keeps
    "… nomor 11. [1] Tenggat …" together (it reads "11." as a list number), the answer's marker does not."""
    out: list[tuple[int, int]] = []
    for a, b in split_sentences(raw):
        start = a
        for m in _AFTER_MARK.finditer(raw, a, b):
            out.append((start, m.start() + 1))
            start = m.end()
        out.append((start, b))
    return out


def _units(raw: str) -> list[tuple[int, int]]:
    """Sentence spans of ``raw``; a marker that opens the next segment (``… 2004. [1] Next``) belongs to the
    sentence before it, as the extractive answerer writes."""
    units: list[tuple[int, int]] = []
    for a, b in _spans(raw):
        seg = raw[a:b]
        lead = _LEAD.match(seg)
        if lead and units:
            units[-1] = (units[-1][0], a + lead.end())
            rest = seg[lead.end():]
            if rest.strip():
                units.append((b - len(rest.lstrip()), b))
        else:
            units.append((a, b))
    return units


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """``(sentence without markers, its citation numbers)`` for each sentence, markers attached as the checker
    attaches them (``… 2004. [1] Next …`` and ``… 2004 [1]. Next …`` parse alike)."""
    out = []
    for a, b in _units(text):
        plain = strip_markers(text[a:b])
        if plain:
            out.append((plain, list(dict.fromkeys(citation_numbers(text[a:b])))))
    return out


class CitationChecker:
    """Incremental checker: ``feed`` text as it arrives, get back checked text ready to show; ``close`` at the
    end. ``passages`` maps the citation numbers the model saw to the text it may cite."""

    def __init__(self, passages: Mapping[int, str], scorer: Scorer | None = None, *, repair: bool = True,
                 mode: Literal["remove", "mark"] = "remove", protected: str = "") -> None:
        self.passages = dict(passages)
        # Text the answer must never repeat (the system prompt): a sentence copied from it is removed whatever it
        # cites, before any citation is added to it.
        self._protected = _grams(protected)
        self.scorer = scorer or default_scorer()
        self.repair = repair
        self.mode = mode
        self._src = ""  # the model's text as received
        self._raw = ""  # the same with its citation forms normalised (normalize_markers)
        self._done = 0  # units already processed
        self._out: list[str] = []  # released pieces
        self._held: list[tuple[str, str]] = []  # (separator, text) waiting for a first cited claim
        self._order: list[int] = []
        self._claims: list[tuple[str, list[int]]] = []
        self._removed: list[Removal] = []
        self._fixes: list[Fix] = []
        self._abstain = False
        self._closed = False

    # -- streaming -------------------------------------------------------------------------------------
    def feed(self, piece: str) -> str:
        """Add model output; return the checked text released by it (complete sentences only)."""
        self._src += piece
        self._raw = normalize_markers(self._src)
        units = _units(self._raw)
        final = len(units) - 1
        if units and (set(self._raw[units[-1][0]:units[-1][1]]) <= _MARKUP_CHARS
                      or _MAYBE_MARK.match(self._raw[units[-1][0]:units[-1][1]])):
            final -= 1  # "[1" or "[Sumber" may still become the previous sentence's marker
        return self._process(units, max(final, self._done))

    def close(self) -> str:
        """End of output: check the last sentence; return what it releases."""
        if self._closed:
            return ""
        self._closed = True
        units = _units(self._raw)
        return self._process(units, len(units))

    @property
    def text(self) -> str:
        """Everything released so far."""
        return "".join(self._out)

    def result(self) -> CheckedAnswer:
        return CheckedAnswer(self.text, list(self._order), list(self._claims), list(self._removed),
                             list(self._fixes), self._abstain, "".join(s + t for s, t in self._held).strip())

    # -- one sentence ----------------------------------------------------------------------------------
    def _process(self, units: list[tuple[int, int]], upto: int) -> str:
        released: list[str] = []
        while self._done < upto:
            i = self._done
            a, b = units[i]
            gap = self._raw[(units[i - 1][1] if i > 0 else 0):a]
            self._done += 1
            kept = self._check_unit(self._raw[a:b], last=self._closed and i == len(units) - 1)
            if kept is None:
                continue
            text, is_claim = kept
            sep = ("\n" * min(2, gap.count("\n"))) if "\n" in gap else " "
            if not is_claim and not self._claims:
                self._held.append((sep, text))  # released with the first cited claim, or never
                continue
            pending, self._held = [*self._held, (sep, text)], []
            for s, t in pending:
                piece = (s if self._out else "") + t
                self._out.append(piece)
                released.append(piece)
        return "".join(released)

    def _check_unit(self, unit: str, last: bool = False) -> tuple[str, bool] | None:
        """``(text to show, is a cited claim)`` or None when the sentence is dropped. ``last``: the final piece
        of a closed output, which may be a sentence cut off (max tokens, or a llama.cpp server that ends one
        stream when another request arrives)."""
        plain = strip_markers(unit)
        if not plain:
            return None
        cites = list(dict.fromkeys(citation_numbers(unit)))
        if is_abstain(plain):
            self._abstain = True
            return plain, False
        if self._protected:
            grams = _grams(plain)
            if len(grams) >= 2 and len(grams & self._protected) >= 0.5 * len(grams):
                return self._drop(plain, "prompt_leak", cites)
        valid = [n for n in cites if n in self.passages]
        for n in cites:
            if n not in self.passages:
                self._fixes.append(Fix(plain, n, None, "out_of_range"))
        if is_connective(plain):  # nothing checkable: keep it, with its valid markers if any
            if valid:
                return self._keep(unit, plain, valid, rewrite=valid != cites), True
            return plain, False
        if not cites and last and not unit.rstrip().endswith(_COMPLETE_ENDS):
            return self._drop(plain, "partial", cites)  # never given a citation of its own: it may be half a claim
        if not cites:
            # Small models often leave list items or a second sentence without a marker (seen with Qwen2.5-Coder
            # 1.5B: a four-item list copied from the context, no [n] at all). The claim is kept only when one
            # retrieved chunk supports it, as a wrong marker is re-pointed; it then cites that chunk.
            best = self._best_passage(plain) if self.repair else None
            if best is None:
                return self._drop(plain, "uncited", cites)
            self._fixes.append(Fix(plain, 0, best, "added"))
            return self._keep(unit, plain, [best], rewrite=True), True
        if valid and self._supported(plain, valid):
            needed = self._needed(plain, valid)
            return self._keep(unit, plain, needed, rewrite=needed != cites), True
        if len(valid) >= 2 and states_conflict(plain) and self._values_present(plain, valid):
            return self._keep(unit, plain, valid, rewrite=valid != cites), True
        if self.repair:
            best = self._best_passage(plain)
            if best is not None:
                for n in cites:
                    if n in self.passages:
                        self._fixes.append(Fix(plain, n, best, "repaired"))
                if not valid:
                    self._fixes.append(Fix(plain, cites[0], best, "repaired"))
                return self._keep(unit, plain, [best], rewrite=True), True
        if not valid:
            return self._drop(plain, "out_of_range", cites)
        return self._drop(plain, "unsupported", cites)

    def _drop(self, plain: str, reason: Reason, cites: list[int]) -> tuple[str, bool] | None:
        score = None
        valid = [n for n in cites if n in self.passages]
        if valid:
            score = round(self.scorer.score(plain, "\n".join(self.passages[n] for n in valid)), 4)
        self._removed.append(Removal(plain, reason, cites, score))
        if self.mode == "mark" and reason != "uncited":
            return plain.rstrip() + UNVERIFIED_LABEL, False
        return None

    def _supported(self, plain: str, nums: list[int]) -> bool:
        return self.scorer.supports(plain, "\n".join(self.passages[n] for n in nums))

    def _needed(self, plain: str, valid: list[int]) -> list[int]:
        """Drop a cited passage that does not support the sentence when the others do without it."""
        if len(valid) == 1:
            return valid
        keep = list(valid)
        for n in valid:
            rest = [m for m in keep if m != n]
            if rest and not self.scorer.supports(plain, self.passages[n]) and self._supported(plain, rest):
                keep = rest
                self._fixes.append(Fix(plain, n, None, "not_supporting"))
        return keep

    def _values_present(self, plain: str, nums: list[int]) -> bool:
        """A conflict note ("[1] menyebut 2019, sedangkan [2] 2021") is fine when its values are in the sources."""
        detail = getattr(self.scorer, "detail", None)
        if detail is None:
            return False
        return not detail(plain, "\n".join(self.passages[n] for n in nums)).missing

    def _best_passage(self, plain: str) -> int | None:
        scored = [(self.scorer.score(plain, p), n) for n, p in self.passages.items()]
        scored.sort(key=lambda x: (-x[0], x[1]))
        for _, n in scored[:1]:
            if self.scorer.supports(plain, self.passages[n]):
                return n
        return None

    def _keep(self, unit: str, plain: str, nums: list[int], *, rewrite: bool) -> str:
        for n in nums:
            if n not in self._order:
                self._order.append(n)
        self._claims.append((plain, list(nums)))
        new = {o: i + 1 for i, o in enumerate(self._order)}
        if not rewrite:
            def renum(m: re.Match[str]) -> str:
                return "[" + ", ".join(str(new[int(x)]) for x in _split_numbers(m.group(1))) + "]"
            return MARK.sub(renum, unit.strip())
        marker = "[" + ", ".join(str(new[n]) for n in nums) + "]"
        # The slot for the marker is a private-use character, removed from the model's text first, so nothing
        # the model wrote (a NUL, say) can turn into a citation.
        slot = "\ue000"
        unit = unit.replace(slot, "")
        matches = list(MARK.finditer(unit))
        if not matches:
            body = unit.strip().rstrip() + slot
        else:
            last = matches[-1]
            body = MARK.sub("", unit[:last.start()]) + slot + MARK.sub("", unit[last.end():])
        body = tidy_punctuation(" ".join(body.split()))
        if body.endswith(slot) and not body[:-1].endswith(" "):
            body = body[:-1] + " " + slot
        return body.replace(slot, marker).strip()


def check_citations(text: str, passages: Mapping[int, str], scorer: Scorer | None = None, *, repair: bool = True,
                    mode: Literal["remove", "mark"] = "remove", protected: str = "") -> CheckedAnswer:
    """Check a whole answer at once (same result as feeding it piece by piece)."""
    checker = CitationChecker(passages, scorer, repair=repair, mode=mode, protected=protected)
    checker.feed(text)
    checker.close()
    return checker.result()
