"""Indonesian text processing shared by BM25, the answerer and the support scorer.

Tokens are lower-cased, accent-folded words; Indonesian stop-words (Sastrawi's list) are dropped and the rest
stemmed with Sastrawi (memoised per word: the stemmer is slow, the vocabulary small). Regulation-style ids such
as ``24/2019`` are kept as one extra token so an exact "UU 24/2019" query can match exactly.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from assistant.lexicon import (
    CHAT_FORMS,
    CONTENT_WORDS,
    EXTRA_STOP_WORDS,
    STEM_SYNONYMS,
)
from assistant.numbers import counts_as_digits

# Bump when tokenisation changes: cached BM25 tokens of earlier builds are then ignored.
TOKENIZER_VERSION = 15
_WORD = re.compile(r"[0-9a-z]+")
_REG_ID = re.compile(r"\b\d{1,4}\s*/\s*\d{4}\b")
_stem_lock = threading.Lock()




def fold(text: str) -> str:
    """Lower-case and strip accents (é → e) so that matching ignores them."""
    if text.isascii():  # nothing to decompose or strip (most of the corpus): the same result, ~20× faster
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return (frozenset(StopWordRemoverFactory().get_stop_words()) - CONTENT_WORDS) | EXTRA_STOP_WORDS


@lru_cache(maxsize=1)
def _stemmer():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


# Stems an index already computed (word → stem), published with its BM25 index and loaded with it. Answering
# stems the words of the retrieved chunks again; a server process that asked Sastrawi for every word it had not
# met yet spent ~20 ms of each answer on it at 10k chunks (the ingest process had them all memoised).
_known_stems: dict[str, str] = {}


def remember_stems(table: dict[str, str]) -> None:
    """Add an index's stem table; a word's stem depends only on the word, so tables of several indexes merge."""
    _known_stems.update(table)


def clear_stem_memo() -> None:
    """Forget every memoised stem (a fresh process; the bench uses it)."""
    _known_stems.clear()
    _sastrawi_stem.cache_clear()


def stem(word: str) -> str:
    known = _known_stems.get(word)
    return known if known is not None else _sastrawi_stem(word)




@lru_cache(maxsize=200_000)
def _sastrawi_stem(word: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    with _stem_lock:  # Sastrawi keeps state in the stemmer object
        out = _stemmer().stem(word) or word
    return STEM_SYNONYMS.get(out, out)




def _normalise(word: str) -> list[str]:
    mapped = CHAT_FORMS.get(word)
    if mapped:
        return mapped.split()
    if word.endswith("nya") and word[:-3] in CHAT_FORMS:
        return CHAT_FORMS[word[:-3]].split()  # "wamennya" = the "wamen" of something: "wakil menteri"
    if len(word) > 3 and word[-1] == "2" and word[:-1].isalpha():
        return _normalise(word[:-1])  # chat reduplication: "kota2" = "kota-kota", "dulu2"
    if len(word) > 5 and word.startswith("di") and word.endswith("in") and not word.endswith("ain"):
        return [word[:-2] + "kan"]  # dikeluarin → dikeluarkan
    if len(word) > 6 and word.startswith("di") and word.endswith("ain"):
        return [word[:-3] + "akan"]  # diadain → diadakan
    return [word]


def words(text: str) -> list[str]:
    """Folded word tokens with chat forms normalised, no filtering."""
    out: list[str] = []
    for w in _WORD.findall(fold(text)):
        out.extend(_normalise(w))
    return out




def _drop_idioms(ws: list[str]) -> list[str]:
    """Without the "pertama" of "pertama kali" ("for the first time": "kapan … pertama kali dibentuk?" asks when,
    not about anything "pertama"; "kali" itself is a stop word)."""
    if "pertama" not in ws:
        return ws
    return [w for i, w in enumerate(ws) if not (w == "pertama" and ws[i + 1:i + 2] == ["kali"])]


def tokenize(text: str, *, stemming: bool = True, stopwords: bool = True,
             stems: dict[str, str] | None = None) -> list[str]:
    """Tokens for BM25 and lexical overlap: content words, stemmed, plus exact regulation ids.

    ``stems``, when given, collects each word's stem (an index's stem table, see :func:`remember_stems`).
    """
    sw = stop_words() if stopwords else frozenset()
    ws = _drop_idioms(counts_as_digits(words(text)))
    if stems is not None and stemming:
        out = []
        for w in ws:
            if w not in sw:
                st = stems.get(w)
                if st is None:
                    st = stems[w] = stem(w)
                out.append(st)
    else:
        out = [stem(w) if stemming else w for w in ws if w not in sw]
    out.extend(m.group(0).replace(" ", "") for m in _REG_ID.finditer(text))
    return out


def correct_terms(terms: list[str], vocab, cutoff: float = 0.84, surface: Mapping[str, str] | None = None) -> list[str]:
    """Map terms the index does not know to the closest indexed term (typos such as "pendaftran").

    ``surface`` (indexed word → its stem, the index's stem table) is tried when no stem is close: Sastrawi cuts
    names hard ("Pekalongan" → "kalong"), so the misspelt "Pekalongn", which it leaves whole, is nowhere near
    any stem but next to the indexed word "pekalongan", whose stem it then takes.

    Terms without a close match are kept: a word the documents never use is itself a signal (the answerer
    weighs it when deciding to abstain).
    """
    out = []
    for t in terms:
        if t in vocab or len(t) < 5 or t.isdigit():
            out.append(t)
            continue
        match = _closest(t, vocab, cutoff)
        if match is None and surface:
            word = _closest(t, surface, cutoff)
            match = surface[word] if word is not None and surface[word] in vocab else None
        out.append(match or t)
    return out


def _closest(term: str, vocab, cutoff: float) -> str | None:
    import difflib

    cands = [v for v in vocab if abs(len(v) - len(term)) <= 2 and v[:1] == term[:1]]
    match = difflib.get_close_matches(term, cands, n=1, cutoff=cutoff)
    return match[0] if match else None


@lru_cache(maxsize=1)
def _root_words() -> frozenset[str]:
    import importlib.resources

    path = importlib.resources.files("Sastrawi") / "Stemmer" / "data" / "kata-dasar.txt"
    return frozenset(path.read_text(encoding="utf-8").split())


def is_indonesian_word(word: str) -> bool:
    """Whether ``word`` or its stem is in Sastrawi's dictionary of Indonesian root words (~30,000, KBBI-based):
    "alur", "keberapa" (→ berapa) are; "surabaya", "umk" are not.

    The answerer uses it to tell a capitalised first word that is an ordinary word ("Alur …") from a name
    ("Surabaya …"), the follow-up rewriter to tell "kalau surabaya?" from "kalau ekspornya?". Names that are also
    words ("Medan", "Bandung") pass for words: they are only told apart by a capital mid-sentence.
    """
    f = fold(word)
    return f in _root_words() or stem(f) in _root_words()


def mentions(text: str, phrases: tuple[str, ...] | frozenset[str]) -> bool:
    """Whether ``text`` (case- and accent-folded) contains one of ``phrases`` (folded, lower-case)."""
    f = fold(text)
    return any(p in f for p in phrases)


def content_terms(text: str) -> set[str]:
    """Distinct stemmed content words: what a question is about."""
    return set(tokenize(text))


_ABBREV = re.compile(
    r"\b(?:No|no|Nomor|dll|dsb|dst|tsb|Kab|Prov|Dr|dr|Prof|Ir|H|Hj|St|Jl|Tn|Ny|a\.n|u\.p|ybs|sbb|hlm|vol|cf|e\.g|i\.e|"
    r"mis|Mr|Mrs|Sdr|Bpk|Yth)\.$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` in ``text``.

    Splits after . ! ? (and at line breaks that end list items or headings), but not after common Indonesian
    abbreviations, decimal/thousand separators ("1.500") or list numbers ("1."), so quotes stay whole.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        cut = None
        if ch == "\n":
            cut = i
        elif ch in ".!?" and (i + 1 == n or text[i + 1] in " \n\t\"')»”"):
            prev = text[start : i + 1]
            token = prev.split()[-1] if prev.split() else ""
            is_list_number = bool(re.fullmatch(r"\(?\d{1,2}[.)]", token))
            if not _ABBREV.search(token) and not is_list_number:
                j = i + 1
                while j < n and text[j] in "\"')»”":
                    j += 1
                cut = j
        if cut is not None:
            seg = text[start:cut]
            if seg.strip():
                a = start + (len(seg) - len(seg.lstrip()))
                spans.append((a, start + len(seg.rstrip())))
            start = cut + (1 if ch == "\n" else 0)
            i = max(i + 1, start)
            continue
        i += 1
    seg = text[start:]
    if seg.strip():
        a = start + (len(seg) - len(seg.lstrip()))
        spans.append((a, start + len(seg.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]
