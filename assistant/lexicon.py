"""What the code knows of Indonesian that no model here learns: word groups, each with the fact that justifies it.

Every group is a general fact of the language (or of how officials and chat users write it), never a fix for one
question. The reading models are trained on public QA data and take these groups only as inputs (which kind of
value a question asks for, which kind a sentence holds); the tokenizer uses the normalisation tables so that chat
forms meet the formal text of the documents.
"""

from __future__ import annotations

# -- what a question asks ---------------------------------------------------------------------------------
# Indonesian question words name the kind of answer: "kapan" a time, "berapa" an amount, "siapa" a person or
# body, "(di) mana" a place, "mengapa/kenapa" a reason, "bagaimana" a manner or procedure. Chat spellings
# ("brp", "gmn", "knp", "sapa") are the same words.
QUESTION_WORDS: dict[str, str] = {
    "kapan": "date", "bilamana": "date",
    "berapa": "number", "berapakah": "number", "brp": "number", "seberapa": "number",
    "siapa": "person", "siapakah": "person", "sapa": "person",
    "dimana": "place", "dimanakah": "place", "manakah": "place", "mana": "place",
    "mengapa": "reason", "kenapa": "reason", "knp": "reason", "napa": "reason",
    "bagaimana": "manner", "bagaimanakah": "manner", "gimana": "manner", "gmn": "manner",
    "apa": "general", "apakah": "general", "apaan": "general",
}
# "berapa" after a unit of time asks for a point in time: "tahun berapa", "tanggal berapa", "bulan apa".
TIME_UNITS = frozenset({"tahun", "tanggal", "tgl", "thn", "bulan", "abad", "hari", "jam", "pukul"})
# Words that ask for several things at once ("apa saja", "siapa aja", "sebutkan …"): the answer is a list.
LIST_WORDS = frozenset({"saja", "aja", "sebutkan", "sebutin", "daftar", "apa-apa", "langkah", "tahapan",
                        "syarat", "persyaratan", "prosedur", "urutan"})
# A question without a question word that starts with a modal or "apakah" + modal asks yes or no ("Harus …?",
# "Apakah kabupaten boleh …?").
YES_NO_WORDS = frozenset({"apakah", "harus", "wajib", "boleh", "bisa", "bisakah", "perlu", "bolehkah", "dapatkah",
                          "benarkah", "betulkah", "ada", "adakah", "sudah", "masih", "perlukah", "haruskah"})

# Chat messages ask several things at once (assistant/compound.py). A piece that opens with one of these only makes
# sense after the previous question ("sekalian yang di Ambon", "terus kalau Bandung?").
CONTINUATION_WORDS = frozenset({"sekalian", "sekaligus", "terus", "trus", "lalu", "kalau", "kalo", "klo"})
# A condition on the previous answer ("kalau sudah, …", "kalau belum, …") qualifies it instead of asking anew.
CONDITION_WORDS = frozenset({"kalau", "kalo", "klo", "jika", "bila", "seandainya"})
CONDITION_STATES = frozenset({"udah", "sudah", "iya", "ya", "belum", "tidak", "memang", "benar", "betul", "bisa",
                              "boleh", "ada"})
# A remark about the previous answer ("itu resmi?", "berarti wajib?") follows it instead of asking anew.
REMARK_WORDS = frozenset({"itu", "ini", "tersebut", "berarti", "maksudnya", "jadi"})

# -- what a sentence holds ----------------------------------------------------------------------------------
# Month names, full and as dates abbreviate them ("31 Okt 2024"): a sentence holding one gives a date.
MONTHS = frozenset({
    "januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober", "november",
    "desember", "jan", "feb", "mar", "apr", "jun", "jul", "agu", "agt", "ags", "agst", "sep", "sept", "okt", "nov",
    "des", "january", "february", "march", "may", "june", "july", "august", "october", "december",
})
# Words that state a cause or a basis: a sentence holding one can answer "mengapa".
REASON_WORDS = frozenset({"karena", "sebab", "disebabkan", "akibat", "lantaran", "berdasarkan", "didasarkan",
                          "alasan", "alasannya", "sehingga", "oleh karena"})
# Words that introduce a place ("di Bandung", "ke Paris", "dari Jawa Barat"), before a capitalised name.
PLACE_PREPOSITIONS = frozenset({"di", "ke", "dari"})
# Capitalised words that begin the name of an office or a body, not of a person: "Kementerian …", "Kota …".
INSTITUTION_WORDS = frozenset({
    "kementerian", "kemenko", "badan", "dinas", "direktorat", "komisi", "dewan", "kantor", "lembaga", "pemerintah",
    "kabinet", "kota", "kabupaten", "provinsi", "pulau", "kepulauan", "negara", "universitas", "museum", "desa",
    "jalan", "gedung", "taman", "balai", "hotel", "sekolah", "partai", "perusahaan", "bank",
})
# Honorifics and titles before a name ("Pak Budi", "Bu Sekda"): the name, if any, follows them.
HONORIFICS = frozenset({"pak", "bapak", "bu", "ibu", "mas", "mbak", "kak", "bang", "bung", "sdr", "yth"})

# -- what the documents say of themselves -----------------------------------------------------------------------
# Phrases with which a document says something is not known or not (yet) confirmed. Quoting such a statement
# is more honest than quoting a nearby fact; the answer then says the documents do not know.
UNKNOWN_PHRASES = (
    "belum ada informasi", "tidak ada informasi", "belum ada pula informasi", "tidak ada pula informasi",
    "belum diketahui", "tidak diketahui", "belum diumumkan", "tidak ditemukan", "belum ada sumber resmi",
    "belum ada data", "tidak ada dalam dokumen", "tidak tersedia dalam", "tidak tercantum", "tidak disebutkan",
    "tidak menemukan informasi", "tidak menemukan data", "tidak menemukan aturan", "belum dapat dipastikan",
    "tidak dapat dipastikan", "belum terverifikasi", "belum diverifikasi", "belum dikonfirmasi",
    "belum terkonfirmasi", "tidak terkonfirmasi",
)
# Of those, the ones that judge a claim (not a gap): to "Apa benar …?" "belum terkonfirmasi" is the answer.
UNCONFIRMED_PHRASES = ("belum terverifikasi", "belum diverifikasi", "belum dikonfirmasi", "belum terkonfirmasi",
                       "tidak terkonfirmasi", "tidak ditemukan dalam sumber resmi", "tidak ditemukan di sumber resmi")
# Words that ask whether a claim holds ("Apa benar …?", "… hoaks?").
VERIFY_WORDS = frozenset({"benar", "betul", "bener", "benarkah", "betulkah", "hoaks", "hoax"})
# Phrases with which a document says sources disagree: the answer then flags a conflict.
CONFLICT_PHRASES = ("berbeda", "tidak sama", "tidak konsisten", "selisih", "bertentangan", "versi lain",
                    "sumber lain menyebut", "simpang siur", "perbedaan angka")

# -- how words are read (assistant/text.py: BM25, word overlap, the reader's features) ----------------------------
# Question words and fillers that say nothing about the topic; they are kept out of BM25 queries.
EXTRA_STOP_WORDS = frozenset({
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
    # function words of chat purpose clauses ("biar jelas", "enaknya gimana")
    "biar", "enaknya",
})

# Words on Sastrawi's stop list that carry what is asked: "cara" (how: a procedure), and "baru", "pertama",
# "terakhir" (one end of an order: the newest, the first, the last). Without them a question keeps only its topic.
CONTENT_WORDS = frozenset({"cara", "caranya", "baru", "pertama", "terakhir"})

# Planning and budget documents, bodies and offices every Indonesian region has (DPRD, RPJMD, APBD, Disbudpar …),
# named as the context of a question ("buat argumen ke DPRD"): who asks or why, not a topic the documents must know.
CONTEXT_ACRONYMS = frozenset({
    "dprd", "dpr", "rpjmd", "rpjpd", "rkpd", "apbd", "apbn", "renstra", "renja", "musrenbang", "skpd", "bumd", "lkpj",
    "dpa", "ripekda", "ripparda", "rakor", "rakernas",
    # the asker's own office ("Kami di Disbudpar …")
    "disbudpar", "disparbud", "disparekraf", "dispar", "disbud", "diskominfo", "disperindag", "kadis", "sekda",
    "pemprov",
})

# Stems that name the same act in official writing: a report or an application is "dikirim" (sent) by those who
# ask and "diserahkan"/"disetor" (submitted) in the documents.
STEM_SYNONYMS = {"serah": "kirim", "setor": "kirim"}

# Indonesian number words (assistant/numbers.py reads them): the units, which combine with "belas" (teen),
# "puluh" (tens) and "ratus" (hundreds); the single words for ten, eleven, a hundred and a thousand; ordinals
# ("ke-" + a unit is regular: "ketiga").
CARDINAL_UNITS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8,
                  "sembilan": 9}
CARDINAL_WORDS = {"sepuluh": 10, "sebelas": 11, "seratus": 100, "seribu": 1000}
ORDINAL_WORDS = {"pertama": 1, "kesatu": 1, "kesepuluh": 10, "kesebelas": 11}
# The number words the tokenizer writes as digits ("tujuh belas" = 17): two to nine, ten and eleven. Not "satu"
# ("salah satu", "satu-satunya" are no counts), ordinals ("kedua" is also "both"), or seratus/seribu (idioms).
COUNT_WORDS = frozenset({"dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"})

# Chat spellings of Indonesian words, as focal points type them ("udah", "yg", "gimana", "ngirim", "nyiapin"),
# mapped to the standard spelling. One table for the follow-up rewriter (the stand-alone question it writes reads
# as standard Indonesian) and the tokenizer (which then stems: "mengusulkan" and "ngusulin" meet at "usul"). The
# tokenizer's -in → -kan rule covers the productive chat suffix; these are the forms it does not.
CHAT_SPELLING = {
    "aja": "saja", "udah": "sudah", "udh": "sudah", "sdh": "sudah", "gmn": "bagaimana", "gak": "tidak", "ga": "tidak",
    "enggak": "tidak", "ngga": "tidak", "tdk": "tidak", "kenapa": "mengapa", "bakal": "akan", "diadain": "diadakan",
    "jaman": "zaman", "brp": "berapa", "dimana": "di mana", "kemana": "ke mana", "yg": "yang", "dgn": "dengan",
    "utk": "untuk", "blm": "belum", "kirimnya": "pengiriman", "nyambung": "sambung", "nyambungnya": "sambung",
    "sebutin": "sebut", "nyebut": "sebut", "nyoba": "coba", "nambah": "tambah", "bareng": "bersama",
    "barengan": "bersama", "pake": "pakai", "dipake": "dipakai", "ngirim": "kirim", "telat": "terlambat",
    "dapet": "dapat", "dateng": "datang", "bikin": "buat", "gede": "besar", "ngatur": "atur", "ngecek": "periksa",
    "bener": "benar", "nulis": "tulis", "abis": "setelah", "milih": "pilih", "tgl": "tanggal", "thn": "tahun",
    "ngusulin": "mengusulkan", "diusulin": "diusulkan", "ngajuin": "ajukan", "ngapain": "apa", "gimana": "bagaimana",
    "nggak": "tidak", "nyampe": "sampai", "nunjuk": "tunjuk", "ngasih": "beri", "dikasih": "diberi", "nanya": "tanya",
    "nambahin": "tambah", "mutusin": "putus", "dtg": "datang", "dicek": "diperiksa", "nyeleksi": "seleksi",
    "taun": "tahun", "nyambungin": "hubungkan", "dijadiin": "dijadikan", "ngutip": "kutip", "nyusun": "susun",
    "nyiapin": "siapkan", "nyiapkan": "siapkan", "ngisi": "isi", "ngumpulin": "kumpulkan", "ngumpulkan": "kumpulkan",
    "nyari": "cari", "ngundang": "undang", "ngurus": "urus", "ngikut": "ikut", "ngikutin": "ikuti",
    "nentuin": "tentukan", "nunggu": "tunggu", "nerima": "terima", "ngelapor": "lapor", "ngedaftar": "daftar",
    "daftarin": "daftarkan", "nyerahin": "serahkan", "ngumumin": "umumkan", "ngajak": "ajak", "ngadain": "adakan",
    "ngeluarin": "keluarkan", "nyebutin": "sebut",
}
# English words focal points mix into Indonesian ("Requirement apa aja buat apply UCCN?", "deadline", "via
# email"), in the Indonesian the documents use; the rewriter and the tokenizer read them alike. As words the index
# never uses they also read as unknown names, and the answer abstained. Not words of the documents' English
# names: "city"/"creative" drowned "Creative Cities Connect" (measured when the field names were added), and
# "report"/"membership" put "laporan" into every "Membership Monitoring Report" (gold: 2 answers lost facts).
ENGLISH_WORDS = {
    "deadline": "batas waktu", "timeline": "jadwal", "requirement": "syarat", "requirements": "syarat",
    "apply": "daftar", "applying": "daftar", "submit": "kirim", "fee": "biaya", "fees": "biaya", "form": "formulir",
    "guideline": "pedoman", "guidelines": "pedoman", "member": "anggota", "members": "anggota", "letter": "surat",
    "event": "acara", "shortlist": "daftar pendek", "annual": "tahunan", "conference": "konferensi",
    "nominee": "nominasi", "workshop": "lokakarya", "budget": "anggaran", "upload": "unggah", "online": "daring",
    "email": "surel", "via": "melalui", "template": "templat", "template-nya": "templat", "formnya": "formulir",
    "e-mail": "surel",
}
# Forms the documents spell out, for retrieval only: officials' shorthand ("kab", "Perda"), place nicknames
# ("Jogja", "Solo"), abbreviated months and provinces, UCCN's English field names. The rewriter keeps these as the
# user wrote them: it recognises names and acronyms in that form ("UU 24/2019", "Solo").
RETRIEVAL_FORMS = {
    "cek": "periksa", "bilang": "sebut", "info": "informasi", "kab": "kabupaten",
    "pemkab": "pemerintah kabupaten", "pemkot": "pemerintah kota", "dirjen": "direktur jenderal",
    "dubes": "duta besar", "komnas": "komisi nasional", "jogja": "yogyakarta", "jogjakarta": "yogyakarta",
    "solo": "surakarta",
    "ekraf": "ekonomi kreatif", "perpres": "peraturan presiden", "permen": "peraturan menteri",
    "kemlu": "kementerian luar negeri", "ccc": "creative cities connect",
    # Government shorthand as officials write it ("Harus ada Perda dulu?"): the documents spell these out, and
    # e5 does not know the short forms either, so "Perda" found subsector lists instead of the selection criteria.
    "perda": "peraturan daerah", "pemda": "pemerintah daerah", "perwal": "peraturan wali kota",
    "perwali": "peraturan wali kota", "perbup": "peraturan bupati", "pergub": "peraturan gubernur",
    "walikota": "wali kota", "wamen": "wakil menteri", "natcom": "komisi nasional",
    "uu": "undang undang", "hki": "kekayaan intelektual",
    # Not "pp" → "peraturan pemerintah": "atur" and "perintah" occur everywhere ("mengatur", "pemerintah daerah"),
    # and the expansion cost "Isi PP 24/2022 mengatur apa?" its answer; the id "24/2022" already matches exactly.
    # The documents say "kriteria seleksi nasional" where focal points ask "syarat(nya) apa?".
    "kriteria": "syarat",
    # Months as people abbreviate them in dates ("terbit 31 Okt 2024", "berita Feb 2026"): capitalised and unknown
    # to the index, they read as names the documents never use, and the answer abstained.
    "jan": "januari", "feb": "februari", "mar": "maret", "apr": "april", "jun": "juni", "jul": "juli",
    "agu": "agustus", "agt": "agustus", "ags": "agustus", "agst": "agustus", "sep": "september",
    "sept": "september", "okt": "oktober", "nov": "november", "des": "desember",
    # More office shorthand seen in focal points' questions.
    "menpar": "menteri pariwisata", "kemenpar": "kementerian pariwisata", "opd": "organisasi perangkat daerah",
    "sertijab": "serah terima jabatan", "tautan": "url", "link": "url",
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
# What the tokenizer reads (the rewriter reads CHAT_SPELLING and ENGLISH_WORDS).
CHAT_FORMS = {**RETRIEVAL_FORMS, **ENGLISH_WORDS, **CHAT_SPELLING}
