"""Reply drafting: question splitting (no index) and whole letters over the real corpus index."""

from __future__ import annotations

import re

import pytest

from assistant.drafting import DraftReply, draft_reply, sender_of, split_questions

BANYUWANGI = (
    "Yth. Bapak/Ibu di Kementerian Ekonomi Kreatif,\n\nKami dari Bappeda Kabupaten Banyuwangi berencana mengikuti "
    "Jejaring Kota Kreatif UNESCO. Mohon informasi: (1) apakah kabupaten boleh mendaftar, (2) berapa kota yang boleh "
    "diajukan Indonesia dalam satu panggilan, (3) kapan jadwal panggilan berikutnya (2027), dan (4) apakah ada biaya "
    "pendaftaran. Atas perhatiannya kami ucapkan terima kasih.\n\nHormat kami,\nKepala Bappeda"
)


@pytest.mark.parametrize("message, expected", [
    (BANYUWANGI, ["Apakah kabupaten boleh mendaftar?",
                  "Berapa kota yang boleh diajukan Indonesia dalam satu panggilan?",
                  "Kapan jadwal panggilan berikutnya (2027)?", "Apakah ada biaya pendaftaran?"]),
    ("Pagi bu, saya focal point Ambon. Mau tanya: MMR kami jatuhnya kapan ya? Template-nya ada gak? Sama konferensi "
     "tahunan 2026 di mana? Makasih 🙏",
     ["MMR kami jatuhnya kapan ya?", "Apakah Template-nya ada gak?", "Konferensi tahunan 2026 di mana?"]),
    ("Tolong siapkan bahan jawaban untuk pimpinan: berapa total anggota UCCN saat ini, berapa dari Indonesia, dan "
     "kapan penetapan terakhir dilakukan? Terima kasih.",
     ["Berapa total anggota UCCN saat ini?", "Berapa dari Indonesia?", "Kapan penetapan terakhir dilakukan?"]),
    ("Yth. Kemenekraf, Provinsi kami berencana membentuk Dinas Ekonomi Kreatif. Mohon informasi dasar hukumnya, "
     "kaitannya dengan Asta Cita, serta nomor SKB yang dimaksud.",
     ["Apa dasar hukumnya?", "Apa kaitannya dengan Asta Cita?", "Apa nomor SKB yang dimaksud?"]),
    ("Dengan hormat, Pemerintah Kota Pekalongan ingin mengetahui apakah anggota UCCN dapat pindah bidang kreatif, "
     "serta bagaimana prosedur dan lama prosesnya.",
     ["Apakah anggota UCCN dapat pindah bidang kreatif?", "Bagaimana prosedur dan lama prosesnya?"]),
    ("min mau nanya 3 hal: 1) deadline UNESCO 2025 kemarin tanggal berapa? 2) kirimnya via email atau gimana? "
     "3) formnya ada berapa bagian sih?",
     ["Deadline UNESCO 2025 kemarin tanggal berapa?", "Kirimnya via email atau gimana?",
      "Formnya ada berapa bagian sih?"]),
])
def test_split_questions(message, expected):
    assert split_questions(message) == expected


def test_sender_for_the_salutation():
    assert sender_of(BANYUWANGI) == "Bappeda Kabupaten Banyuwangi"
    assert sender_of("Pagi bu, saya focal point Ambon. Mau tanya …") == "focal point Ambon"
    assert sender_of("Kepada Yth. Deputi\n\nMohon penjelasan …?\n\nKepala Bappeda Kota Depok") == \
        "Bappeda Kota Depok"
    assert sender_of("Bidang UCCN ada apa saja?") is None


def _cited_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def test_letter_over_the_corpus(corpus_assistant):
    reply = draft_reply(corpus_assistant, BANYUWANGI)
    assert isinstance(reply, DraftReply) and reply.text == reply.draft
    letter = reply.draft
    # Form: salutation to the sender, opening, one numbered paragraph per question, closing, signature.
    assert letter.startswith("Yth. Bapak/Ibu Bappeda Kabupaten Banyuwangi,\n\nDengan hormat,")
    for i in range(1, 5):
        assert f"\n\n{i}. Terkait pertanyaan" in letter
    assert "Demikian kami sampaikan." in letter and letter.rstrip().endswith("Hormat kami,\nTim Asisten Kota Kreatif")
    # Facts with citations renumbered across the whole letter: 1..k, each number a listed citation.
    nums = _cited_numbers(letter)
    assert nums and sorted(set(nums)) == list(range(1, len(reply.citations) + 1))
    assert [c.n for c in reply.citations] == list(range(1, len(reply.citations) + 1))
    assert len({c.chunk_id for c in reply.citations}) == len(reply.citations)
    assert "Ponorogo" in letter and "dua" in letter
    # The unknowns are said, with whom to ask (only bodies the corpus names), and that referral is cited.
    assert any("biaya" in q for q in reply.unanswered)
    referral = letter[letter.index("Beberapa hal belum dapat kami pastikan"):]
    assert "Kemenekraf" in referral and "KNIU" in referral and _cited_numbers(referral)
    focal = next(c for c in reply.citations if "focal point nasional" in c.quote)
    assert focal.doc_id in {"faq-focal-point", "anggota-uccn-indonesia", "uccn-panduan-mendaftar",
                            "seleksi-nasional-indonesia", "kementerian-ekraf"}


def test_elliptical_items_borrow_their_subject(corpus_assistant):
    msg = ("Selamat siang. Panitia festival Kota Malang ingin mencetak kaos dan tote bag berlogo \"UNESCO Creative "
           "City\" untuk dijual. Apakah boleh? Perlu izin ke siapa?")
    reply = draft_reply(corpus_assistant, msg)
    assert [q.question for q in reply.questions] == ["Apakah boleh?", "Perlu izin ke siapa?"]
    # The item borrows the topic sentence; words the index never uses ("kaos") are left out of the query.
    assert '"UNESCO Creative City" untuk dijual' in reply.questions[0].standalone
    assert "logo" in reply.draft.lower() and "izin" in reply.draft
    assert reply.draft.startswith("Yth. Bapak/Ibu Panitia festival Kota Malang,")


def test_a_message_without_questions_is_answered_as_one(corpus_assistant):
    reply = draft_reply(corpus_assistant, "Informasi tentang Kota Kreatif UNESCO bidang Musik di Indonesia")
    assert len(reply.questions) == 1 and reply.draft.startswith("Yth. Bapak/Ibu,")
