"""Reply drafting: a focal point's message in, a formal Indonesian reply letter with citations out.

Why: focal points write letters and chat messages with several questions at once ("Mohon informasi: (1) …,
(2) …"). Answering them one by one and pasting the answers together is the work this saves. The draft is
built only from extractive answers, so every factual sentence is a quote with a ``[n]`` citation; what the
documents do not answer is said plainly, with whom to ask (only bodies the corpus names as responsible:
Kemenekraf as national focal point with KNIU, and the UCCN Secretariat at UNESCO through KNIU).

Steps: :func:`split_questions` (question marks, numbered items, "mohon info …", "apakah …"), a stand-alone
rewrite of each item with the conversation rewriter (later items may lean on earlier ones: "berapa dari
Indonesia?"), retrieval + :class:`~assistant.answer.ExtractiveAnswerer`, then the letter: salutation, one
numbered paragraph per question, citations renumbered across the whole letter, the unknowns and whom to
ask, closing.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from assistant.answer.citations import renumber_citations
from assistant.conversation import RuleRewriter, Turn, drop_set_aside, known_entities
from assistant.models import Citation
from assistant.reading.questions import QUESTION_PHRASE, opens_with_question
from assistant.text import content_terms, fold, split_sentences, stop_words, tokenize

if TYPE_CHECKING:
    from assistant.answer import Answerer
    from assistant.sources import Sources

SIGNATURE = "Tim Asisten Kota Kreatif"
_GREETING = re.compile(
    r"^\s*(?:yth\.?|kepada\b|dengan hormat|hormat (?:kami|saya)|salam\b|assalamu|wassalam|selamat (?:pagi|siang|"
    r"sore|malam)|pagi\b|siang\b|halo\b|hai\b|terima kasih|makasih|atas perhatian)", re.I)
_ASK = re.compile(
    r"\b(?:apa|apakah|siapa|kapan|berapa|bagaimana|gimana|mengapa|kenapa|di ?mana|mana|bolehkah|bisakah|"
    r"benarkah|adakah|mohon (?:info|informasi|penjelasan|data|konfirmasi|petunjuk)|mau tanya|ingin (?:mengetahui|"
    r"menanyakan|bertanya)|tolong (?:siapkan|jelaskan|informasikan))\b", re.I)
_LEAD_IN = re.compile(
    r"^.*?\b(?:mohon (?:informasi|info|penjelasan|konfirmasi|petunjuk)|mau (?:tanya|nanya)(?:\s+\d+\s+hal)?|"
    r"(?:ingin|mau|hendak) (?:mengetahui|menanyakan|bertanya)|tolong siapkan bahan jawaban untuk pimpinan|"
    r"kami mohon penjelasan|"
    r"mohon data(?P<topic>[^:?]*):)\s*(?:tentang|mengenai|terkait)?\s*:?\s*", re.I)
_PURPOSE = re.compile(r"\s+(?:untuk|bagi|guna)\s+.*$", re.I)
_NUMERIC_ITEM = re.compile(r"\b(jumlah|nilai|ekspor|kontribusi|total|angka|pangsa|persentase|tenaga kerja)\b", re.I)
_NUMBERED = re.compile(r"(?:^|\s)\(?(\d{1,2})[).]\s+")
_SPLIT_CLAUSE = re.compile(
    r",?\s*(?:\bdan\b|\bserta\b|\bsama\b|;|,)\s+(?=(?:apa|apakah|siapa|kapan|berapa|bagaimana|mengapa|di ?mana|"
    r"seperti apa|perlu)\b)", re.I)
_THANKS_TAIL = re.compile(r"\s*(?:terima kasih|makasih|atas perhatian)[^?]*$", re.I)
_UNESCO_TOPIC = re.compile(
    r"\b(mmr|laporan|templat|template\S*|format\S*|konferensi|logo|nama unesco|merchandise|panggilan|formulir|form\S*|"
    r"e-?mail|surel|kirim\S*|pengiriman|"
    r"aturan unesco|unesco|dossier|skor|penilaian|pindah bidang|prosedur)\b", re.I)
_NATIONAL_TOPIC = re.compile(r"\b(seleksi nasional|nasional|jadwal|usul|nominasi|panselnas|kata kreatif|pmk3i|"
                             r"skb|dinas|anggaran|data|pdb|total)\b", re.I)


# A first answer sentence that says the documents do not know (the answerer flags only all-unknown answers).
_SAYS_UNKNOWN = re.compile(
    r"belum ada informasi|tidak ada informasi|belum diketahui|tidak diketahui|tidak (?:tercatat|tercantum|ditemukan)|"
    r"belum (?:terkonfirmasi|dikonfirmasi|diumumkan)|tidak memuat|belum ada (?:sumber|data) resmi", re.I)


class QuestionReply(BaseModel):
    """One question of the message and how the draft answers it."""

    question: str
    standalone: str
    answer: str = Field(description="Paragraph text with letter-wide citation numbers")
    abstained: bool = False
    unknown: bool = Field(default=False, description="The documents say the answer is not known")


class DraftReply(BaseModel):
    """What :func:`draft_reply` returns (and ``POST /v1/draft``)."""

    draft: str
    citations: list[Citation] = Field(default_factory=list)
    unanswered: list[str] = Field(default_factory=list, description="Questions the documents do not answer")
    questions: list[QuestionReply] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list, description="chunk ids used, in letter order")
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The letter (the eval runner reads ``.text``)."""
        return self.draft


# --------------------------------------------------------------------------- questions
_GREETING_PREFIX = re.compile(
    r"^\s*(?:kepada\s+)?(?:yth\.?\s*[^,\n]*,|dengan hormat,?|assalamu\S*(?:\s+(?:wr|wb|warahmatullahi|"
    r"wabarakatuh)\S*)*[.,!]?|selamat (?:pagi|siang|sore|malam)\b[^,.!]*[,.!]?|(?:pagi|siang|sore|malam|halo|hai|"
    r"permisi)\b[^,.!]*[,.!])\s*", re.I)
_LIST_SPLIT = re.compile(r",\s*(?:serta|dan)\s+|\s+serta\s+|,\s*", re.I)


def _sentences(message: str) -> list[str]:
    """Sentences of the message with greeting phrases cut off ("Dengan hormat, Pemerintah Kota …" keeps the
    rest) and closing lines and signatures dropped."""
    out = []
    for line in message.replace("\r", "").split("\n"):
        line = line.strip()
        if not line or _is_signature(line):
            continue
        for a, b in split_sentences(line):
            sent = _GREETING_PREFIX.sub("", line[a:b]).strip()
            if not sent or ("?" not in sent and _GREETING.match(sent)) or _is_signature(sent):
                continue
            out.append(sent)
    return out


def split_questions(message: str) -> list[str]:
    """The questions of a message, in order.

    Greeting and closing phrases are dropped; numbered items ("(1) …, (2) …" or "1) …") each become a question;
    otherwise sentences with "?" or an asking phrase ("mohon informasi …", "apakah …") are kept, a sentence that
    chains questions ("…, dan apakah …?") is cut at each new question word, and a "mohon informasi A, B, serta C"
    list becomes one question per item.
    """
    sents = _sentences(message)
    items = _numbered_items(" ".join(sents))
    if items:
        return [q for q in (_clean_item(i) for i in items) if q]
    out: list[str] = []
    for sent in sents:
        for part in re.split(r"(?<=\?)\s+", sent):
            if "?" not in part and not _ASK.search(part):
                continue
            lead = _LEAD_IN.match(part)
            asked = "?" in part
            part = part[lead.end():] if lead else part
            clauses = _split_clauses(part)
            if lead and not asked and len(clauses) == 1 and not opens_with_question(part):
                # "Mohon informasi A, B, serta C" / "Mohon data X: A, B, dan C": one question per item, each
                # with the list's topic and years.
                topic = _PURPOSE.sub("", (lead.group("topic") or "").strip())
                years = " ".join(dict.fromkeys(re.findall(r"\b(?:19|20)\d{2}\b", part)))
                items = [p.strip(" .") for p in _LIST_SPLIT.split(part) if p.strip(" .")]
                clauses = []
                for it in items:
                    extra = " ".join(w for w in (topic, years) if w and w not in it)
                    word = "berapa" if _NUMERIC_ITEM.search(it) and topic else "apa"
                    clauses.append(f"{word} {it} {extra}".strip())
            out.extend(c if "?" in c or not asked else c + "?" for c in clauses)
    return [q for q in (_clean_item(i) for i in out) if q]


def _is_signature(line: str) -> bool:
    """A short closing line without a question: "Hormat kami,", "Kepala Bappeda Kota Depok"."""
    words = line.split()
    return len(words) <= 6 and "?" not in line and not _ASK.search(line) and line[:1].isupper() and (
        not line.rstrip().endswith(".") or len(words) <= 2) and not re.search(r"\b(kami|saya)\b", line, re.I) or (
        bool(re.match(r"^(hormat (kami|saya)|salam|wassalam|terima kasih|makasih)\b", line, re.I))
        and len(words) <= 4)


def _numbered_items(body: str) -> list[str]:
    marks = list(_NUMBERED.finditer(body))
    nums = [int(m.group(1)) for m in marks]
    if len(marks) < 2 or nums[:2] != [1, 2]:
        return []
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        out.append(body[m.end():end])
    # The last item runs on into the closing sentence ("… biaya pendaftaran. Atas perhatiannya …").
    last = out[-1]
    cut = re.search(r"[.?!]\s+[A-Z]", last)
    if cut:
        out[-1] = last[:cut.start() + 1]
    return out


def _split_clauses(sentence: str) -> list[str]:
    parts = [p.strip(" ,;") for p in _SPLIT_CLAUSE.split(sentence)]
    return [p for p in parts if p]


def _clean_item(item: str) -> str:
    asked = "?" in item
    item = _THANKS_TAIL.sub("", item).strip(" ,;:.-")
    item = re.sub(r"^(?:dan|serta|sama|lalu|terus|pak|bu|min|kak)[,\s]+", "", item, flags=re.I)
    item = re.sub(r"[,;]?\s*(?:dan|serta)$", "", item.strip(" ,;:.-?"), flags=re.I).strip(" ,;:.-")
    if len(item.split()) < 2:
        return ""
    if not opens_with_question(item) and not _ASK.search(item):
        # "Template-nya ada gak?" asks yes/no; a listed item ("dasar hukumnya") asks what.
        item = ("apakah " if asked else "apa ") + item
    return item[:1].upper() + item[1:] + "?"


# --------------------------------------------------------------------------- sender
_SENDER_PATTERNS = [
    re.compile(r"\bsaya\s+(focal point\s+(?:kota\s+|kabupaten\s+)?[A-Z][\w-]*)", re.I),
    re.compile(r"\b(?:[Kk]ami|[Ss]aya)\s+(?:dari|di)\s+((?:[A-Z][\w/-]*|dan)(?:\s+(?:[A-Z][\w/-]*))*)"),
    re.compile(r"\b[Kk]ami\s+((?:Kabupaten|Kota|Pemerintah|Pemkot|Pemkab|Provinsi)\s+[A-Z][\w-]*)"),
    re.compile(r"\b((?:Pemerintah|Panitia festival|Bappeda|Dinas)\s+(?:[\w]+\s+){0,2}(?:Kota|Kabupaten|Provinsi)\s+"
               r"[A-Z][\w-]*)", re.I),
]


def sender_of(message: str) -> str | None:
    """Who wrote the message ("Bappeda Kabupaten Banyuwangi", "focal point Ambon"), for the salutation."""
    for pat in _SENDER_PATTERNS:
        m = pat.search(message)
        if m:
            name = " ".join(m.group(1).split()).rstrip(".,")
            return name if len(name.split()) <= 6 else " ".join(name.split()[:6])
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if lines and _is_signature(lines[-1]) and re.search(r"\b(Kota|Kabupaten|Provinsi)\b", lines[-1]):
        return lines[-1].rstrip(".,")
    return None


# --------------------------------------------------------------------------- answering
_ANAPHOR = re.compile(r"\b(itu|tersebut|dia|beliau|mereka|sana)\b", re.I)
_OUR = re.compile(r"\b(\w+)\s+(kami|kita)\b", re.I)
_INTRO = re.compile(r"^.*?\b(?:kami|saya|[A-Z][\w ]+?)\s+(?:ingin|berencana|mau|akan|hendak)\s+", re.I)


_FUNCTION_WORDS = {"dari", "ke", "di", "yang", "ada", "tidak", "gak", "itu", "ini", "dan", "atau", "dengan", "untuk",
                   "juga", "saja", "perlu", "boleh", "bisa", "apakah", "apa", "siapa", "kapan", "berapa", "bagaimana",
                   "mana", "seperti", "sebenarnya", "kira-kira", "jadi", "masih", "sudah", "kami", "kita"}
_SYNONYMS = {"total": "jumlah"}  # the corpus writes "jumlah anggota"; "total anggota" only in its tables


def _own_words(question: str) -> list[str]:
    return [w for w in re.findall(r"[\w-]+", fold(question)) if w not in _FUNCTION_WORDS and w not in stop_words()]


def _standalone(assistant: Sources, question: str, previous: Turn | None, context: str,
                place: str | None) -> str:
    """A question the index can answer on its own.

    Chat spelling is normalised ("kirimnya … gimana" → "pengiriman … bagaimana"); "MMR kami" names the sender's
    place. An item with at most one word of its own is completed with the previous item ("Berapa dari
    Indonesia?" after "Berapa total anggota UCCN?") or, for the first item, the message's topic sentence
    ("Apakah boleh?" after "… ingin mencetak kaos berlogo UNESCO untuk dijual."), and so is one that points back
    with "itu/tersebut" ("Itu hitungan tahunan atau kumulatif?"); an item with a possessive "-nya"
    ("Kirimnya …") borrows names and years the way a chat follow-up does.
    """
    q = RuleRewriter.normalize_words(question)
    q = " ".join(_SYNONYMS.get(w.lower(), w) for w in q.split())
    if place:
        q = _OUR.sub(lambda m: f"{m.group(1)} {place}" if m.group(1).lower() not in ("yang", "apakah", "harus")
                     else m.group(0), q)
    base = previous if previous is not None else (
        Turn(context, _INTRO.sub("", context), "", "", [], 0.0) if context else None)
    refers = any(w.endswith("nya") and len(w) > 5 for w in fold(question).split())
    if base is not None and (len(_own_words(q)) <= 1 or _ANAPHOR.search(question)):
        borrowed = QUESTION_PHRASE.sub(" ", drop_set_aside(base.standalone))
        q = f"{q.rstrip(' ?')} {' '.join(borrowed.split()).rstrip(' ?.')}?"
    elif base is not None and refers:
        q = RuleRewriter(_known(assistant)).rewrite(q, [base])
    q = q if q.endswith("?") else q.rstrip(" .") + "?"
    return _drop_unknown_words(assistant, q[:1].upper() + q[1:], question)


def _known(sources: Sources) -> set[str]:
    return known_entities(sources.generation().chunks)


def _drop_unknown_words(assistant: Sources, standalone: str, original: str) -> str:
    """Words the rewrite borrowed from the letter that the index never uses (the sender's own city, say) would
    make the answerer abstain; the question's own words are kept whatever they are."""
    df = getattr(assistant.generation().bm25, "df", None) or {}
    if not df:
        return standalone
    own = {fold(w) for w in re.findall(r"[\w/-]+", original)}
    kept = []
    for w in standalone.rstrip("?").split():
        terms = tokenize(w)
        if fold(w.strip(",.")) in own or not terms or all(t in df for t in terms):
            kept.append(w)
    return " ".join(kept).strip() + "?"


def _context_sentence(message: str) -> str:
    """The first non-question sentence that says what the message is about ("… mengikuti Jejaring Kota Kreatif
    UNESCO."): items such as "apakah kabupaten boleh mendaftar" borrow their subject from it."""
    for s in _sentences(message):
        if "?" not in s and not _ASK.search(s) and len(s.split()) >= 4:
            return s
    return ""


def _place(sender: str | None, assistant: Sources) -> str | None:
    """The sender's city or regency when the index knows it ("focal point Ambon" → "Ambon")."""
    if not sender:
        return None
    m = re.search(r"(?:Kota|Kabupaten|Pemkot|Pemkab|Provinsi|point)\s+([A-Z][\w-]*)", sender) or re.search(
        r"([A-Z][\w-]*)$", sender)
    if not m:
        return None
    df = getattr(assistant.generation().bm25, "df", None) or {}
    terms = tokenize(m.group(1))
    return m.group(1) if terms and all(t in df for t in terms) else None


def draft_reply(assistant: Sources, answerer: Answerer, message: str, *, signature: str = SIGNATURE,
                max_questions: int = 8) -> DraftReply:
    """Answer every question of ``message`` from the index with the configured ``answerer`` and compose a formal
    reply letter."""
    t0 = time.perf_counter()
    bm25 = assistant.generation().bm25
    questions = split_questions(message)[:max_questions] or [" ".join(message.split())[:300]]
    context = _context_sentence(message)
    place = _place(sender_of(message), assistant)
    previous: Turn | None = None
    numbers: dict[str, int] = {}
    cites: dict[str, Citation] = {}
    replies: list[QuestionReply] = []
    retrieved: list[str] = []
    for q in questions:
        standalone = _standalone(assistant, q, previous, context, place)
        hits = assistant.retrieve(standalone)
        draft = answerer.answer(standalone, hits, bm25.idf, set(bm25.query_terms(standalone)))
        retrieved += [h.chunk.chunk_id for h in hits if h.chunk.chunk_id not in retrieved]
        text = renumber_citations(draft.text, draft.citations, numbers, cites)
        first = re.split(r"(?<=[.!?])\s", draft.text, maxsplit=1)[0]
        unknown = "documents_say_unknown" in draft.flags or bool(not draft.abstained and _SAYS_UNKNOWN.search(first))
        caveat = None if draft.abstained or unknown else _caveat(standalone, draft, hits)
        if caveat is not None:
            sentence, citation = caveat
            text += " Catatan: " + sentence.rstrip() + _cite(citation, numbers, cites)
            unknown = True
        replies.append(QuestionReply(question=q, standalone=standalone, answer=_letter_register(text),
                                     abstained=draft.abstained and not unknown, unknown=unknown))
        previous = Turn(q, standalone, draft.text, "", [], 0.0)
    unanswered = [r.question for r in replies if r.abstained or r.unknown]
    referral = _referral(assistant, [r for r in replies if r.abstained or r.unknown], numbers, cites)
    letter = _compose(message, replies, referral, signature)
    citations = sorted(cites.values(), key=lambda c: c.n)
    return DraftReply(draft=letter, citations=citations, unanswered=unanswered, questions=replies,
                      retrieved=retrieved,
                      timings_ms={"total": round((time.perf_counter() - t0) * 1000, 2)})


def _caveat(question: str, draft: Any, hits: list[Any]) -> tuple[str, Citation] | None:
    """A sentence in the cited chunks that says part of the matter is not known or not confirmed ("Teks UNESCO
    tentang aturan jeda tersebut tidak ditemukan …"), when the answer did not say it: a reply letter must not
    sound surer than its sources."""
    cited = {c.chunk_id for c in draft.citations}
    q_terms = content_terms(question)
    for h in hits:
        ch = h.chunk
        if ch.chunk_id not in cited:
            continue
        for a, b in split_sentences(ch.text):
            sent = " ".join(ch.text[a:b].split()).lstrip("-* ")
            if (_SAYS_UNKNOWN.search(sent) and sent not in draft.text and len(sent.split()) >= 6
                    and len(q_terms & content_terms(sent)) >= 2):
                return sent, Citation(n=0, doc_id=ch.doc_id, title=ch.title, section=ch.section, url=ch.url,
                                      date=ch.date, quote=sent, chunk_id=ch.chunk_id)
    return None


def _letter_register(text: str) -> str:
    """The answerer speaks as "saya"; a letter from an office speaks as "kami"."""
    text = text.replace("Dokumen yang saya miliki", "Dokumen yang kami miliki")
    text = text.replace("dokumen yang saya miliki", "dokumen yang kami miliki")
    return text.replace("saya tidak dapat", "kami tidak dapat")


# --------------------------------------------------------------------------- whom to ask
_FOCAL_QUERY = "focal point nasional nominasi UCCN Kemenekraf bersama KNIU"
_FOCAL_SENTENCE = re.compile(r"focal point nasional", re.I)
_KNIU_QUERY = "KNIU jembatan antara program UNESCO dan Pemerintah"
_KNIU_SENTENCE = re.compile(r"jembatan antara program UNESCO", re.I)


def _find_sentence(assistant: Sources, query: str, pattern: re.Pattern[str]) -> Citation | None:
    """A corpus sentence matching ``pattern`` among the chunks retrieved for ``query`` (a real citation)."""
    for h in assistant.retrieve(query, k=8):
        for a, b in split_sentences(h.chunk.text):
            sent = h.chunk.text[a:b].strip()
            if pattern.search(sent):
                c = h.chunk
                return Citation(n=0, doc_id=c.doc_id, title=c.title, section=c.section, url=c.url, date=c.date,
                                quote=sent, chunk_id=c.chunk_id)
    return None


def _cite(c: Citation | None, numbers: dict[str, int], cites: dict[str, Citation]) -> str:
    if c is None:
        return ""
    if c.chunk_id not in numbers:
        numbers[c.chunk_id] = len(numbers) + 1
        cites[c.chunk_id] = c.model_copy(update={"n": numbers[c.chunk_id]})
    return f" [{numbers[c.chunk_id]}]"


def _referral(assistant: Sources, unknown: list[QuestionReply], numbers: dict[str, int],
              cites: dict[str, Citation]) -> str:
    """The paragraph on what is not known and whom to ask (names only bodies the corpus names)."""
    if not unknown:
        return ""
    topics = " ".join(f"{r.question} {r.standalone}" for r in unknown)
    focal = _find_sentence(assistant, _FOCAL_QUERY, _FOCAL_SENTENCE)
    parts = []
    national = bool(_NATIONAL_TOPIC.search(topics)) or not _UNESCO_TOPIC.search(topics)
    if national:
        parts.append("Kementerian Ekonomi Kreatif (Kemenekraf) selaku focal point nasional pencalonan UCCN bersama "
                     "KNIU (Komisi Nasional Indonesia untuk UNESCO)" + _cite(focal, numbers, cites))
    if _UNESCO_TOPIC.search(topics):
        kniu = _find_sentence(assistant, _KNIU_QUERY, _KNIU_SENTENCE)
        parts.append("Sekretariat UCCN di UNESCO, melalui KNIU sebagai penghubung dengan program UNESCO"
                     + _cite(kniu, numbers, cites))
    listed = "; ".join(f"({i}) {_topic(r.question)}" for i, r in enumerate(unknown, 1))
    who = " serta ".join(parts)
    return (f"Beberapa hal belum dapat kami pastikan karena tidak ada atau belum dikonfirmasi dalam dokumen yang "
            f"kami miliki: {listed}. Untuk hal tersebut, kami sarankan Bapak/Ibu menghubungi {who}.")


def _topic(question: str) -> str:
    q = question.rstrip("?").strip()
    return q[:1].lower() + q[1:]


# --------------------------------------------------------------------------- the letter
def _compose(message: str, replies: list[QuestionReply], referral: str, signature: str) -> str:
    sender = sender_of(message)
    salutation = f"Yth. Bapak/Ibu {sender}," if sender else "Yth. Bapak/Ibu,"
    paras = [salutation, "Dengan hormat,",
             "Terima kasih atas pertanyaan yang Bapak/Ibu sampaikan. Berikut tanggapan kami berdasarkan dokumen "
             "yang kami miliki."]
    for i, r in enumerate(replies, 1):
        lead = f"{i}. Terkait pertanyaan \u201c{r.question}\u201d"
        if r.abstained:
            paras.append(f"{lead}: informasi tersebut tidak ada dalam dokumen yang kami miliki, sehingga belum "
                         f"dapat kami pastikan.")
        else:
            paras.append(f"{lead}: {r.answer}")
    if referral:
        paras.append(referral)
    paras.append("Demikian kami sampaikan. Atas perhatian Bapak/Ibu, kami ucapkan terima kasih.")
    paras.append(f"Hormat kami,\n{signature}")
    return "\n\n".join(paras)


def as_dict(reply: DraftReply) -> dict[str, Any]:
    """JSON-ready form for the CLI and the API."""
    return reply.model_dump(include={"draft", "citations", "unanswered", "questions", "timings_ms"})
