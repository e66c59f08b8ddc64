"""Extractive answers: pick the sentences of the top chunks that answer the question, cite each one.

Why extractive: on 2 cores no local LLM is both grounded and fast (see README), and an extractive answer can
only say what the documents say. The pieces:

* **Sentence scoring** — coverage of the question's content words (stemmed, weighted by rarity in the
  retrieved chunks) in the sentence and its section heading, the retrieval rank of its chunk, and a bonus when
  the sentence holds the kind of value the question asks for (a year for *kapan*, a number for *berapa* …).
* **Abstention** — an evidence score from the best chunk's dense similarity and the share of the question's
  content words the top chunks contain; below ``abstain_threshold`` (calibrated on the gold questions, see
  ``evals/calibrate_abstain.py``) the assistant says it does not know. When the best sentence is itself a statement
  that the documents do not know something, the answer says so too, with that sentence cited.
* **Conflicts** — when strong sentences from different chunks give different values of the asked kind, or a
  selected sentence says that sources differ, the answer is flagged and says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from assistant.answer.base import ABSTAIN_TEXT, Answerer, Draft
from assistant.answer.guard import instruction_flags
from assistant.models import Citation, ScoredChunk
from assistant.text import (
    CONTEXT_ACRONYMS,
    SET_ASIDE,
    content_terms,
    counts_of,
    fold,
    is_indonesian_word,
    split_sentences,
    stem,
    stop_words,
    tokenize,
    words,
)

_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_NUMBER = re.compile(r"\b\d[\d.,]*\b")
_MONTHS = r"(?:januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|desember)"
_DATE_WORDS = re.compile(rf"\b({_MONTHS})\b", re.I)
# The day of a date ("31 Oktober", "26–28 September", "30/31 Oktober", "30 atau 31 Oktober") is no count:
# "58 kota … Hari Kota Sedunia (31 Oktober)" gave "sources differ: 58 and 31" for "berapa kota ditetapkan 2025?".
_DAY_OF_MONTH = re.compile(
    rf"\b\d{{1,2}}(?:\s*(?:[–/-]|atau|dan|hingga|sampai)\s*\d{{1,2}})?(?=\s+{_MONTHS}\b)", re.I)
# The unit a count is asked in: "berapa kota", "tiap berapa tahun", "berapa banyak subsektor". Not "(berapa)
# jumlah anggota": that names the thing counted, and the answer may count it in another noun ("408 kota").
_COUNT_Q = re.compile(r"\b(?:berapa|berapakah|brp)\s+(?:banyak\s+)?([a-z]+)")
_DURATIONS = frozenset({"tahun", "bulan", "minggu", "hari", "jam"})
# How often ("MMR dikirim tiap berapa tahun?", "konferensinya berapa tahun sekali?"): the answer states a
# recurrence ("setiap empat tahun", "empat tahun sekali", "tahunan"), not just any count of years.
_FREQUENCY_Q = re.compile(r"\b(?:tiap|setiap|per) berapa\b|\bberapa (?:\w+ )?sekali\b|\bseberapa sering\b|"
                          r"\bberapa kali (?:dalam|per|se)")
_FREQUENCY = re.compile(r"\b(?:tiap|setiap|per)\s+(?:\w+\s+)?(?:tahun|bulan|minggu|hari)\b|"
                        r"\b(?:tahun|bulan|minggu|hari) sekali\b|\btahunan\b|\bsetahun sekali\b", re.I)
# A person's name for *siapa*: a capitalised run with a word that is no Indonesian root word ("Teuku Riefky
# Harsya", "Presiden Prabowo"), not an institution or a place made of ordinary words ("Kabinet Merah Putih",
# "Kementerian Ekonomi Kreatif") nor one introduced as a place ("Kota Surakarta").
_CAPITAL_RUN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
_PLACE_WORDS = frozenset({"kota", "kabupaten", "provinsi", "pulau", "kepulauan", "negara", "gedung", "taman",
                          "museum", "balai", "balaikota", "universitas", "desa", "jalan", "hotel"})
# "Apa benar …?", "Benarkah …?": the question asks whether a claim holds, so a statement that it is not
# confirmed ("belum terverifikasi") is the answer itself, not a caveat to put after other facts.
_VERIFY_Q = re.compile(r"\b(?:apa(?:kah)? (?:benar|betul|bener)|benarkah|betulkah|bener (?:gak|nggak|ga|tidak)|"
                       r"benar (?:tidak|nggak|gak|ga)|hoax|hoaks|resmi (?:bukan|gak|nggak|tidak))\b|\bbukan\s*\?*\s*$")
# A claim the documents found unconfirmed: for "Apa benar …?" / "… resmi bukan?" that is the answer, not a gap.
_UNCONFIRMED = re.compile(r"belum (?:terverifikasi|diverifikasi|dikonfirmasi|terkonfirmasi)|tidak terkonfirmasi|"
                          r"tidak ditemukan (?:dalam|di) sumber resmi", re.I)
_UNKNOWN = re.compile(
    r"(?:belum|tidak) ada (?:pula |juga |lagi )?informasi|belum diketahui|tidak diketahui|belum diumumkan|"
    r"tidak ditemukan|belum (?:ada )?(?:sumber|data) (?:resmi|yang)|"
    r"tidak (?:ada|tersedia) (?:dalam )?(?:dokumen|sumber)|"
    r"(?:tidak|belum) (?:ada|tercatat|tercantum|disebut(?:kan)?|dimuat|termuat) (?:dalam|di) (?:dokumen|sumber)|"
    r"tidak menemukan (?:aturan|informasi|data)|(?:belum|tidak) (?:dapat|bisa) (?:dipastikan|memastikan)|"
    r"belum (?:terverifikasi|diverifikasi|dikonfirmasi)|belum terkonfirmasi|tidak terkonfirmasi", re.I)
# A finding that no such rule exists ("Dokumen ini tidak menemukan aturan tertulis yang mewajibkan …", "tidak
# ditemukan kisi-kisi skor berangka"). To a yes/no question ("wajib gak …?", "pakai skor angka?", "cuma buat kota
# besar ya?") that is the answer — no such requirement is documented — not a gap in the documents.
_NO_RULE_FOUND = re.compile(r"tidak (?:ditemukan|menemukan) (?:\w+ ){0,2}(?:aturan|ketentuan|kisi-kisi|larangan|"
                            r"syarat|kewajiban|skor)", re.I)
# A question asking for a value or a list has one of these; a yes/no question has none ("apakah" and a leading
# "apa" before a modal — "Apa harus …?" — ask yes or no).
_WH_WORD = re.compile(r"\b(?:siapa|kapan|berapa|brp|bagaimana|gimana|gmn|mengapa|kenapa|di ?mana|dimanakah|mana|"
                      r"apa saja|apa aja|"
                      r"apa(?! (?:harus|wajib|boleh|bisa|perlu|ada|benar|betul|memang|sudah|masih)\b))\b")
# "nomor SKB-nya berapa?", "nomor berapa": an identifier is asked; only a sentence giving one ("Nomor 24",
# "24/2022", "misi 3", "Pasal 9") answers it, and a sentence about the decree without its number does not.
_IDENT_Q = re.compile(r"\bnomor(?:nya)?(?:\s+\S+){0,8}?\s+(?:berapa|brp)\b|\b(?:berapa|brp)\s+nomor(?:nya)?\b|"
                      r"\b(?:minta|mohon|butuh|perlu|cari)\s+(?:info\s+)?nomor(?:nya)?\b")
_IDENT = re.compile(r"\b(?:nomor|no\.?)\s*\d|\b\d{1,4}\s*/\s*\d{4}\b|\b(?:misi|pasal|butir|poin|ayat|bab)\s+\d", re.I)
_NO_INFO = re.compile(r"(?:belum|tidak) ada (?:pula |juga |lagi )?informasi|(?:belum|tidak) diketahui", re.I)
_CONFLICT = re.compile(
    r"berbeda|tidak sama|tidak konsisten|selisih|bertentangan|versi lain|sumber lain menyebut|simpang siur|"
    r"perbedaan angka|angka yang berbeda", re.I)
# "daftar" is a list only as a noun ("daftar kota …"); "boleh daftar UCCN?" is the verb *to register*. Steps
# ("langkah", "tahapan", "caranya", "mulai dari mana") are answered by the numbered list of them, whole.
_LIST_Q = re.compile(r"\b(apa saja|apa aja|siapa saja|siapa aja|mana saja|mana aja|sebutkan|sebutin|sebut|"
                     r"apa-apa saja|bagian-bagian|syarat|lampiran|dokumen apa|langkah|langkah-langkah|tahapan|"
                     r"prosedur|urutan|caranya|bagaimana cara|gimana cara|mulai dari mana)\b|^daftar\b|"
                     r"\bdaftar (?:nama|kota|kabupaten|daerah|anggota|lengkap)\b")
# Words that ask for the exact or complete value ("persisnya", "tepatnya", "lengkapnya"): a document saying that
# exact value is not known answers such a question better than an approximate figure.
_PRECISE_Q = re.compile(r"\b(?:persis|pasti|tepat|rinci|lengkap|resmi)(?:nya)?\b")
_POINTER = re.compile(r"\b(?:dijelaskan|dibahas|diuraikan|dirinci|lihat|tercantum)\s+(?:lebih lanjut\s+)?"
                      r"(?:dalam|di)\s+dokumen\b", re.I)
# A sentence that only sends the reader elsewhere ('Lihat "Panduan mendaftar UCCN".') is never an answer, however
# many of the question's words its title repeats: it is not a candidate at all.
_SIGNPOST = re.compile(r"^\s*lihat\b", re.I)
# Nor is a sentence that describes the document itself ("Panduan ini merangkum cara mendaftar ke UCCN."): it
# repeats the words of every question about its topic and answers none ("Dokumen ini tidak menemukan aturan …"
# is a finding, and stays).
_OVERVIEW = re.compile(r"^\s*(?:dokumen|panduan|glosarium|faq|halaman|bagian|ringkasan) ini (?:menjelaskan|"
                       r"merangkum|membahas|berisi|memuat|menguraikan|menyajikan|mengumpulkan)\b", re.I)
# "Mengapa …?", "… karena apa?", "dasarnya apa?", "kok bisa …?": the answer states a cause or a basis.
_REASON_Q = re.compile(r"\b(?:mengapa|kenapa|knp|karena apa|sebab apa|alasan(?:nya)?|dasar(?:nya)? apa|atas dasar apa|"
                       r"kok bisa|apa sebabnya|apa dasarnya)\b")
_REASON = re.compile(r"\b(?:karena|sebab|disebabkan|alasan(?:nya)?|berbasis|berdasarkan|didasarkan|atas dasar|"
                     r"lantaran|akibat)\b", re.I)
# Items of one list an answer quotes at most: a whole enumeration ("17 subsektor", 16 sections of a form) is the
# answer to "sebutkan …"; cut at 10 it lost the last seven subsectors. Beyond this a list is a document to read.
LIST_ITEMS = 20
DENSE_PRIOR = 0.1  # weight of the chunk's own dense similarity in a sentence's score (see _candidates)
SCENE_WEIGHT = 0.3  # share of a term's weight when only a scene-setting sentence of the question uses it
_MARKUP = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#+\s+|>\s+)")
_POINTS_BACK = re.compile(r"\b(?:beliau|dia|mereka|tersebut|namanya|orangnya)\b", re.I)
_HONORIFICS = frozenset({"pak", "bapak", "bu", "ibu", "mas", "mbak", "kak", "bang", "bung"})
# A run of capitalised words as the user wrote them ("Kota Medan", "Korea Selatan", "UMK").
_NAME_RUN = re.compile(r"\b[A-Z][A-Za-z]{2,}(?:\s+[A-Z][A-Za-z]{2,})*\b")
# What may precede a sentence's first word: earlier sentences, spaces, an opening quote or bracket.
_SENTENCE_START = re.compile(r"(?:.*[.!?:]\s*)?[\s\"'(]*", re.S)
# Questions about how things are done, whose answer holds for any city: "Bagaimana cara Kabupaten Sleman
# mendaftar?" is answered by the general rules even when the documents never name Sleman.
_PROCEDURE_Q = re.compile(r"\b(?:cara|caranya|bagaimana|gimana|langkah|prosedur|tahapan|syarat|persyaratan|"
                          r"persiapan|siapkan|disiapkan|boleh|bolehkah|bisa|bisakah|dapatkah|perlu|harus)\b")


def unknown_names(question: str, terms: set[str] | None, idf: Callable[[str], float] | None) -> list[str]:
    """Names in the question (capitalised runs) with a word the index has never seen, after typo correction.

    Why: "Surabaya kota kreatif UNESCO bidang apa?" shares "kota kreatif UNESCO bidang" with the Surakarta
    chunk, so coverage-based evidence passes and the answer was about Surakarta. A name the documents never
    use means they say nothing about it, whatever else matches. ``idf`` gives a never-seen term the highest
    value (see ``BM25Index.idf``); ``terms`` are the corrected question terms, so a misspelt known name
    ("Pekalongn") was mapped to the indexed one and is not reported. A sentence's first word is capitalised
    anyway: it counts only when neither it nor its stem is an ordinary Indonesian word ("Alur program …",
    "Keberapa …" name nothing).
    """
    if idf is None or terms is None:
        return []
    unseen = idf("\x00")  # a term no index contains: the value every never-seen term gets
    out = []
    # Only the asking sentences: a name in the scene ("Biar Pak Bupati ga kaget", "Kasubbag perencanaan nanya",
    # "… buat usulan SOTK") is who asks or why, not what the documents must know.
    runs = [(sentence, m) for sentence in _asking_sentences(question) for m in _NAME_RUN.finditer(sentence)]
    for sentence, m in runs:
        run = m.group(0).split()
        if _SENTENCE_START.fullmatch(sentence[: m.start()]) and is_indonesian_word(run[0]):
            run = run[1:]  # "Keberapa …", "Sebutkan …": an ordinary word, or one derived from it
        while run and fold(run[0]) in _HONORIFICS:
            run = run[1:]  # "Pak Kadis", "Bu Sekda": the title is the name, if any
        if not run or all(fold(w) in CONTEXT_ACRONYMS for w in run):
            continue  # "ke DPRD", "naskah RPJMD": where the answer will be used, not what it is about
        toks = [t for w in run for t in tokenize(w)]
        if any(t in terms and not t.isdigit() and idf(t) >= unseen for t in toks):
            out.append(" ".join(run))
    return out


def uninterpretable_terms(question: str, terms: set[str], idf: Callable[[str], float]) -> set[str]:
    """Never-seen question terms that are no Indonesian word and no part of a name: chat forms, English words,
    leftover typos ("rapihin", "layout", "tebelnya", "timeline").

    Why: the evidence score gives a never-seen word the top weight, so that "cuaca" or "Kota Medan" (a topic the
    documents lack) sink it. Chat filler is no topic, yet a long informal question ("… boleh kami ubah layout-nya?
    mau kami rapihin pakai template sendiri") sank below the threshold on it: 8 of 40 answerable questions of a
    fresh focal-point set abstained. These terms get an ordinary weight instead; names the index never saw ("NIB",
    "OSS", "Filipina") and unseen dictionary words keep theirs.
    """
    unseen = idf("\x00")
    names = {t for n in unknown_names(question, terms, idf) for t in tokenize(n)}
    asked = set(tokenize(" ".join(_asking_sentences(question))))
    return {t for t in terms
            if idf(t) >= unseen and not t.isdigit() and t not in names
            and (not is_indonesian_word(t) or t not in asked)}


_ASKS = re.compile(r"\?|\b(?:apa|apakah|siapa|kapan|berapa|brp|bagaimana|gimana|gmn|mengapa|kenapa|mana|dimana|"
                   r"boleh|bisa|bisakah|perlu|harus|wajib)\b", re.I)
_PURPOSE = re.compile(r"^\s*(?:biar|supaya|agar|untuk|buat|soalnya|karena|krn)\b", re.I)


def _scene_terms(question: str) -> set[str]:
    """Terms only the scene-setting sentences of ``question`` use (see :func:`_asking_sentences`)."""
    asking = " ".join(_asking_sentences(question))
    if len(asking) >= len(question.strip()):
        return set()
    return set(tokenize(question)) - set(tokenize(asking))


def _asking_sentences(question: str) -> list[str]:
    """See :func:`_asking_parts` (memoised there: the evidence, the unknown names and the sentence scoring of one
    answer all ask)."""
    return list(_asking_parts(question))


@lru_cache(maxsize=256)
def _asking_parts(question: str) -> tuple[str, ...]:
    """The sentences of a message that ask; the others set the scene ("minggu depan tim uji petik mau datang ke
    kabupaten kami.", "… biar tim kami bisa latihan jawab").

    Why: a dictionary word the documents never use sinks the evidence when it is what is asked about ("cuaca"),
    but in a sentence that only tells the situation ("minggu", "latihan") it says nothing about whether the
    documents answer, and a long, polite message abstained where its short form was answered. Words the index
    lacks there get the ordinary weight of :func:`uninterpretable_terms`, and every word only the scene uses
    weighs ``SCENE_WEIGHT`` in the evidence and in sentence choice (:func:`_scene_terms`). A one-sentence message
    is all question, and so is one whose question points back into the scene ("nama beliau?")."""
    text = question.strip()
    parts = []
    for a, b in split_sentences(text):
        # A short lead-in before a colon sets the scene too: "Buat bahan sambutan Pak Wali: UCCN itu …?"
        lead, colon, rest = text[a:b].partition(": ")
        if colon and rest.strip() and len(lead.split()) <= 8 and not _ASKS.search(lead):
            parts += [lead + ":", rest]
        elif text[a:b].strip():
            parts.append(text[a:b])
    if len(parts) <= 1:
        return tuple(parts)
    asking = [p for p in parts if _ASKS.search(p) and not _PURPOSE.match(p)]
    if any(_POINTS_BACK.search(p) for p in asking):
        return tuple(parts)  # "… ke Direktur Fasilitasi Infrastruktur. Boleh tau nama beliau?": the scene names it
    return tuple(asking or parts)


def unanswerable_names(question: str, terms: set[str] | None, idf: Callable[[str], float] | None) -> list[str]:
    """The :func:`unknown_names` that make the question unanswerable: all of them, unless it asks how something
    is done (the general rules answer that for any city). Any answerer abstains on these without looking further
    (the LLM one without calling the model)."""
    names = unknown_names(question, terms, idf)
    return names if names and not asks_how(question) else []


def asks_how(question: str) -> bool:
    """A question about a procedure or a rule ("cara", "syarat", "boleh …?"), answerable for any city."""
    return bool(_PROCEDURE_Q.search(fold(question)))


def excluded_terms(question: str) -> set[str]:
    """Terms of what the question sets aside ("kota lain selain Malang", "selain Ambon dan Solo"): a sentence
    about those does not answer it, so they earn no coverage and cost a little."""
    m = SET_ASIDE.search(question)
    return set(tokenize(m.group(1))) if m else set()


def _join(names: list[str]) -> str:
    """Indonesian enumeration: "A", "A dan B", "A, B, dan C"."""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + (", dan " if len(names) > 2 else " dan ") + names[-1]


def count_unit(question: str) -> frozenset[str]:
    """Stems of the unit a *berapa* question counts in ("berapa kota" → {"kota"}; "berapa lama" → durations), or
    empty when it names none ("Anggaran 2025 berapa?")."""
    m = _COUNT_Q.search(fold(question))
    if not m:
        return frozenset()
    word = m.group(1)
    if word == "lama":
        return _DURATIONS
    if word == "jumlah" or word in stop_words():
        return frozenset()
    return frozenset(stem(w) for w in words(word))


def question_type(question: str) -> str:
    q = fold(question)
    if re.search(r"\b(kapan|tahun berapa|tanggal berapa|sejak kapan|bulan apa|tgl|thn)\b", q):
        return "date"
    if re.search(r"\b(berapa|jumlah|berapakah|brp|banyak)\b", q):
        return "number"
    if re.search(r"\b(siapa|siapakah|sapa)\b", q):
        return "person"
    if re.search(r"\b(di ?mana|dimanakah|kota apa|mana saja|tempat)\b", q):
        return "place"
    if _REASON_Q.search(q):
        return "reason"
    return "general"


def _has_type(sentence: str, qtype: str, given: frozenset[str] = frozenset()) -> bool:
    """Whether ``sentence`` holds a value of the asked kind. ``given``: numbers the question itself names — the
    "2025" of "Kapan penetapan KaTa Kreatif 2025?" is not an answer to *kapan*, a date is."""
    if qtype == "date":
        return bool(set(_YEAR.findall(sentence)) - given or _DATE_WORDS.search(sentence))
    if qtype == "number":
        return bool({v.rstrip(".,") for v in _NUMBER.findall(_DAY_OF_MONTH.sub(" ", sentence))} - given)
    if qtype == "person":
        return any(run.split()[0].lower() not in _PLACE_WORDS and not all(is_indonesian_word(w) for w in run.split())
                   for run in _CAPITAL_RUN.findall(sentence))
    if qtype == "place":
        return bool(_CAPITAL_RUN.search(sentence))
    if qtype == "reason":
        return bool(_REASON.search(sentence))
    return False


def _values(sentence: str, qtype: str, given: frozenset[str] = frozenset()) -> set[str]:
    """The values of the asked kind a sentence gives, minus those the question names itself ("… 2027?" is not
    disagreed with by a sentence that merely repeats 2027). Days of dates are no counts ("31 Oktober").

    Counts of the asked unit (:func:`counts_of`) are not what is compared: tried on the gold set, they made
    different facts in one unit look like a dispute ("tujuh bidang" until 2025 and "delapan bidang" since;
    "58 kota baru" and "lima kota pertama" of Architecture)."""
    if qtype == "date":
        return set(_YEAR.findall(sentence)) - given
    if qtype == "number":
        found = _NUMBER.findall(_DAY_OF_MONTH.sub(" ", sentence))
        return {v.rstrip(".,") for v in found if not _YEAR.fullmatch(v.rstrip(".,"))} - given
    return set()


def clean_sentence(text: str) -> str:
    """Drop Markdown list/heading markers and emphasis so a quote reads as prose."""
    text = _MARKUP.sub("", text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return " ".join(text.split())


@dataclass
class _Candidate:
    hit_rank: int
    position: int
    text: str
    score: float
    hit: ScoredChunk
    cover: float = 0.0
    lead: str = ""  # the lead-in sentence of a list item ("Lampiran wajib:"), shown once before its items
    unknown: bool = False  # says the documents do not know something (itself or through its lead-in)


@dataclass
class _Query:
    """What sentence scoring needs to know about the question, worked out once per answer."""

    qtype: str
    weight: dict[str, float]  # content term → weight (rarity)
    total: float
    years: set[str]
    numbers: frozenset[str]
    excluded: set[str]  # terms of what "selain …" sets aside
    # The unit a count is asked in ("berapa kota"), kept only when some retrieved chunk gives a count of it:
    # otherwise ("berapa kontribusi …?" answered by "7,38%") any number is the asked kind of value.
    unit: frozenset[str] = frozenset()
    verify: bool = False  # "Apa benar …?": an "unconfirmed" statement answers it
    frequency: bool = False  # "tiap berapa tahun?": a stated recurrence answers it
    yesno: bool = False  # no question word: a documented "no such rule" answers it (see _NO_RULE_FOUND)
    ident: bool = False  # "nomor SKB-nya berapa?": only a sentence giving a number or an id answers it

    @classmethod
    def of(cls, question: str, hits: list[ScoredChunk], terms: set[str] | None,
           idf: Callable[[str], float] | None) -> _Query:
        excluded = excluded_terms(question)
        q_terms = (terms if terms is not None else content_terms(question)) - excluded
        # Rarer question words weigh more: rarity in the whole index when known ("2027", "iuran" decide what
        # the question is about), else rarity among the retrieved chunks.
        if idf is not None:
            weight = {t: idf(t) for t in q_terms}
        else:
            docs_terms = [set(tokenize(h.chunk.text)) for h in hits]
            weight = {t: 1.0 + math.log((1 + len(hits)) / (1 + sum(t in d for d in docs_terms))) for t in q_terms}
        # Words only the scene-setting sentences use ("UCCN sekarang punya berapa bidang? katanya 7", "Kami di
        # Bappeda …") say less about which sentence answers than the asking ones: "7" pulled "tujuh bidang"
        # (until 2025) ahead of the eight fields of today.
        scene = _scene_terms(question)
        weight = {t: w * (SCENE_WEIGHT if t in scene else 1.0) for t, w in weight.items()}
        asking = " ".join(_asking_sentences(question))
        qtype = question_type(question)
        unit = count_unit(question) if qtype == "number" else frozenset()
        if unit and not any(counts_of(h.chunk.text, unit) for h in hits):
            unit = frozenset()
        # The years a question asks about are in its asking sentences: "Kota kami baru ditetapkan tahun 2025.
        # Laporan MMR pertama harus masuk tahun berapa?" asks for a year after 2025, not about 2025.
        return cls(qtype, weight, sum(weight.values()) or 1.0, set(_YEAR.findall(asking)),
                   frozenset(v.rstrip(".,") for v in _NUMBER.findall(question)), excluded, unit,
                   bool(_VERIFY_Q.search(fold(question))), bool(_FREQUENCY_Q.search(fold(question))),
                   not _WH_WORD.search(fold(question)), bool(_IDENT_Q.search(fold(question))))

    def answers_kind(self, text: str) -> bool:
        """Whether a sentence holds the kind of value asked for: a count of the asked unit when the question
        names one ("408 kota" for "berapa kota"), a recurrence when it asks how often ("setiap empat tahun"), else
        what :func:`_has_type` accepts (a date for *kapan*)."""
        if self.frequency:
            return bool(_FREQUENCY.search(text))
        if self.unit:
            return bool(counts_of(text, self.unit) - self.numbers)
        return _has_type(text, self.qtype, self.numbers)

    def names_year(self, text: str) -> bool:
        """The sentence names a year the question asks about (true when it asks about none)."""
        return not self.years or bool(self.years & set(_YEAR.findall(text)))

    def cover(self, terms: set[str]) -> float:
        """Weighted share of the question's terms found in ``terms``."""
        return sum(w for t, w in self.weight.items() if t in terms) / self.total

    def adjustment(self, text: str, terms: set[str], cover: float) -> float:
        """Bonuses and penalties on top of coverage: the asked kind of value, a stated disagreement, signposts,
        what the question sets aside, and sentences about other years only."""
        delta = 0.0
        if self.frequency:
            delta += 0.12 if self.answers_kind(text) else 0.0
        elif self.qtype != "general" and _has_type(text, self.qtype, self.numbers):
            # A count of the asked unit is the answer; other numbers ("misi 3", "2 surat") only may be.
            delta += 0.04 if self.unit and not self.answers_kind(text) else 0.12
        if _CONFLICT.search(text) and cover > 0:
            delta += 0.04
        if _POINTER.search(text):
            delta -= 0.2  # "… dijelaskan dalam dokumen X": a signpost, not an answer
        if terms & self.excluded:
            delta -= 0.2  # about what "selain Malang" sets aside: not an answer, whatever else it covers
        # About other years only: "sosialisasi 2021" does not answer "panggilan 2027". A list item's own years
        # count, not its lead's: "Sebelum Creative Cities Connect 2025 …: lokakarya 13 Juni 2019" is about 2019.
        if self.years and _YEAR.search(text) and not self.years & set(_YEAR.findall(text)):
            delta -= 0.1
        return delta


class ExtractiveAnswerer(Answerer):
    """Default answerer: no LLM, every sentence is a quote with a citation."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, context_chunks: int = 4, abstain_threshold: float = 0.425) -> None:
        self.max_sentences = max_sentences
        self.context_chunks = context_chunks
        self.abstain_threshold = abstain_threshold

    # -- evidence --------------------------------------------------------------------------------------
    @staticmethod
    def evidence(question: str, hits: list[ScoredChunk], idf: Callable[[str], float] | None = None,
                 terms: set[str] | None = None) -> float:
        """How well the retrieved chunks cover the question, in [0, 1]; the abstain decision uses it.

        Mostly the share of the question's content words (weighted by their rarity in the whole index, so a
        word the documents never use — "Medan", "cuaca" — weighs most, unless it is chat or English filler:
        :func:`uninterpretable_terms`) found in one of the best three chunks, plus the best dense similarity mapped
        from e5's compressed cosine range.
        """
        if not hits:
            return 0.0
        q = terms if terms is not None else content_terms(question)
        weight = {t: (idf(t) if idf else 1.0) for t in q}
        if idf is not None:
            weight.update(dict.fromkeys(uninterpretable_terms(question, q, idf), 1.0))
        scene = _scene_terms(question)
        weight = {t: w * (SCENE_WEIGHT if t in scene else 1.0) for t, w in weight.items()}
        total = sum(weight.values())
        cover = 0.0
        if total > 0:
            for h in hits[:3]:
                terms = set(tokenize(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}"))
                cover = max(cover, sum(w for t, w in weight.items() if t in terms) / total)
        best_dense = max((h.dense for h in hits[:3] if h.dense is not None), default=None)
        if best_dense is None:  # BM25-only mode: lexical evidence alone
            return cover
        dense_part = min(1.0, max(0.0, (best_dense - 0.80) / 0.12))
        return 0.35 * dense_part + 0.65 * cover

    # -- answering -------------------------------------------------------------------------------------
    def answer(self, question: str, hits: list[ScoredChunk], idf: Callable[[str], float] | None = None,
               terms: set[str] | None = None) -> Draft:
        """``terms``: the question's content terms after typo correction (defaults to plain tokenisation)."""
        evidence = self.evidence(question, hits, idf, terms)
        # Checked first, so that the abstention names what is missing whatever the evidence score says.
        names = unknown_names(question, terms, idf)
        if names and not asks_how(question):  # = unanswerable_names, without finding the names twice
            return Draft(f"{ABSTAIN_TEXT} Dokumen yang saya miliki tidak memuat nama {_join(names)} sama sekali.",
                         abstained=True, evidence=evidence, flags=["unknown_name"])
        if not hits or evidence < self.abstain_threshold:
            return Draft(ABSTAIN_TEXT, abstained=True, evidence=evidence, flags=["weak_evidence"])
        context = hits[: self.context_chunks]
        q = _Query.of(question, context, terms, idf)
        cands = self._candidates(q, context)
        if not cands:
            return Draft(ABSTAIN_TEXT, abstained=True, evidence=evidence, flags=["no_sentence"])
        wants_list = bool(_LIST_Q.search(fold(question)))
        chosen = self._select(cands, wants_list=wants_list, qtype=q.qtype)
        if q.years and q.qtype != "date" and not any(q.names_year(f"{c.lead} {c.text} {c.hit.chunk.section}")
                                                     for c in chosen):
            # "Tuan rumah konferensi tahun 2027 udah ditentuin?" was answered with 2026's host: when no chosen
            # sentence (nor its section) names the year asked, the documents say nothing about that year. Not for
            # *kapan*: there the year may be the asker's guess ("Kapan UCCN dibentuk, tahun 1999?" → 2004).
            return Draft(f"{ABSTAIN_TEXT} Dokumen yang saya miliki tidak memuat informasi untuk tahun "
                         f"{_join(sorted(q.years))}.", abstained=True, evidence=evidence, flags=["year_not_found"])
        if q.ident and not any(_IDENT.search(c.text) for c in chosen):
            # "nomor SKB … berapa?" answered with what the SKB says but not its number: the number is what the
            # asker needs (for a regulation's preamble, say), and the documents do not give it.
            draft = self._render(chosen, None, q, evidence)
            return Draft(f"{ABSTAIN_TEXT} Dokumen yang saya miliki tidak memuat nomor yang ditanyakan; yang tercatat: "
                         f"{draft.text}", abstained=True, citations=draft.citations, evidence=evidence,
                         flags=["number_not_found"])
        pair = self._conflict_pair(q, chosen, cands)
        if pair is None and not any(_CONFLICT.search(c.text) for c in chosen):
            said = self._said_unknown(chosen[0], cands, wants_list, bool(_PRECISE_Q.search(fold(question))), q)
            if said is not None:
                chosen = [said]
        for c in pair or ():
            if c not in chosen:
                chosen.append(c)
        draft = self._render(chosen, pair, q, evidence)
        if names and not draft.abstained:  # a procedure: the general rules answer it, but say what is missing
            draft.text = (f"Dokumen yang saya miliki tidak memuat nama {_join(names)}; yang berlaku umum sebagai "
                          f"berikut. {draft.text}")
            draft.flags.append("unknown_name")
        return draft

    @staticmethod
    def _said_unknown(best: _Candidate, cands: list[_Candidate], wants_list: bool, precise: bool,
                      q: _Query) -> _Candidate | None:
        """The sentence saying the documents do not know what is asked, when it answers the question best.

        The documents often say outright that something is not known ("belum ada informasi resmi …"); quoting
        that (and abstaining) is more honest than quoting a nearby fact about another year or another fee. It
        decides the answer when it is the best sentence — except for list questions, where one unknown aspect
        ("apakah kehadiran wajib …") does not answer "kewajiban apa saja?" — or when it covers the question
        clearly better than the best one, or, for a question asking the exact value ("persisnya"), as well.
        It does not decide when the documents do say something to the point: a known fact about as strong (but
        a fact about another year than the one asked, "PDB 2019 …" for "PDB 2024?", does not count), or a
        sentence of the same passage saying the sources disagree — "uncertain because sources conflict" is an
        answer to give with its facts, not an abstention. Nor, when the question asks for a count in a unit or for a
        recurrence, against a best sentence giving exactly that ("setiap empat tahun" for "tiap berapa tahun?"):
        a statement that some other detail is unknown ("tenggat penyerahan MMR") does not hold such a value.
        """
        years = q.years

        def names_years(c: _Candidate) -> bool:
            return years <= set(_YEAR.findall(f"{c.lead} {c.text}"))

        if years and not names_years(best):
            # "… 2025 masih wajib …?": the 2017–2019 rule scoring a hair above the 2025 statement is no answer
            # for 2025; the best sentence about the year asked is what the "not known" statement must beat.
            best = max((c for c in cands if names_years(c)), key=lambda c: c.score, default=best)

        # "Not known" about another thing ("tenggat penyerahan MMR" for "panggilan 2025 lewat mana?") says
        # nothing about a question that names a year the statement does not.
        unknowns = [c for c in cands if c.unknown and names_years(c)]
        rival = any(not c.unknown and c.score >= 0.95 * best.score and names_years(c) for c in cands)
        disputed = any(c.hit is best.hit and c.score >= 0.7 * best.score and _CONFLICT.search(c.text)
                       for c in cands)
        if best in unknowns and (precise or (not wants_list and not rival and not disputed)):
            return best
        if (q.unit or q.frequency) and q.answers_kind(best.text):
            unknowns = [c for c in unknowns if q.answers_kind(c.text)]
        said = [c for c in unknowns if c.score >= 0.7 * best.score and c.cover > best.cover + 0.1]
        if precise:
            said += [c for c in unknowns if c.score >= 0.9 * best.score and c.cover >= best.cover]
        return max(said, key=lambda c: c.score) if said else None

    @staticmethod
    def _reading_order(chosen: list[_Candidate], q: _Query) -> list[_Candidate]:
        """The answer first, the other sentences after it in retrieval and document order.

        Document order throughout opened many answers with context from the top chunk and gave the answer
        second; a reader, and a focal point copying the first line, wants the answer first (gold set,
        ``key_fact_lead``: a key fact in the first cited sentence 0.602 → 0.662). The answer is the
        best-scoring sentence (``chosen[0]``), with three corrections:

        * facts before caveats: a sentence saying the documents do not know something follows the facts chosen
          beside it (when it alone answers, :meth:`_said_unknown` made it the whole answer) — except that when
          the question asks whether a claim is true ("Apa benar …?"), "belum terverifikasi" is the verdict and
          leads;
        * a *kapan* or *berapa* question that names a year is led by a sentence naming that year ("Kapan batas
          akhir aplikasi 2025?" → "31 Januari 2025 … 3 Maret 2025", not a rule dated 2017–2019; "tenaga kerja
          tahun 2024?" → the 2024 figure, not 2015's);
        * among those, a *kapan* question is led by the best sentence holding a date, a *siapa* question by the
          best one naming a person (not "Kementerian Ekonomi Kreatif lahir bersama Kabinet Merah Putih" before
          the sentence naming the minister), a *berapa <unit>* question by the best one giving a count of that
          unit ("Berapa kota …?" → "… 408 kota"). Any number was too loose a test for *berapa*: it put "Asta
          Cita poin 3" ahead of the count asked for.

        A list stays in its own order and together: its items read as one passage, whichever item scored best.
        """
        if not chosen:
            return chosen
        in_order = sorted(chosen, key=lambda c: (c.hit_rank, c.position))
        best = chosen[0]
        if best.lead and any(c is not best and c.hit is best.hit and c.lead == best.lead for c in chosen):
            return in_order
        unknown = [c for c in chosen if c.unknown]
        known = [c for c in chosen if not c.unknown]
        pool = (unknown + known) if q.verify else known or chosen  # the verdict first, or the facts first
        if q.qtype in ("date", "number"):
            pool = [c for c in pool if q.names_year(c.text)] or pool  # "… tahun 2024?": not the 2015 figure
        # Any number, or any capitalised run, was too loose a test of the asked kind (see above).
        steer = q.qtype in ("date", "person") or bool(q.unit)
        best = next((c for c in pool if steer and q.answers_kind(c.text)), pool[0])
        if best.lead:  # a list item leading: the rest of its list right after it, in order
            rest = sorted((c for c in chosen if c is not best),
                          key=lambda c: (c.hit is not best.hit or c.lead != best.lead, c.hit_rank, c.position))
            return [best, *rest]
        return [best, *(c for c in in_order if c is not best)]

    def _render(self, chosen: list[_Candidate], pair: tuple[_Candidate, _Candidate] | None, q: _Query,
                evidence: float) -> Draft:
        """Cited answer text from the chosen sentences; chunks are numbered in order of first use."""
        # Abstain-with-citation only when every chosen sentence says the documents do not know; but "Apa benar
        # …?" / "… resmi bukan?" is answered by "belum terkonfirmasi": a verdict on the claim, not a gap.
        unknown = all(c.unknown for c in chosen)
        if unknown and any(_UNCONFIRMED.search(c.text) and (q.verify or q.yesno and not _NO_INFO.search(c.text))
                           for c in chosen):
            # ("… jadinya di Istanbul gak sih?" → "belum terkonfirmasi" is the verdict as well; but not "belum ada
            # informasi resmi tentang biaya …, sehingga klaim … pun belum terkonfirmasi": that is a gap)
            unknown = False
        chosen = self._reading_order(chosen, q)
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        quotes: dict[str, list[str]] = {}
        parts: list[str] = []
        leads_shown: set[tuple[str, str]] = set()
        for c in chosen:
            cid = c.hit.chunk.chunk_id
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

        stated = any(_CONFLICT.search(c.text) for c in chosen)
        conflict = pair is not None or stated
        text = " ".join(parts)
        flags: list[str] = []
        if unknown:
            text = "Dokumen yang saya miliki tidak memuat informasi pasti tentang hal ini. " + text
            flags.append("documents_say_unknown")
        if pair is not None and not stated:
            shown = [f"{min(_values(c.text, q.qtype, q.numbers))} [{numbers[c.hit.chunk.chunk_id]}]" for c in pair]
            text += (f" Catatan: sumber-sumber yang ditemukan menyebut nilai yang berbeda ({shown[0]} dan "
                     f"{shown[1]}); periksa sumber aslinya sebelum mengutip.")
        if conflict:
            flags.append("conflict")
        return Draft(text, abstained=unknown, citations=citations, conflict=conflict, flags=flags,
                     evidence=evidence)

    def _candidates(self, q: _Query, hits: list[ScoredChunk]) -> list[_Candidate]:
        top_score = hits[0].score or 1.0
        # How close each chunk is to the question in e5's space, scaled over the context chunks: word overlap
        # alone let a sentence sharing "beda" or "batas" with the question lead from a chunk about something else.
        # Sentence-level cosines did as well but cost an embedding per sentence at ingest; this one is free.
        # Measured weights 0.05-0.3 (evals/datasets gold, focal_dev, focal_holdout): 0.1 raised the key fact in
        # the first sentence on all three (0.681 -> 0.699, 0.732 -> 0.780, 0.550 -> 0.650), 0.2 and more lowered
        # key-fact coverage.
        dense = [h.dense for h in hits if h.dense is not None]
        lo, hi = (min(dense), max(dense)) if dense else (0.0, 0.0)
        out: list[_Candidate] = []
        for rank, h in enumerate(hits):
            head_cover = q.cover(set(tokenize(f"{h.chunk.title} {h.chunk.section}")))
            rank_prior = max(0.0, h.score / top_score) if top_score > 0 else 0.0
            dense_prior = (h.dense - lo) / (hi - lo) if h.dense is not None and hi > lo else 0.0
            lead = ""
            spans = split_sentences(h.chunk.text)
            for pos, ((a, b), instruction) in enumerate(zip(spans, instruction_flags(h.chunk.text, spans),
                                                            strict=True)):
                raw = h.chunk.text[a:b]
                stripped = raw.lstrip()
                if stripped.startswith(("#", "|")) or instruction or _SIGNPOST.match(stripped) or \
                        _OVERVIEW.match(stripped):
                    continue  # headings and table rows are not sentences; text addressed to the assistant is data

                text = clean_sentence(raw)
                is_item = bool(_MARKUP.match(raw))
                if text.endswith(":"):
                    lead = text  # a lead-in ("Belum ada informasi resmi tentang:") gives list items their sense
                    continue
                item_lead = lead if is_item else ""
                if not _MARKUP.match(raw):
                    lead = ""
                if len(f"{item_lead} {text}".split()) < 4:
                    continue
                sent_terms = set(tokenize(f"{item_lead} {text}"))
                cover = q.cover(sent_terms)
                score = (0.55 * cover + 0.15 * head_cover + 0.2 * rank_prior + DENSE_PRIOR * dense_prior
                         + 0.02 * (pos == 0))
                score += q.adjustment(text, sent_terms, cover)
                unknown = bool(_UNKNOWN.search(text) or (item_lead and _UNKNOWN.search(item_lead)))
                if unknown and q.yesno and _NO_RULE_FOUND.search(text):
                    unknown = False  # "wajib gak …?" — "tidak ditemukan aturan yang mewajibkan …" answers no
                out.append(_Candidate(rank, pos, text, score, h, cover, item_lead, unknown))
        return out

    def _select(self, cands: list[_Candidate], wants_list: bool = False, qtype: str = "general") -> list[_Candidate]:
        # Scores within a rounding error are a tie, which the sentence covering more of the question wins ("PP
        # 24/2022 ngatur soal apa?": "Pasal 9 PP 24/2022 mengatur …" over "PP 24/2022 ditandatangani …"), not
        # whichever chunk came first.
        ranked = sorted(cands, key=lambda c: (round(c.score, 3), c.cover), reverse=True)
        best = ranked[0]
        chosen = [best]
        seen = [set(tokenize(best.text, stemming=False))]
        # A whole list answers "apa saja" and open questions ("Tahapannya gimana?"); a question asking one value
        # (kapan, berapa, siapa, di mana) is answered by the items that hold it, not by every row of the table
        # the best one sits in. A list of things nobody knows ("Belum ada informasi resmi tentang:") is not one
        # answer either: each item is a different topic, so only the items that score on their own are taken.
        if (best.lead and not best.unknown and qtype in ("general", "reason")) or wants_list:
            # A list answers "apa saja" questions: take the best item's whole list (same chunk, same lead-in);
            # when the best sentence is not a list item, the list it introduces (the one right after it: "Urutan
            # persiapannya …:" after "… langkah pertama …"), whose items rarely repeat the question's words; else
            # the strongest list among the candidates.
            lead, hit = ("", best.hit) if best.unknown else (best.lead, best.hit)
            if not lead and not best.unknown:
                after = min((c for c in cands if c.hit is best.hit and c.lead and not c.unknown
                             and c.position > best.position), key=lambda c: c.position, default=None)
                if after is not None and after.position <= best.position + 2:  # best, its lead-in, the first item
                    lead = after.lead
            if not lead:
                groups: dict[tuple[int, str], float] = {}
                for c in cands:
                    if c.lead and not c.unknown and c.score >= 0.6 * best.score:
                        key = (id(c.hit), c.lead)
                        groups[key] = max(groups.get(key, 0.0), c.score)
                if groups:
                    (hit_id, lead) = max(groups, key=groups.get)
                    hit = next(c.hit for c in cands if id(c.hit) == hit_id)
            items = [c for c in cands if c.hit is hit and c.lead and c.lead == lead and c is not best]
            chosen.extend(items[:LIST_ITEMS - 1])
            if items:
                return chosen
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if c.score < 0.75 * best.score:
                break
            toks = set(tokenize(c.text, stemming=False))
            if any(len(toks & s) / max(1, len(toks | s)) > 0.6 for s in seen):
                continue
            chosen.append(c)
            seen.append(toks)
        return chosen

    @staticmethod
    def _conflict_pair(q: _Query, chosen: list[_Candidate],
                       cands: list[_Candidate]) -> tuple[_Candidate, _Candidate] | None:
        """Two strong sentences from different places that give different single values of the asked kind.

        "Strong" means close to the best sentence in score *and* in coverage of the question, so a sentence
        about another city or another year's event does not count as disagreement.
        """
        if q.qtype not in ("date", "number"):
            return None
        best = max(chosen, key=lambda c: c.score)
        # A sentence about another year than the one asked is about another event: the 2025 call's channel does
        # not disagree with a guess at 2026 for "Kapan panggilan 2027?".
        strong = [c for c in sorted(cands, key=lambda c: c.score, reverse=True)
                  if c.score >= 0.7 * best.score and c.cover >= 0.9 * best.cover and q.names_year(c.text)][:6]
        items = [(c, _values(c.text, q.qtype, q.numbers)) for c in strong]
        items = [(c, v) for c, v in items if len(v) == 1]
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (ci, vi), (cj, vj) = items[i], items[j]
                same_place = (ci.hit.chunk.doc_id == cj.hit.chunk.doc_id
                              and ci.hit.chunk.section == cj.hit.chunk.section)
                if not same_place and vi != vj:
                    return ci, cj
        return None
