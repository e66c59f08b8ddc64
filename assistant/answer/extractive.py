"""Extractive answers: the sentences the reader chose, quoted and cited, or an honest "tidak ada dalam dokumen".

Why extractive: on 2 cores no local LLM is both grounded and fast (docs/decisions.md), and an extractive answer
can only say what the documents say. Which sentences answer, and whether any does, is the reader's decision
(:mod:`assistant.reading`: a trained selector and a calibrated abstainer). This module composes the reply:

* **Abstention** — when the reader's probability that its best sentences answer is below its threshold, or the
  question names something no indexed chunk ever mentions (:func:`unknown_names`; the general rules still answer
  a question about how something is done).
* **The sentences** — the best one first; then, for a question asking for a list, the rest of its list (a list is
  one passage, quoted whole and in order, with its lead-in once); otherwise up to ``max_sentences`` more whose
  score comes close to the best's, without near-repeats, in retrieval and document order.
* **What the documents do not know** — when the best sentence itself states that something is not known, the
  answer says the documents hold no definite information and quotes that statement (to "Apa benar …?" a
  "belum terkonfirmasi" is a verdict, not a gap).
* **Conflicts** — a quoted sentence that says sources differ, or two strong sentences from different places that
  give different values of the asked kind (a year for *kapan*, an amount for *berapa*), flag the answer and add a
  note to check the sources.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.answer.base import ABSTAIN_TEXT, Answerer, Draft
from assistant.lexicon import CONFLICT_PHRASES, CONTEXT_ACRONYMS, HONORIFICS, QUESTION_WORDS, UNCONFIRMED_PHRASES
from assistant.models import Citation, ScoredChunk
from assistant.reading.candidates import Candidate
from assistant.reading.features import says_unknown, values
from assistant.reading.questions import Asked
from assistant.reading.reader import Reader, Reading
from assistant.text import fold, is_indonesian_word, mentions, split_sentences, tokenize, words

# Items of one list an answer quotes at most: a whole enumeration ("17 subsektor", the sections of a form) is the
# answer to "sebutkan …"; beyond this a list is a document to read.
LIST_ITEMS = 20
# A further sentence joins the best one when its selector score is within this distance of the best's (LambdaMART
# scores are log-odds-like); the same sentences are compared for a conflict between sources. The default of the
# settings' ``answer_score_margin``, chosen on valid (assistant/config.py).
SCORE_MARGIN = 3.0
# Two quoted sentences sharing this share of their words say the same thing (overlapping chunks repeat text).
NEAR_REPEAT = 0.6
# How-to questions ("cara", "syarat", "boleh …?") are answered by the general rules for any city, even one the
# documents never name.
PROCEDURE_WORDS = frozenset({"cara", "caranya", "bagaimana", "gimana", "langkah", "prosedur", "tahapan", "syarat",
                             "persyaratan", "persiapan", "siapkan", "disiapkan", "boleh", "bolehkah", "bisa",
                             "bisakah", "dapatkah", "perlu", "harus"})


def _surface_words(text: str) -> list[str]:
    """Words as written (case kept): letters, digits, inner hyphens."""
    out, cur = [], []
    for ch in text:
        if ch.isalnum() or (ch == "-" and cur):
            cur.append(ch)
        elif cur:
            out.append("".join(cur).strip("-"))
            cur = []
    if cur:
        out.append("".join(cur).strip("-"))
    return [w for w in out if w]


def asking_sentences(question: str) -> list[str]:
    """The sentences of a message that ask (a question mark or a question word); all of them when none does.

    A name in a sentence that only sets the scene ("Biar Pak Bupati ga kaget.") is who asks, not what the
    documents must know."""
    sents = [question[a:b] for a, b in split_sentences(question)]
    asking = [s for s in sents if "?" in s or any(w in QUESTION_WORDS for w in words(s))]
    return asking or sents


def unknown_names(question: str, terms: set[str] | None, idf: Callable[[str], float] | None) -> list[str]:
    """Capitalised words of the asking sentences that no indexed chunk contains (after typo correction).

    Why: "Surabaya kota kreatif UNESCO bidang apa?" shares "kota kreatif UNESCO bidang" with the Surakarta chunk;
    a name the documents never use means they say nothing about it, whatever else matches. ``idf`` gives a
    never-seen term the highest value; ``terms`` are the corrected question terms, so a misspelt known name was
    already mapped to the indexed one. A sentence's first word is capitalised anyway: it counts only when it is no
    ordinary Indonesian word. Titles ("Pak", "Bu") and the bodies and plans every region has ("DPRD", "RPJMD") are
    the asker's context, not a topic.
    """
    if idf is None or terms is None:
        return []
    unseen = idf("\x00")
    out: list[str] = []
    for sentence in asking_sentences(question):
        ws = _surface_words(sentence)
        for i, w in enumerate(ws):
            f = fold(w)
            if not w[:1].isupper() or f in HONORIFICS or f in CONTEXT_ACRONYMS or w.isdigit():
                continue
            if i == 0 and (is_indonesian_word(w) or f.endswith("kah")):
                continue  # a sentence starts capitalised; "-kah" marks a question word ("Darimanakah")
            toks = tokenize(w)
            if toks and all(t in terms and idf(t) >= unseen for t in toks) and w not in out:
                out.append(w)
    return out


def asks_how(question: str) -> bool:
    """A question about a procedure or a rule ("cara", "syarat", "boleh …?"), answerable for any city."""
    return any(w in PROCEDURE_WORDS for w in words(question))


def unanswerable_names(question: str, terms: set[str] | None, idf: Callable[[str], float] | None) -> list[str]:
    """The :func:`unknown_names` that make a question unanswerable: all of them, unless it asks how something is
    done. Any answerer abstains on these without reading further (the LLM one without calling the model)."""
    names = unknown_names(question, terms, idf)
    return names if names and not asks_how(question) else []


def _join(names: list[str]) -> str:
    """Indonesian enumeration: "A", "A dan B", "A, B, dan C"."""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + (", dan " if len(names) > 2 else " dan ") + names[-1]


class ExtractiveAnswerer(Answerer):
    """Default answerer: no LLM, every sentence is a quote with a citation."""

    name = "extractive"

    def __init__(self, reader: Reader | None = None, max_sentences: int = 3, score_margin: float = SCORE_MARGIN
                 ) -> None:
        self.reader = reader or Reader()
        self.max_sentences = max_sentences
        self.score_margin = score_margin

    @property
    def abstain_threshold(self) -> float:
        return self.reader.threshold

    def evidence(self, question: str, hits: list[ScoredChunk], idf: Callable[[str], float] | None = None,
                 terms: set[str] | None = None) -> float:
        """The reader's probability that the retrieved chunks answer the question."""
        return self.reader.read(question, hits, terms, idf).p_answer if hits else 0.0

    def answer(self, question: str, hits: list[ScoredChunk], idf: Callable[[str], float] | None = None,
               terms: set[str] | None = None) -> Draft:
        names = unknown_names(question, terms, idf)
        if names and not asks_how(question):  # = unanswerable_names, without finding the names twice
            return Draft(f"{ABSTAIN_TEXT} Dokumen yang saya miliki tidak memuat nama {_join(names)} sama sekali.",
                         abstained=True, flags=["unknown_name"])
        if not hits:
            return Draft(ABSTAIN_TEXT, abstained=True, flags=["weak_evidence"])
        reading = self.reader.read(question, hits, terms, idf)
        if not reading.candidates:
            return Draft(ABSTAIN_TEXT, abstained=True, evidence=reading.p_answer, flags=["no_sentence"])
        if not reading.answerable:
            return Draft(ABSTAIN_TEXT, abstained=True, evidence=reading.p_answer, flags=["weak_evidence"])
        chosen = self.choose(reading)
        draft = self.render(chosen, reading)
        if names and not draft.abstained:  # a procedure: the general rules answer it, but say what is missing
            draft.text = (f"Dokumen yang saya miliki tidak memuat nama {_join(names)}; yang berlaku umum sebagai "
                          f"berikut. {draft.text}")
            draft.flags.append("unknown_name")
        return draft

    # -- which sentences -----------------------------------------------------------------------------------
    def choose(self, reading: Reading) -> list[Candidate]:
        """The sentences to quote, the best first (see the module docstring)."""
        cands, scores = reading.candidates, reading.scores
        best = cands[0]
        if says_unknown(best.sentence.embed_text):
            return [best]  # the documents say they do not know: that statement is the answer, alone
        if reading.asked.wants_list or (best.lead and reading.asked.kind in ("general", "manner")):
            items = self._list_of(best, cands, scores)
            if len(items) > 1:
                return items
        chosen = [best]
        seen = [set(tokenize(best.text, stemming=False))]
        for c, s in zip(cands[1:], scores[1:], strict=True):
            if len(chosen) >= self.max_sentences or s < scores[0] - self.score_margin:
                break
            toks = set(tokenize(c.text, stemming=False))
            if says_unknown(c.sentence.embed_text) or any(
                    len(toks & o) / max(1, len(toks | o)) > NEAR_REPEAT for o in seen):
                continue  # a caveat about something else, or a repeat of what is already quoted
            chosen.append(c)
            seen.append(toks)
        return [chosen[0], *sorted(chosen[1:], key=lambda c: (c.rank, c.position))]

    @staticmethod
    def _list_of(best: Candidate, cands: list[Candidate], scores: list[float]) -> list[Candidate]:
        """The list that answers a list question: the best sentence's own list; else the list it introduces (the
        items right after it in its chunk); else the list holding the best-scored item. In document order."""
        def items_of(hit_id: str, lead: str) -> list[Candidate]:
            found = [c for c in cands if c.chunk_id == hit_id and c.lead == lead and c.sentence.is_item]
            return sorted(found, key=lambda c: c.position)[:LIST_ITEMS]

        if best.lead:
            return items_of(best.chunk_id, best.lead)
        after = [c for c in cands if c.chunk_id == best.chunk_id and c.lead and c.position == best.position + 1]
        if after:
            return [best, *items_of(best.chunk_id, after[0].lead)][:LIST_ITEMS]
        listed = [(s, c) for c, s in zip(cands, scores, strict=True) if c.lead and c.sentence.is_item]
        if listed:
            top = max(listed, key=lambda x: x[0])[1]
            return items_of(top.chunk_id, top.lead)
        return [best]

    # -- the reply -----------------------------------------------------------------------------------------
    def render(self, chosen: list[Candidate], reading: Reading) -> Draft:
        """Cited answer text; chunks are numbered in order of first use."""
        asked = reading.asked
        unknown = says_unknown(chosen[0].sentence.embed_text) and not (
            mentions(chosen[0].sentence.embed_text, UNCONFIRMED_PHRASES) and (asked.verify or asked.yesno))
        pair = None if unknown else _conflict_pair(asked, chosen, reading, self.score_margin)
        if pair is not None:
            chosen = [*chosen, *(c for c in pair if c not in chosen)]
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        quotes: dict[str, list[str]] = {}
        parts: list[str] = []
        leads_shown: set[tuple[str, str]] = set()
        for c in chosen:
            cid = c.chunk_id
            if cid not in numbers:
                numbers[cid] = len(numbers) + 1
                quotes[cid] = []
                ch = c.hit.chunk
                citations.append(Citation(n=numbers[cid], doc_id=ch.doc_id, title=ch.title, section=ch.section,
                                          url=ch.url, date=ch.date, chunk_id=cid))
            shown = c.text
            if c.lead and (cid, c.lead) not in leads_shown:  # a list's lead-in once, before its first item
                leads_shown.add((cid, c.lead))
                shown = f"{c.lead} {c.text}"
                quotes[cid].append(c.lead)
            quotes[cid].append(c.text)
            parts.append(f"{shown} [{numbers[cid]}]")
        for cit in citations:
            cit.quote = " ".join(quotes[cit.chunk_id])
        stated = any(mentions(c.text, CONFLICT_PHRASES) for c in chosen)
        text = " ".join(parts)
        flags: list[str] = []
        if unknown:
            text = "Dokumen yang saya miliki tidak memuat informasi pasti tentang hal ini. " + text
            flags.append("documents_say_unknown")
        if pair is not None and not stated:
            shown = [f"{_value(c, asked)} [{numbers[c.chunk_id]}]" for c in pair]
            text += (f" Catatan: sumber-sumber yang ditemukan menyebut nilai yang berbeda ({shown[0]} dan "
                     f"{shown[1]}); periksa sumber aslinya sebelum mengutip.")
        conflict = pair is not None or stated
        if conflict:
            flags.append("conflict")
        return Draft(text, abstained=unknown, citations=citations, conflict=conflict, flags=flags,
                     evidence=reading.p_answer)


def _kind_values(c: Candidate, asked: Asked, question: str) -> set[str]:
    """The single values of the asked kind a sentence gives (years for *kapan*, other numbers for *berapa*),
    minus those the question names itself."""
    v, q = values(c.text), values(question)
    if asked.kind == "date":
        return set(v.years - q.years)
    if asked.kind == "number":
        return set(v.numbers - v.years - q.numbers)
    return set()


def _value(c: Candidate, asked: Asked) -> str:
    v = values(c.text)
    found = sorted(v.years) if asked.kind == "date" else sorted(v.numbers - v.years)
    return found[0] if found else ""


def _conflict_pair(asked: Asked, chosen: list[Candidate], reading: Reading,
                   margin: float) -> tuple[Candidate, Candidate] | None:
    """Two strong sentences from different documents or sections that give different single values of the asked
    kind: the answer must not pick one silently. "Strong" = within the answer's score margin of the best, the
    same sentences the answer could quote (the selector ranks a copy in a lower-ranked chunk well below the
    first: two sources stating different years scored 2.9 and 0.5)."""
    if asked.kind not in ("date", "number"):
        return None
    best = reading.scores[0]
    strong = [c for c, s in zip(reading.candidates, reading.scores, strict=True) if s >= best - margin][:6]
    items = [(c, _kind_values(c, asked, reading.question)) for c in strong]
    items = [(c, v) for c, v in items if len(v) == 1 and not says_unknown(c.text)]
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (ci, vi), (cj, vj) = items[i], items[j]
            a, b = ci.hit.chunk, cj.hit.chunk
            if (a.doc_id, a.section) != (b.doc_id, b.section) and vi != vj and (ci in chosen or cj in chosen):
                return ci, cj
    return None
