"""What a question asks: the kind of value (a time, an amount, a person …), whether it wants a list, yes or no.

One place decides this for the reader, the answer's composition and the follow-up rewriter. It reads the
question's words against :mod:`assistant.lexicon` (question words name the kind of answer in Indonesian) rather
than a pattern per phrasing; the reading models take the result as an input and learn how much it matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.lexicon import LIST_WORDS, QUESTION_WORDS, TIME_UNITS, VERIFY_WORDS, YES_NO_WORDS
from assistant.text import fold, words

# A question word with the phrase it heads ("tahun berapa", "berapa kali", "yang mana", "apa saja"), longest
# first: the follow-up rewriter finds a follow-up's question phrase and puts it in front; a question that borrows
# another's words leaves this phrase out.
QUESTION_PHRASE = re.compile(
    r"\b(apa saja|siapa saja|mana saja|tahun berapa|nomor berapa|tanggal berapa|bulan apa|"
    r"(?:tiap |setiap )?berapa (?:tahun|bulan|minggu|hari|kali|lama)(?: sekali)?|berapa|kapan|di mana|"
    r"ke mana|dari mana|yang mana|siapa|apakah|apa|bagaimana|mengapa|keberapa|ke berapa|mana)\b", re.I)

# Answer kinds, in the order of the categorical feature the models see.
KINDS = ("general", "date", "number", "person", "place", "reason", "manner", "yesno")


@dataclass(frozen=True)
class Asked:
    """The kind of answer a question wants."""

    kind: str  # one of KINDS
    wants_list: bool  # "apa saja", "sebutkan …"
    verify: bool  # "apa benar …?": a verdict on a claim
    unit: str = ""  # the noun counted by "berapa <unit>" ("berapa kota" → "kota"), when given

    @property
    def kind_id(self) -> int:
        return KINDS.index(self.kind)

    @property
    def yesno(self) -> bool:
        return self.kind == "yesno"


@lru_cache(maxsize=4096)
def asked(question: str) -> Asked:
    """Read the question's words: the first question word decides the kind ("tahun berapa" asks a date; "apa"
    before a modal, "apakah" alone, or no question word at all ask yes or no)."""
    ws = words(question)
    kind = ""
    unit = ""
    for i, w in enumerate(ws):
        k = QUESTION_WORDS.get(w)
        if k is None or w == "apakah":
            continue
        prev = ws[i - 1] if i else ""
        nxt = ws[i + 1] if i + 1 < len(ws) else ""
        if w == "mana" and prev not in ("di", "ke", "dari", "yang") and i:
            continue  # "yang mana", "mana saja" after a noun: a choice, not a place, unless "di mana"
        if k == "number" and prev in TIME_UNITS:
            k = "date"
        elif k == "number" and nxt and nxt not in ("banyak", "lama", "jumlah"):
            unit = nxt
        elif k == "general" and nxt in YES_NO_WORDS:
            k = "yesno"
        elif k == "general" and nxt in TIME_UNITS:
            k = "date"  # "bulan apa", "tahun apa" read the other way round: "apa" after the unit
        if k == "general" and prev in TIME_UNITS:
            k = "date"
        kind = k
        break
    if not kind:
        kind = "yesno" if ws else "general"
    folded = fold(question)
    wants_list = any(w in LIST_WORDS for w in ws) or "apa apa" in " ".join(ws)
    verify = any(w in VERIFY_WORDS for w in ws) and ("apa" in ws or "apakah" in ws or folded.rstrip(" ?").endswith(
        ("bukan", "gak", "nggak", "tidak")))
    return Asked(kind, wants_list, verify, unit)


def opens_with_question(text: str) -> bool:
    """Whether ``text`` starts with a question word ("Kapan …", "Di mana …") or a yes/no "-kah" word ("Bolehkah
    …", "Adakah …"): a clause that asks by itself."""
    ws = words(text)[:2]
    if not ws:
        return False
    first = ws[0]
    if first in ("di", "ke", "dari"):
        return ws[1:2] == ["mana"]
    return first in QUESTION_WORDS or (first.endswith("kah") and first in YES_NO_WORDS)
