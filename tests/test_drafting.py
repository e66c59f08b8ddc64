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
    ("Siang pak, saya focal point Bandung. Mau tanya: laporan MMR kota kami kapan jatuh temponya? Formatnya ada "
     "contoh gak? Terus konferensi tahunan 2025 tempatnya di mana? Makasih 🙏",
     ["Laporan MMR kota kami kapan jatuh temponya?", "Apakah Formatnya ada contoh gak?",
      "Konferensi tahunan 2025 tempatnya di mana?"]),
    ("Untuk rapat pimpinan, kami ingin mengetahui: kapan Kota Ambon ditetapkan UNESCO, apa bidangnya, dan siapa "
     "focal point-nya? Terima kasih.",
     ["Kapan Kota Ambon ditetapkan UNESCO?", "Apa bidangnya?", "Siapa focal point-nya?"]),
    ("Yth. Kemenekraf, Kota kami akan menyusun rencana induk ekonomi kreatif daerah. Mohon informasi daftar "
     "subsektornya, undang-undang yang menjadi acuannya, serta peran PMK3I di dalamnya.",
     ["Apa daftar subsektornya?", "Apa undang-undang yang menjadi acuannya?", "Apa peran PMK3I di dalamnya?"]),
    ("Dengan hormat, Pemerintah Kota Pekalongan ingin mengetahui apakah anggota UCCN dapat pindah bidang kreatif, "
     "serta bagaimana prosedur dan lama prosesnya.",
     ["Apakah anggota UCCN dapat pindah bidang kreatif?", "Bagaimana prosedur dan lama prosesnya?"]),
    ("kak mau nanya 3 hal: 1) MMR itu wajib dikirim tiap berapa tahun? 2) laporannya dikirim lewat apa? "
     "3) batas halamannya berapa sih?",
     ["MMR itu wajib dikirim tiap berapa tahun?", "Laporannya dikirim lewat apa?", "Batas halamannya berapa sih?"]),
])
def test_split_questions(message, expected):
    assert split_questions(message) == expected


def test_sender_for_the_salutation():
    assert sender_of(BANYUWANGI) == "Bappeda Kabupaten Banyuwangi"
    assert sender_of("Siang pak, saya focal point Bandung. Mau tanya …") == "focal point Bandung"
    assert sender_of("Kepada Yth. Deputi\n\nMohon penjelasan …?\n\nKepala Bappeda Kota Depok") == \
        "Bappeda Kota Depok"
    assert sender_of("Bidang UCCN ada apa saja?") is None


def _cited_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def test_letter_over_the_corpus(corpus_assistant):
    reply = draft_reply(corpus_assistant, corpus_assistant.letter_answerer, BANYUWANGI)
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
    # Which bodies are named depends on which questions the reader could not answer (national ones send the
    # reader to Kemenekraf as well); KNIU is named either way, and the referral is cited.
    assert "KNIU" in referral and _cited_numbers(referral)


def test_elliptical_items_borrow_their_subject(corpus_assistant):
    msg = ("Selamat pagi. Dinas Pariwisata Kota Ambon hendak memasang logo \"UNESCO Creative City\" pada suvenir "
           "yang akan dijual. Apakah diperbolehkan? Izinnya ke mana?")
    reply = draft_reply(corpus_assistant, corpus_assistant.letter_answerer, msg)
    assert [q.question for q in reply.questions] == ["Apakah diperbolehkan?", "Izinnya ke mana?"]
    # Each item borrows the topic sentence; words the index never uses ("suvenir") are left out of the query.
    for q in reply.questions:
        assert 'logo "UNESCO Creative City"' in q.standalone and "dijual" in q.standalone
        assert "suvenir" not in q.standalone
    # The letter answers about the logo's use: whose permission ("izin" or "persetujuan") it needs.
    assert "logo" in reply.draft.lower() and ("izin" in reply.draft or "persetujuan" in reply.draft)
    assert reply.draft.startswith("Yth. Bapak/Ibu Dinas Pariwisata Kota Ambon,")


def test_a_message_without_questions_is_answered_as_one(corpus_assistant):
    reply = draft_reply(corpus_assistant, corpus_assistant.letter_answerer,
                        "Informasi tentang Kota Kreatif UNESCO bidang Musik di Indonesia")
    assert len(reply.questions) == 1 and reply.draft.startswith("Yth. Bapak/Ibu,")
