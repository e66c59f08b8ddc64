"""Indonesian numbers in text: digits with Indonesian separators, and number words, read by one parser.

Two readers need them: the tokenizer writes counts as digits, so that "tujuh belas subsektor" meets
"17 subsektor" in BM25 (:func:`counts_as_digits`), and the support scorer checks that the values a sentence
states are in the passage it cites (:func:`number_word`, :func:`canon_number`).
"""

from __future__ import annotations

import re

from assistant.lexicon import CARDINAL_UNITS, CARDINAL_WORDS, COUNT_WORDS, ORDINAL_WORDS

_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")


def canon_number(raw: str) -> float | None:
    """``1.500`` → 1500, ``26,47`` → 26.47, ``2024`` → 2024 (Indonesian: dot = thousands, comma = decimal)."""
    if _GROUPED.fullmatch(raw):
        raw = raw.replace(".", "")
    raw = raw.replace(",", ".")
    if raw.count(".") > 1:
        raw = raw.replace(".", "")
    try:
        return float(raw)
    except ValueError:
        return None


def number_word(toks: list[str], i: int) -> tuple[float | None, bool, int]:
    """Value of the number word(s) starting at ``toks[i]`` (folded words), whether it is an ordinal, and the index
    after them (value ``None`` if ``toks[i]`` is no number word).

    Cardinals (``tujuh``, ``dua puluh lima``, ``sebelas``, ``tiga ratus``), ``ke``-ordinals (``ketiga``) and
    ``pertama``; a possessive ``-nya`` is read through (``ketiganya``); ``salah satu`` ("one of") is no number.
    """
    w = toks[i]
    if w.endswith("nya") and len(w) > 5:
        w = w[:-3]
    if w == "satu" and i > 0 and toks[i - 1] == "salah":
        return None, False, i + 1
    ordinal = w.startswith("ke") and w[2:] in CARDINAL_UNITS
    base = w[2:] if ordinal else w
    if base in CARDINAL_UNITS:
        val = CARDINAL_UNITS[base]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        j = i + 1
        if nxt == "belas":
            val, j = 10 + val, j + 1
        elif nxt == "puluh":
            val, j = 10 * val, j + 1
            if j < len(toks) and toks[j] in CARDINAL_UNITS:
                val, j = val + CARDINAL_UNITS[toks[j]], j + 1
        elif nxt == "ratus":
            val, j = 100 * val, j + 1
        return float(val), ordinal, j
    if w in CARDINAL_WORDS:
        return float(CARDINAL_WORDS[w]), False, i + 1
    if w in ORDINAL_WORDS:
        return float(ORDINAL_WORDS[w]), True, i + 1
    return None, False, i + 1


def counts_as_digits(ws: list[str]) -> list[str]:
    """``ws`` with counts written as digits ("enam besar" → "6 besar", "dua puluh lima" → "25"); only counts
    that start with one of :data:`~assistant.lexicon.COUNT_WORDS` (not "satu", ordinals or idioms)."""
    out: list[str] = []
    i = 0
    while i < len(ws):
        if ws[i] in COUNT_WORDS:
            value, _, i = number_word(ws, i)
            out.append(str(int(value)))
        else:
            out.append(ws[i])
            i += 1
    return out
