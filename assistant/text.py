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

# Bump when tokenisation changes: cached BM25 tokens of earlier builds are then ignored.
TOKENIZER_VERSION = 14
_WORD = re.compile(r"[0-9a-z]+")
_REG_ID = re.compile(r"\b\d{1,4}\s*/\s*\d{4}\b")
# What a question sets aside: "selain Malang", "selain Ambon, Solo dan Bandung" (group 1: the names).
SET_ASIDE = re.compile(r"\b[Ss]elain\s+([\w-]+(?:(?:,\s*[A-Z][\w-]*)*,?\s+(?:dan|atau)\s+[A-Z][\w-]*)?)")
# Question words and fillers that say nothing about the topic; they are kept out of BM25 queries.
_EXTRA_STOP = {
    # question words
    "apa", "apakah", "siapa", "kapan", "berapa", "bagaimana", "mengapa", "kenapa", "dimana", "mana", "apaan",
    # chat Indonesian: fillers and abbreviations that carry no topic ("brp", "udah", "gimana" …)
    "yg", "gak", "ga", "nggak", "ngga", "enggak", "kah", "sih", "dong", "ya", "min", "kak", "tolong", "mohon",
    "tanya", "mau", "kalau", "kalo", "klo", "gimana", "gmn", "aja", "saja", "nya", "tu", "tuh", "deh", "nih",
    "bgt", "banget", "brp", "udah", "udh", "sdh", "blm", "belom", "pengen", "pingin", "kayak", "kyk", "kaya",
    "jaman", "zaman", "gitu", "gini", "emang", "emangnya", "sebenernya", "sebenarnya", "akhirnya", "tau", "tahu",
    "dgn", "utk", "tdk", "krn", "jd", "jg", "sm", "sama", "bisa", "ada", "pas", "doang", "lho", "kok", "kan",
    "mas", "mbak", "pak", "bu", "bapak", "ibu", "halo", "hai", "permisi", "terima", "kasih", "makasih", "thx",
    "lengkapnya", "persisnya", "sekarang", "skrg", "yah", "nah", "btw", "ok", "oke",
    # hedges: "enaknya ngutip misi nomor berapa biar aman?" asks which mission to cite, not about safety. Not
    # "kira-kira": it meets the documents' "perkiraan" ("Perkiraan tahun MMR" for "kira2 jatuh tahun brp?").
    "enaknya", "aman", "biar", "suka",
}
# Words on Sastrawi's stop list that carry what a focal point asks: "Bagaimana caranya …?" wants the section
# "Bagaimana cara daerah mulai mendaftar UCCN …?", and without "cara" the question was only "kota kreatif UNESCO".
# Likewise "baru"/"terbaru", "pertama", "terakhir": "anggota yang paling baru", "presiden pertama" ask for one end
# of an order, and without the word only "anggota" remained.
_CONTENT_WORDS = frozenset({"cara", "caranya", "baru", "pertama", "terakhir"})
_stem_lock = threading.Lock()


# Planning and budget documents and bodies every region has, named as the context of a question ("buat argumen
# ke DPRD", "naskah RPJMD bagian ekraf"): generic, not the name of something the documents should know. As
# unseen capitalised words they read as such names, and the answer abstained; spelt out ("rencana pembangunan
# jangka menengah daerah") they outweighed the question's own topic.
CONTEXT_ACRONYMS = frozenset({
    "dprd", "dpr", "rpjmd", "rpjpd", "rkpd", "apbd", "apbn", "renstra", "renja", "musrenbang", "skpd", "bumd", "lkpj",
    "dpa", "ripekda", "ripparda", "rakor", "rakernas",
    # the asker's own office ("Kami di Disbudpar …")
    "disbudpar", "disparbud", "disparekraf", "dispar", "disbud", "diskominfo", "disperindag", "kadis", "sekda",
    "pemprov",
})


def fold(text: str) -> str:
    """Lower-case and strip accents (é → e) so that matching ignores them."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return (frozenset(StopWordRemoverFactory().get_stop_words()) - _CONTENT_WORDS) | _EXTRA_STOP


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


# Stems that name the same act in this domain. Focal points "kirim" (send) a report or an application; the
# documents "menyerahkan" it ("menyerahkan MMR setiap empat tahun", "penyerahan MMR"), so "MMR dikirim tiap
# berapa tahun?" met only the "belum ada informasi … pengirimannya" caveat and abstained.
# Likewise UNESCO "menetapkan" (designates) the members where users ask who "memutuskan" (decides) it.
# "memuat" (contains) is what users call the "isi" of a report.
_STEM_SYNONYMS = {"serah": "kirim", "setor": "kirim", "putus": "tetap", "muat": "isi"}


@lru_cache(maxsize=200_000)
def _sastrawi_stem(word: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    with _stem_lock:  # Sastrawi keeps state in the stemmer object
        out = _stemmer().stem(word) or word
    return _STEM_SYNONYMS.get(out, out)


# Chat Indonesian → standard forms, so "nambah", "dapet", "kab", "dirjen" find the formal corpus text. Only
# forms seen in focal points' messages; the -in → -kan rule below covers the productive suffix.
_SLANG = {
    "nyambung": "sambung", "nyambungnya": "sambung", "sebutin": "sebut", "nyebut": "sebut", "nyoba": "coba",
    "nambah": "tambah", "bareng": "bersama", "barengan": "bersama", "pake": "pakai", "dipake": "dipakai",
    "ngirim": "kirim", "telat": "terlambat", "dapet": "dapat", "dateng": "hadir",  # ("datang" is a stop word)
    "bikin": "buat",
    "gede": "besar", "ngatur": "atur", "ngecek": "periksa", "cek": "periksa", "bener": "benar", "nulis": "tulis",
    "bilang": "sebut", "abis": "setelah", "milih": "pilih", "info": "informasi", "kab": "kabupaten",
    "pemkab": "pemerintah kabupaten", "pemkot": "pemerintah kota", "dirjen": "direktur jenderal",
    "dubes": "duta besar", "tgl": "tanggal", "thn": "tahun", "komnas": "komisi nasional", "ngusulin": "usul",
    "diusulin": "diusulkan", "ngajuin": "ajukan", "kemenparekraf": "kemenparekraf", "deadline": "batas waktu",
    "timeline": "jadwal", "jogja": "yogyakarta", "jogjakarta": "yogyakarta", "solo": "surakarta",
    "ekraf": "ekonomi kreatif", "perpres": "peraturan presiden", "permen": "peraturan menteri",
    "kemlu": "kementerian luar negeri", "ngapain": "apa", "gimana": "bagaimana", "nggak": "tidak",
    "ccc": "creative cities connect",
    # Government shorthand as officials write it ("Harus ada Perda dulu?"): the documents spell these out, and
    # e5 does not know the short forms either, so "Perda" found subsector lists instead of the selection criteria.
    "perda": "peraturan daerah", "pemda": "pemerintah daerah", "perwal": "peraturan wali kota",
    "perwali": "peraturan wali kota", "perbup": "peraturan bupati", "pergub": "peraturan gubernur",
    "walikota": "wali kota", "wamen": "wakil menteri", "natcom": "komisi nasional",
    "uu": "undang undang", "hki": "kekayaan intelektual",
    # Not "pp" → "peraturan pemerintah": "atur" and "perintah" occur everywhere ("mengatur", "pemerintah daerah"),
    # and the expansion cost "PP 24/2022 ngatur soal apa?" its answer; the id "24/2022" already matches exactly.
    # The documents say "kriteria seleksi nasional" where focal points ask "syarat(nya) apa?".
    "kriteria": "syarat",
    # English words focal points mix into Indonesian ("Requirement apa aja buat apply UCCN?"): as words the index
    # never uses they also read as unknown names, and the answer abstained. Not words of the documents' English
    # names: "city"/"creative" drowned "Creative Cities Connect" (measured when the field names were added), and
    # "report"/"membership" put "laporan" into every "Membership Monitoring Report" (gold: 2 answers lost facts).
    "requirement": "syarat", "requirements": "syarat", "apply": "daftar", "applying": "daftar",
    "submit": "kirim", "fee": "biaya", "fees": "biaya", "form": "formulir", "guideline": "pedoman",
    "guidelines": "pedoman", "member": "anggota", "members": "anggota",
    "letter": "surat", "event": "acara", "shortlist": "daftar pendek", "annual": "tahunan", "conference": "konferensi",
    "nominee": "nominasi", "workshop": "lokakarya", "budget": "anggaran", "upload": "unggah", "online": "daring",
    # Months as people abbreviate them in dates ("terbit 31 Okt 2024", "berita Feb 2026"): capitalised and unknown
    # to the index, they read as names the documents never use, and the answer abstained.
    "jan": "januari", "feb": "februari", "mar": "maret", "apr": "april", "jun": "juni", "jul": "juli",
    "agu": "agustus", "agt": "agustus", "ags": "agustus", "agst": "agustus", "sep": "september",
    "sept": "september", "okt": "oktober", "nov": "november", "des": "desember",
    # More office shorthand and chat verbs seen in focal points' questions.
    "menpar": "menteri pariwisata", "kemenpar": "kementerian pariwisata", "opd": "organisasi perangkat daerah",
    "sertijab": "serah terima jabatan", "tautan": "url", "link": "url", "nyampe": "sampai", "nunjuk": "tunjuk",
    "ngasih": "beri", "dikasih": "diberi", "nanya": "tanya", "nambahin": "tambah", "mutusin": "putus",
    "dtg": "datang", "dicek": "diperiksa", "nyeleksi": "seleksi", "taun": "tahun", "nyambungin": "hubungkan",
    "email": "surel", "dijadiin": "dijadikan", "agunan": "jaminan", "juri": "panel penilai",
    "kira2": "perkiraan",  # not the stop word "kira": "MMR kami kira2 jatuh tahun brp?" meets "Perkiraan tahun MMR"
    "ngutip": "kutip", "nyusun": "susun", "nyiapin": "siapkan", "nyiapkan": "siapkan", "ngisi": "isi",
    "ngumpulin": "kumpulkan", "ngumpulkan": "kumpulkan", "nyari": "cari", "ngundang": "undang", "ngurus": "urus",
    "ngikut": "ikut", "ngikutin": "ikuti", "nentuin": "tentukan", "nunggu": "tunggu", "nerima": "terima",
    "ngelapor": "lapor", "ngedaftar": "daftar", "daftarin": "daftarkan", "nyerahin": "serahkan",
    "ngumumin": "umumkan", "ngajak": "ajak", "ngadain": "adakan", "ngeluarin": "keluarkan", "nyebutin": "sebut",
    # Province abbreviations as officials write them ("Kaltim termasuk provinsi prioritas?"): without them the
    # name is a word the documents never use, and the answerer would say they do not mention it.
    "jabar": "jawa barat", "jateng": "jawa tengah", "jatim": "jawa timur", "diy": "daerah istimewa yogyakarta",
    "sumut": "sumatera utara", "sumbar": "sumatera barat", "sumsel": "sumatera selatan", "kepri": "kepulauan riau",
    "babel": "bangka belitung", "kalbar": "kalimantan barat", "kalteng": "kalimantan tengah",
    "kalsel": "kalimantan selatan", "kaltim": "kalimantan timur", "kaltara": "kalimantan utara",
    "sulut": "sulawesi utara", "sulteng": "sulawesi tengah", "sulsel": "sulawesi selatan",
    "sultra": "sulawesi tenggara", "sulbar": "sulawesi barat", "ntb": "nusa tenggara barat",
    "ntt": "nusa tenggara timur",
    # UCCN's English names, as focal points quote them from UNESCO's pages ("City of Literature" = Kota Sastra).
    "literature": "sastra", "gastronomy": "gastronomi", "design": "desain",
    "music": "musik", "crafts": "kerajinan", "architecture": "arsitektur",
}


def _normalise(word: str) -> list[str]:
    mapped = _SLANG.get(word)
    if mapped:
        return mapped.split()
    if word.endswith("nya") and word[:-3] in _SLANG:
        return _SLANG[word[:-3]].split()  # "wamennya" = the "wamen" of something: "wakil menteri"
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


_UNITS = {"dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9}
_WHOLE_NUMBERS = {"sepuluh": "10", "sebelas": "11"}


def _digits(ws: list[str]) -> list[str]:
    """Number words as digits, so "enam besar" meets "top 6" and "tujuh belas subsektor" meets "17 subsektor":
    two to nine, sepuluh, sebelas, "<unit> belas", "<unit> puluh [<unit>]". Not "satu" ("salah satu" is no
    count) nor ordinals ("kedua" is also "both")."""
    out: list[str] = []
    i = 0
    while i < len(ws):
        w = ws[i]
        nxt = ws[i + 1] if i + 1 < len(ws) else ""
        if w in _UNITS and nxt == "belas":
            out.append(str(10 + _UNITS[w]))
            i += 2
        elif w in _UNITS and nxt == "puluh":
            tens = 10 * _UNITS[w]
            unit = _UNITS.get(ws[i + 2], 0) if i + 2 < len(ws) else 0
            out.append(str(tens + unit))
            i += 3 if unit else 2
        elif w in _UNITS:
            out.append(str(_UNITS[w]))
            i += 1
        else:
            out.append(_WHOLE_NUMBERS.get(w, w))
            i += 1
    return out


# Words that may stand between a number and its unit: "26,47 juta orang", "1,5 miliar dolar".
_MAGNITUDES = frozenset({"ratus", "ribu", "juta", "miliar", "triliun", "puluh", "belas"})


def counts_of(text: str, unit_stems: frozenset[str]) -> set[str]:
    """The numbers ``text`` gives *of* one of ``unit_stems`` (stemmed nouns): {"408"} for "408 kota",
    {"4"} for "tiap empat tahun", {"58"} for "58 kota baru", {"47"} for "47 juta orang". A number (digits or a
    number word) counts when the unit follows it, past a magnitude word at most, so "misi 3", "31 Oktober" or
    "5,54%, dan tenaga kerja" are no count of "kota" or "tenaga"; nor is a year ("2023: nilai tambah …")."""
    if not unit_stems:
        return set()
    ws = _digits(words(text))
    out = set()
    for i, w in enumerate(ws[:-1]):
        if not w.isdigit() or (len(w) == 4 and w[:2] in ("19", "20")):
            continue
        j = i + 1
        while j < len(ws) - 1 and ws[j] in _MAGNITUDES:
            j += 1
        if stem(ws[j]) in unit_stems:
            out.add(w)
    return out


def _drop_idioms(ws: list[str]) -> list[str]:
    """Words with two idioms read: without the "pertama" of "pertama kali" ("for the first time": "Kapan UCCN
    pertama kali dibentuk?" asks when, not about anything "pertama"; "kali" itself is a stop word), and "paling
    awal" as "pertama" ("Langkah paling awal apa?" asks for the first step; both words are stop words)."""
    if "pertama" not in ws and "awal" not in ws:
        return ws
    out: list[str] = []
    for i, w in enumerate(ws):
        if w == "pertama" and ws[i + 1:i + 2] == ["kali"]:
            continue
        if w == "awal" and out[-1:] == ["paling"]:
            out[-1] = "pertama"
            continue
        out.append(w)
    return out


def tokenize(text: str, *, stemming: bool = True, stopwords: bool = True,
             stems: dict[str, str] | None = None) -> list[str]:
    """Tokens for BM25 and lexical overlap: content words, stemmed, plus exact regulation ids.

    ``stems``, when given, collects each word's stem (an index's stem table, see :func:`remember_stems`).
    """
    sw = stop_words() if stopwords else frozenset()
    ws = _drop_idioms(_digits(words(text)))
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
