"""Application readiness check: a focal point's draft UCCN application against the requirements the corpus knows.

Why: before a city sends its dossier to the national selection, the focal point wants to know what is still
missing. Each requirement is checked in the draft with transparent rules (patterns in English, French and
Indonesian, since drafts are written in the form's languages but notes are often Indonesian), and each result
carries

* ``status`` — ``present`` (✅), ``unclear`` (⚠️: mentioned but pending, partial or contradictory) or
  ``missing`` (❌);
* ``evidence`` — a short quote from the draft that decided the status (empty when nothing was found);
* ``citation`` — the corpus sentence that states the requirement, retrieved from the index at check time
  (doc id, title, section, quote), so the requirement list is only as strong as the documents behind it;
* ``note`` — what to do, and how certain the requirement is (two association letters, photos and the
  cession-of-rights form are documented for the 2017–2019/2021 calls, not confirmed for 2025).

The checks are deliberately simple and explainable; ``evals/eval_checklist.py`` measures them on the small
drafts in ``tests/data/drafts``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from assistant.models import Citation
from assistant.text import split_sentences

if TYPE_CHECKING:
    from assistant.sources import Sources

Status = Literal["present", "unclear", "missing"]
SYMBOL = {"present": "✅", "unclear": "⚠️", "missing": "❌"}


class CheckItem(BaseModel):
    id: str
    requirement: str
    status: Status
    symbol: str = ""
    evidence: str = Field(default="", description="Short quote from the draft")
    citation: Citation | None = Field(default=None, description="Corpus sentence stating the requirement")
    note: str = ""


class CheckResult(BaseModel):
    items: list[CheckItem]
    language: str = Field(description="Detected language of the draft: en, fr, id or unknown")
    fields: list[str] = Field(default_factory=list, description="UCCN fields the draft names as its own")
    summary: dict[str, int] = Field(default_factory=dict)

    def to_text(self) -> str:
        """Plain-text checklist for the CLI and the bot."""
        lines = [f"Pemeriksaan kesiapan aplikasi UCCN — ✅ {self.summary.get('present', 0)}  "
                 f"⚠️ {self.summary.get('unclear', 0)}  ❌ {self.summary.get('missing', 0)}"]
        for it in self.items:
            lines.append(f"{it.symbol} {it.requirement}")
            if it.evidence:
                lines.append(f"    Bukti di draf: “{it.evidence}”")
            if it.note:
                lines.append(f"    Catatan: {it.note}")
            if it.citation:
                c = it.citation
                where = f"{c.title} › {c.section}" if c.section else c.title
                lines.append(f"    Sumber: {where} ({c.doc_id}) — “{c.quote}”")
        return "\n".join(lines)


# --------------------------------------------------------------------------- text helpers
_PENDING = re.compile(
    r"\b(pending|to be (?:obtained|attached|signed|confirmed|provided|requested|sent|added)|will be (?:attached|"
    r"signed|provided|requested|sent|added)|tbd|tbc|not yet|in progress|awaiting|draft only|en attente|à venir|"
    r"à fournir|sera (?:jointe?|signée?|fournie?)|pas encore|belum|menyusul|dalam proses|sedang (?:diproses|"
    r"diurus|disiapkan)|akan (?:dilampirkan|ditandatangani|diminta|dikirim))\b", re.I)
_NEGATED = re.compile(r"\b(no|without|none|sans|aucune?|tanpa|tidak ada)\b", re.I)
_NOT_YET = re.compile(r"\b(not yet|belum|pas encore)\b", re.I)
_UNDERWAY = re.compile(r"\b(in progress|ongoing|under way|underway|sedang|dalam proses|en cours)\b", re.I)


def _sentences(text: str) -> list[str]:
    """Sentences, cut further at semicolons: "the Regent's letter is attached; the Commission's is pending"
    holds two facts with different statuses."""
    out = []
    for a, b in split_sentences(text):
        out += [" ".join(part.split()) for part in text[a:b].split(";") if part.strip()]
    return out


def _quote(sentence: str, limit: int = 160) -> str:
    s = sentence.strip(" -*#>")
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def _find(sents: list[str], *patterns: re.Pattern[str]) -> list[str]:
    """Sentences matching every pattern."""
    return [s for s in sents if all(p.search(s) for p in patterns)]


# --------------------------------------------------------------------------- language
_STOP = {
    "en": {"the", "and", "of", "to", "in", "is", "for", "with", "on", "as", "by", "that", "this", "will", "are", "be",
           "from", "our", "its", "an", "a", "which", "at", "has", "have", "we", "been", "through", "into", "their"},
    "fr": {"le", "la", "les", "de", "des", "du", "et", "en", "un", "une", "pour", "dans", "est", "sur", "par", "avec",
           "que", "qui", "au", "aux", "nous", "son", "sa", "ses", "ce", "cette", "sont", "notre", "nos", "leur"},
    "id": {"dan", "yang", "di", "ke", "dari", "untuk", "dengan", "pada", "dalam", "ini", "itu", "adalah", "akan",
           "kami", "sebagai", "oleh", "atau", "juga", "tidak", "telah", "bagi", "serta", "tersebut", "para", "kita",
           "sudah", "secara", "melalui", "setiap"},
}


def detect_language(text: str) -> tuple[str, dict[str, float]]:
    """Language by stop-word ratio (share of tokens that are that language's stop-words): enough to tell the
    form's English/French from Indonesian without a model."""
    toks = re.findall(r"[a-zà-ÿ']+", text.lower())
    toks = [t.split("'")[-1] for t in toks]
    if not toks:
        return "unknown", {k: 0.0 for k in _STOP}
    ratios = {k: round(sum(t in sw for t in toks) / len(toks), 3) for k, sw in _STOP.items()}
    best = max(ratios, key=ratios.get)
    return (best if ratios[best] >= 0.05 else "unknown"), ratios


# --------------------------------------------------------------------------- creative fields
FIELDS: dict[str, list[str]] = {
    "Crafts & Folk Art": [r"crafts?\s*(?:&|and)\s*folk\s*arts?", r"artisanat(?:\s+et\s+arts?\s+populaires?)?",
                          r"kerajinan(?:\s+dan\s+(?:seni|kesenian)\s+rakyat)?"],
    "Design": [r"design", r"desain"],
    "Film": [r"film", r"cin[ée]ma"],
    "Gastronomy": [r"gastronom(?:y|ie|i)"],
    "Literature": [r"literature", r"litt[ée]rature", r"sastra"],
    "Media Arts": [r"media\s+arts?", r"arts?\s+num[ée]riques", r"seni\s+media"],
    "Music": [r"music", r"musique", r"musik"],
    "Architecture": [r"architecture", r"arsitektur"],
}
_FIELD_RES = {name: re.compile(r"\b(?:" + "|".join(pats) + r")\b", re.I) for name, pats in FIELDS.items()}
_DECLARE = re.compile(
    r"(?:creative\s+field|field\s+of|domaine(?:\s+cr[ée]atif)?|bidang(?:\s+kreatif)?|creative\s+city\s+of|city\s+of|"
    r"ville\s+cr[ée]ative[^.\n]{0,20}?\b(?:de|du|des|pour)|kota\s+kreatif(?:\s+unesco)?(?:\s+bidang)?)"
    r"[ \t]*[:\-–]?[ \t]*(?P<value>[^.\n;]{2,80})", re.I)


def declared_fields(text: str) -> tuple[list[str], str]:
    """UCCN fields the draft names as its own ("Creative field: Gastronomy", "City of Design", "Ville créative
    … de la musique", "bidang kreatif: Musik") and the line(s) that say so."""
    found: list[str] = []
    lines: list[str] = []
    for m in _DECLARE.finditer(text):
        # "City of Design and Gastronomy" names two; stop at the next clause.
        value = re.split(r"\b(?:because|since|which|that|where|car|qui|karena|yang)\b", m.group("value"), maxsplit=1)[0]
        names = [n for n, rx in _FIELD_RES.items() if rx.search(value)]
        if not names:
            continue
        line = _line_of(text, m.start())
        if any(n not in found for n in names) and line not in lines:
            lines.append(line)
        found += [n for n in names if n not in found]
    return found, " … ".join(lines)


def _names_in(s: str) -> list[str]:
    return [n for n, rx in _FIELD_RES.items() if rx.search(s)]


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return _quote(" ".join(text[start:end if end != -1 else len(text)].split()))


# --------------------------------------------------------------------------- requirement specs
@dataclass(frozen=True)
class Requirement:
    id: str
    label: str
    query: str  # retrieves the corpus chunk that states the requirement
    pattern: str  # the corpus sentence to quote; "a|b": a sentence matching a is preferred over one matching b
    note: str = ""


REQUIREMENTS: list[Requirement] = [
    Requirement("creative_field", "Satu bidang kreatif UCCN dipilih (tepat satu dari delapan bidang)",
                "Setiap kota mendaftar ke UCCN hanya dalam satu bidang kreatif", r"hanya dalam satu bidang kreatif"),
    Requirement("language", "Ditulis dalam bahasa Inggris atau Prancis",
                "Aplikasi UCCN ditulis dalam bahasa Inggris atau Prancis pada formulir aplikasi resmi",
                r"bahasa Inggris atau Prancis"),
    Requirement("form_sections", "Bagian pembuka formulir: nama kota, negara, kontak (Wali Kota, perwakilan, "
                "kontak eksekutif utama, kontak alternatif), bidang kreatif",
                "Bagian pembuka formulir UCCN nama kota negara kontak Wali Kota bidang kreatif",
                r"Bagian pembuka formulir"),
    Requirement("mayor_letter", "Surat resmi Wali Kota/Bupati yang mengajukan pencalonan",
                "Surat pendukung wajib surat resmi Wali Kota yang mengajukan pencalonan", r"surat resmi Wali Kota"),
    Requirement("national_commission", "Surat endorsement Komisi Nasional untuk UNESCO (KNIU)",
                "surat dukungan Komisi Nasional untuk UNESCO masih diwajibkan panggilan 2025",
                r"Komisi Nasional untuk UNESCO masih diwajibkan|endorsement\W+resmi dari Komisi Nasional"),
    Requirement("professional_associations", "Dua surat dukungan asosiasi profesi nasional di bidang tersebut",
                "dua surat dukungan dari asosiasi profesi nasional yang aktif di bidang kreatif",
                r"dua surat dukungan dari asosiasi profesi",
                "Terdokumentasi untuk panggilan 2017–2019; belum ada informasi resmi dalam dokumen apakah panggilan "
                "2025 masih mewajibkannya."),
    Requirement("photos_rights", "Tiga foto bidang kreatif dan formulir Cession of Rights and Register of Photos",
                "Lampiran formulir UCCN tiga foto formulir Cession of Rights and Register of Photos",
                r"Cession of Rights",
                "Terdokumentasi untuk panggilan 2017–2021; belum ada informasi resmi dalam dokumen apakah panggilan "
                "2025 masih mewajibkannya."),
    Requirement("action_plan", "Komitmen dan rencana aksi empat tahun",
                "kerangka rencana aksi empat tahun praseleksi rencana aksi yang solid dan siap dijalankan",
                r"kerangka rencana aksi empat tahun|rencana aksi empat tahun"),
    Requirement("kata_kreatif", "Status KaTa Kreatif / hasil PMK3I (nominasi dari Indonesia)",
                "daerah yang telah lolos PMK3I dan ditetapkan sebagai KaTa Kreatif dapat mengajukan diri untuk "
                "dinominasikan ke UCCN", r"lolos PMK3I dan ditetapkan sebagai KaTa Kreatif",
                "Bukan syarat tertulis UNESCO: di Indonesia, PMK3I/KaTa Kreatif membuka jalan menuju nominasi dan "
                "dipakai dalam seleksi nasional."),
]
BY_ID = {r.id: r for r in REQUIREMENTS}

_citation_cache: dict[tuple[str, str], Citation | None] = {}
_cache_lock = threading.Lock()


def requirement_citation(assistant: Sources, req: Requirement) -> Citation | None:
    """The corpus sentence stating ``req``, found by retrieval (cached per index generation)."""
    gen = assistant.generation()
    key = (gen.name, req.id)
    with _cache_lock:
        if key in _citation_cache:
            return _citation_cache[key]
    hits = assistant.retrieve(req.query, k=8)
    found = None
    for alternative in req.pattern.split("|"):
        pattern = re.compile(alternative, re.I)
        for h in hits:
            sent = next((" ".join(h.chunk.text[a:b].split()) for a, b in split_sentences(h.chunk.text)
                         if pattern.search(h.chunk.text[a:b])), None)
            if sent:
                c = h.chunk
                found = Citation(n=REQUIREMENTS.index(req) + 1, doc_id=c.doc_id, title=c.title, section=c.section,
                                 url=c.url, date=c.date, quote=sent.lstrip("-* "), chunk_id=c.chunk_id)
                break
        if found:
            break
    with _cache_lock:
        _citation_cache[key] = found
    return found


# --------------------------------------------------------------------------- the checks
Check = tuple[Status, str, str]  # status, evidence, note
_LETTER = re.compile(r"\b(letters?|lettres?|surat|endorse\w*|soutien|support|dukungan|rekomendasi|recommendation)\b",
                     re.I)


def _letter_check(sents: list[str], who: re.Pattern[str], what: str) -> Check:
    hits = _find(sents, who, _LETTER)
    if not hits:
        mentioned = _find(sents, who)
        if mentioned and any(_PENDING.search(s) for s in mentioned):
            return "unclear", _quote(mentioned[0]), f"{what} disebut tetapi belum ada."
        return "missing", "", f"{what} tidak ditemukan di draf."
    firm = [s for s in hits if not _PENDING.search(s) and not _NEGATED.search(s)]
    if firm:
        return "present", _quote(firm[0]), ""
    if any(_NEGATED.search(s) and not _PENDING.search(s) for s in hits):
        return "missing", _quote(hits[0]), f"Draf menyatakan {what.lower()} tidak ada."
    return "unclear", _quote(hits[0]), f"{what} disebut tetapi belum final (masih menunggu/akan dilampirkan)."


def _check_field(text: str, sents: list[str]) -> Check:
    fields, evidence = declared_fields(text)
    if len(fields) == 1:
        return "present", evidence, f"Bidang: {fields[0]}."
    if len(fields) > 1:
        return "unclear", evidence, (f"Draf menyebut lebih dari satu bidang ({', '.join(fields)}); setiap kota hanya "
                                     "boleh mendaftar di satu bidang.")
    mentioned = [n for n, rx in _FIELD_RES.items() if rx.search(text)]
    if mentioned:
        s = _find(sents, _FIELD_RES[mentioned[0]])
        return "unclear", _quote(s[0]) if s else "", (f"Bidang tidak dinyatakan secara eksplisit (disebut: "
                                                      f"{', '.join(mentioned)}); tulis 'Creative field: …'.")
    return "missing", "", "Tidak ada bidang kreatif UCCN yang disebut."


def _check_language(text: str, sents: list[str]) -> Check:
    lang, ratios = detect_language(text)
    shown = " · ".join(f"{k.upper()} {v:.2f}" for k, v in ratios.items())
    ordered = sorted(ratios.values(), reverse=True)
    if lang in ("en", "fr"):
        if ordered[0] - ordered[1] < 0.03:
            return "unclear", shown, "Bahasa campuran; formulir harus seluruhnya dalam bahasa Inggris atau Prancis."
        return "present", shown, {"en": "Bahasa Inggris.", "fr": "Bahasa Prancis."}[lang]
    if lang == "id":
        return "missing", shown, "Draf ditulis dalam bahasa Indonesia; formulir resmi harus diisi dalam bahasa " \
                                 "Inggris atau Prancis."
    return "unclear", shown, "Bahasa tidak dapat dikenali."


_FORM_PARTS: dict[str, re.Pattern[str]] = {
    "nama kota": re.compile(r"\b(name of (?:the )?city|city name|nom de la ville|nama kota|city\s*:|ville\s*:|"
                            r"kota\s*:|kabupaten\s*:)", re.I),
    "negara": re.compile(r"\b(country|pays|negara)\s*[:\-–]", re.I),
    "kontak Wali Kota": re.compile(r"\b(mayor|maire|wali ?kota|bupati|regent)\b", re.I),
    "kontak eksekutif utama": re.compile(r"(main executive contact|contact (?:ex[ée]cutif )?principal|kontak "
                                         r"eksekutif utama|focal point)", re.I),
    "kontak alternatif": re.compile(r"\b(?:alternate|alternative|alternatif|cadangan)\b|contact\s+suppl[ée]ant",
                                    re.I),
    "bidang kreatif": re.compile(r"(creative field|domaine cr[ée]atif|bidang kreatif)", re.I),
}


def _check_form(text: str, sents: list[str]) -> Check:
    found = {k: rx.search(text) for k, rx in _FORM_PARTS.items()}
    have = [k for k, m in found.items() if m]
    lacking = [k for k, m in found.items() if not m]
    if not lacking:
        first = next(m for m in found.values() if m)
        return "present", _line_of(text, first.start()), ""
    if len(have) >= 2:
        first = next(m for m in found.values() if m)
        return "unclear", _line_of(text, first.start()), f"Belum ada: {', '.join(lacking)}."
    return "missing", "", "Bagian pembuka formulir (nama kota, negara, kontak, bidang) tidak ditemukan."


_MAYOR = re.compile(r"\b(mayor'?s?|maire|wali ?kota|bupati|regent)\b", re.I)
_NATCOM = re.compile(r"(national commission|commission nationale|komisi nasional|\bKNIU\b|\bKomnas\b)", re.I)
_ASSOC = re.compile(r"\b(associations?|asosiasi|associazione|ikatan|himpunan|perkumpulan)\b", re.I)
_TWO = re.compile(r"\b(two|2|deux|dua|both|kedua)\b", re.I)


def _check_associations(text: str, sents: list[str]) -> Check:
    hits = [s for s in _find(sents, _ASSOC, _LETTER) if not _NEGATED.search(s)]
    if not hits:
        return "missing", "", "Surat dukungan asosiasi profesi tidak ditemukan di draf."
    firm = [s for s in hits if not _PENDING.search(s)]
    if firm and (any(_TWO.search(s) for s in firm) or len(firm) >= 2):
        return "present", _quote(next((s for s in firm if _TWO.search(s)), firm[0])), ""
    if firm:
        return "unclear", _quote(firm[0]), "Hanya satu surat asosiasi yang terlihat; diperlukan dua."
    return "unclear", _quote(hits[0]), "Surat asosiasi disebut tetapi belum final."


_PHOTO = re.compile(r"\b(photos?|photographs?|foto)\b", re.I)
_THREE = re.compile(r"\b(three|3|trois|tiga)\b", re.I)
_CESSION = re.compile(r"(cession of rights|cession de droits|register of photos|pelepasan hak|pengalihan hak)", re.I)


def _check_photos(text: str, sents: list[str]) -> Check:
    photos = [s for s in _find(sents, _PHOTO) if not _NEGATED.search(s)]
    cession = [s for s in _find(sents, _CESSION) if not _NEGATED.search(s)]
    firm_photos = [s for s in photos if not _PENDING.search(s)]
    firm_cession = [s for s in cession if not _PENDING.search(s)]
    if firm_photos and firm_cession:
        note = "" if any(_THREE.search(s) for s in firm_photos) else "Jumlah foto tidak disebut (tiga foto)."
        return ("present" if not note else "unclear"), _quote(firm_cession[0]), note
    if photos or cession:
        lacking = "formulir Cession of Rights" if not firm_cession else "tiga foto"
        return "unclear", _quote((photos or cession)[0]), f"Belum lengkap/final: {lacking}."
    return "missing", "", "Foto dan formulir pelepasan hak foto tidak ditemukan di draf."


_PLAN = re.compile(r"(action plan|plan d'action|plan d’action|rencana aksi|work ?plan|program(?:me)? of activities)",
                   re.I)
_FOUR_YEARS = re.compile(r"(four[- ]year|4[- ]year|quatre ans|quadriennal|empat tahun|4 tahun|"
                         r"\b20\d\d\s*[-–]\s*20\d\d\b)", re.I)


def _check_plan(text: str, sents: list[str]) -> Check:
    plans = [s for s in _find(sents, _PLAN) if not _NEGATED.search(s)]
    if not plans:
        return "missing", "", "Rencana aksi empat tahun tidak ditemukan di draf."
    four = [s for s in plans if _FOUR_YEARS.search(s) and not _PENDING.search(s)]
    if four:
        return "present", _quote(four[0]), ""
    return "unclear", _quote(plans[0]), "Rencana aksi disebut, tetapi jangka empat tahun (atau isinya) belum jelas."


_KATA = re.compile(r"(KaTa Kreatif|PMK3I|Kabupaten/Kota Kreatif Indonesia|Penilaian Mandiri Kabupaten)", re.I)
_INDONESIA = re.compile(r"\b(Indonesia|Indonésie|Kabupaten|Pemerintah Kota|Pemkot|Pemkab)\b", re.I)


def _check_kata(text: str, sents: list[str]) -> Check:
    if not _INDONESIA.search(text):
        return "unclear", "", "Negara tidak terdeteksi sebagai Indonesia; syarat ini hanya untuk nominasi Indonesia."
    hits = _find(sents, _KATA)
    if not hits:
        return "missing", "", "Status KaTa Kreatif/PMK3I tidak disebut; seleksi nasional memakai hasil PMK3I."
    firm = [s for s in hits if not _PENDING.search(s) and not _NEGATED.search(s) and not _NOT_YET.search(s)]
    if firm:
        return "present", _quote(firm[0]), ""
    if all(_NOT_YET.search(s) or _NEGATED.search(s) for s in hits) and not any(_UNDERWAY.search(s) for s in hits):
        return "missing", _quote(hits[0]), "Draf menyatakan daerah belum menjalani PMK3I/belum berstatus KaTa Kreatif."
    return "unclear", _quote(hits[0]), "PMK3I/KaTa Kreatif disebut tetapi belum selesai."


CHECKS: dict[str, Callable[[str, list[str]], Check]] = {
    "creative_field": _check_field,
    "language": _check_language,
    "form_sections": _check_form,
    "mayor_letter": lambda text, sents: _letter_check(sents, _MAYOR, "Surat Wali Kota/Bupati"),
    "national_commission": lambda text, sents: _letter_check(sents, _NATCOM, "Surat Komisi Nasional untuk UNESCO"),
    "professional_associations": _check_associations,
    "photos_rights": _check_photos,
    "action_plan": _check_plan,
    "kata_kreatif": _check_kata,
}


def check_text(text: str, citations: Callable[[Requirement], Citation | None] | None = None) -> CheckResult:
    """Check a draft's text (no index needed unless ``citations`` is given)."""
    sents = _sentences(text)
    items = []
    for req in REQUIREMENTS:
        status, evidence, note = CHECKS[req.id](text, sents)
        note = " ".join(x for x in (note, req.note) if x)
        items.append(CheckItem(id=req.id, requirement=req.label, status=status, symbol=SYMBOL[status],
                               evidence=evidence, citation=citations(req) if citations else None, note=note))
    lang, _ = detect_language(text)
    summary = {s: sum(1 for i in items if i.status == s) for s in ("present", "unclear", "missing")}
    return CheckResult(items=items, language=lang, fields=declared_fields(text)[0], summary=summary)


def check_application(assistant: Sources, text: str | bytes, filename: str | None = None) -> CheckResult:
    """Check a draft application (text, or the bytes of a txt/md/docx/pdf file named ``filename``) against the
    requirements, each with the corpus citation retrieved from ``assistant``'s index.

    Raises :class:`assistant.documents.LoadError` for an unreadable file (the API maps it to 422).
    """
    if isinstance(text, bytes):
        from assistant.documents import load_bytes

        text = load_bytes(text, filename or "draf.txt").text
    return check_text(fold_spaces(text), lambda req: requirement_citation(assistant, req))


def fold_spaces(text: str) -> str:
    """Normalise exotic spaces and quotes from word processors, keep line breaks."""
    text = text.replace("\u00a0", " ").replace("\u2019", "'").replace("\u2018", "'")
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


__all__ = ["CheckItem", "CheckResult", "REQUIREMENTS", "check_application", "check_text", "declared_fields",
           "detect_language"]
