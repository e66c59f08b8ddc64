"""Messages that ask several things at once ("… tempatnya di mana & pelaksananya direktorat apa?", "UCCN
berdirinya tahun berapa? kota yang paling awal gabung siapa").

Focal points write chat messages, not one question per message. Retrieved as one query, such a message finds
the chunk of one part and the answer covers that part only. :func:`split_asks` cuts a message into its asking
parts — conservatively: only at a question mark, "&" or ";", or a ", terus/lalu/sekalian …" join, and only when
each side asks something — and :func:`merge_drafts` joins the parts' answers into one, numbering the sources
across the whole answer. A message with one asking part is left alone (the ordinary path answers it).
"""

from __future__ import annotations

import re

from assistant.answer.base import ABSTAIN_TEXT, Draft
from assistant.answer.citations import renumber_citations, strip_markers
from assistant.lexicon import (
    CONDITION_STATES,
    CONDITION_WORDS,
    CONTINUATION_WORDS,
    QUESTION_WORDS,
    REMARK_WORDS,
    YES_NO_WORDS,
)
from assistant.models import Citation
from assistant.text import content_terms, split_sentences, words

MAX_PARTS = 4
_JOIN = re.compile(r"\s*;\s*|,\s*(?=(?:terus|trus|lalu|sekalian|sekaligus)\b)|\s*&\s*", re.I)


def _has_question_word(piece: str) -> bool:
    return any(w in QUESTION_WORDS for w in words(piece))


def _asks(piece: str) -> bool:
    """A question mark, a question word, or a modal with "-kah" ("bolehkah", "perlukah")."""
    return "?" in piece or any(w in QUESTION_WORDS or w in YES_NO_WORDS and w.endswith("kah") for w in words(piece))


def _continues(piece: str) -> bool:
    """Only makes sense after the previous part: "sekalian yg di Ambon", "terus kalau Bandung?"."""
    ws = words(piece)
    return bool(ws) and (ws[0] in CONTINUATION_WORDS or ws[:2] == ["bagaimana", "dengan"])


def _qualifies(piece: str) -> bool:
    """Qualifies the part before rather than asking anew: a condition on its answer ("kalau udah, di bidang apa?")
    or a remark about it ("itu resmi?")."""
    ws = words(piece)
    return bool(ws) and (ws[0] in REMARK_WORDS or (ws[0] in CONDITION_WORDS and ws[1:2] != []
                                                     and ws[1] in CONDITION_STATES))


def _joins(sentence: str) -> list[str]:
    """``sentence`` cut at its joins. An "&" or ";" cuts only between two questions, each with its own question
    word: "… tempatnya di mana & pelaksananya direktorat apa?" is two, "Apa itu A & B?" and "kapan Malang &
    Ponorogo diusulkan?" are one."""
    out, start = [], 0
    for m in _JOIN.finditer(sentence):
        if "," not in m.group(0) and not (_has_question_word(sentence[start:m.start()])
                                          and _has_question_word(sentence[m.end():])):
            continue
        out.append(sentence[start:m.start()])
        start = m.end()
    return [*out, sentence[start:]]


def split_asks(message: str) -> list[str]:
    """The asking parts of ``message`` in order; a single-element list when it asks one thing.

    A sentence that only sets the scene ("Kota kami baru ditetapkan tahun 2025.") stays with the part after it,
    and a trailing purpose clause ("… biar tim kami bisa latihan") with the part before it, so that no words are
    lost; a part with no word of its own besides the question word is no question of its own ("… kapan & di
    mana?" is one).
    """
    text = " ".join(message.split())
    pieces: list[str] = []
    for sent in (text[a:b] for a, b in split_sentences(text)):  # (not after "Kab.", "No." …)
        for piece in _joins(sent):
            if piece.strip(" ,"):
                pieces.append(piece.strip(" ,"))
    parts: list[str] = []
    pending = ""  # scene-setting sentences waiting for the question they introduce
    for piece in pieces:
        asking = _asks(piece) or (parts and _continues(piece))
        qualifies = parts and not pending and (_qualifies(piece) or (
            " atau " in f" {piece.lower()} " and not _has_question_word(piece)))
        # A part needs a word of its own besides the question word: "temanya apa?" is one, "di mana?" is not.
        if asking and content_terms(piece) and not qualifies:
            parts.append(f"{pending} {piece}".strip())
            pending = ""
        elif parts and not pending:
            parts[-1] = f"{parts[-1]} {piece}"  # "… biar tim kami bisa latihan jawab": still the same part
        else:
            pending = f"{pending} {piece}".strip()
    if pending:
        if not parts:
            return [text]
        parts[-1] = f"{parts[-1]} {pending}"
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        return [text]
    return parts


def _split_units(text: str) -> list[str]:
    """An answer text cut after each citation marker: its cited sentences, markers kept."""
    units, start = [], 0
    for i, ch in enumerate(text):
        if ch == "]" and i + 1 < len(text) and text[i + 1].isspace():
            units.append(text[start:i + 1])
            start = i + 1
    units.append(text[start:])
    return [u.strip() for u in units if strip_markers(u)]


def _units(text: str) -> list[str]:
    """The cited sentences of an answer text, without their markers."""
    return [strip_markers(u) for u in _split_units(text)]


def repeats(draft: Draft, earlier: list[Draft]) -> bool:
    """Whether ``draft`` says nothing the ``earlier`` parts' answers did not (see :func:`merge_drafts`)."""
    said = {u for d in earlier if not d.abstained for u in _units(d.text)}
    return not draft.abstained and set(_units(draft.text)) <= said


def merge_drafts(parts: list[tuple[str, Draft]]) -> Draft:
    """One answer from the answers to the parts of a message: each part's text in order, its ``[n]`` markers
    renumbered so that one chunk has one number across the answer. A part the documents do not answer says
    which part it is (and why, when the answerer said why); the whole abstains only when every part does."""
    numbers: dict[str, int] = {}
    cites: dict[str, Citation] = {}
    texts: list[str] = []
    shown: set[str] = set()
    flags: list[str] = ["compound"]
    for question, draft in parts:
        body = renumber_citations(draft.text, draft.citations, numbers, cites)
        if not draft.abstained:
            # Two parts may find the same sentence ("… periode 2016–2022" for both "periode tahun berapa" and
            # "hasilnya dilaporkan ke mana"): it is said once, and a part left with nothing new says it found
            # the same (the Assistant first asks such a part again together with the one before it).
            fresh = [u for u in _split_units(body) if strip_markers(u) not in shown]
            shown.update(strip_markers(u) for u in fresh)
            body = " ".join(fresh) if fresh else (
                f"Tentang “{question.rstrip(' ?')}?”: yang saya temukan dalam dokumen sama dengan jawaban di atas.")
        if draft.abstained:
            reason = body[len(ABSTAIN_TEXT):].strip() if body.startswith(ABSTAIN_TEXT) else body
            body = f"Tentang “{question.rstrip(' ?')}?”: informasinya tidak ada dalam dokumen yang saya miliki."
            body += f" {reason}" if reason else ""
        texts.append(body)
        flags += [f for f in draft.flags if f not in flags]
    return Draft(text="\n\n".join(texts), abstained=all(d.abstained for _, d in parts),
                 citations=sorted(cites.values(), key=lambda c: c.n), conflict=any(d.conflict for _, d in parts),
                 flags=flags, evidence=max((d.evidence for _, d in parts), default=0.0))
