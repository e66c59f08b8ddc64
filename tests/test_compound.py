"""Messages asking several things: split into parts, each answered, answers merged with one numbering."""

from __future__ import annotations

import pytest

from assistant.answer import ABSTAIN_TEXT
from assistant.answer.base import Draft
from assistant.compound import merge_drafts, split_asks
from assistant.models import Citation


@pytest.mark.parametrize("message, parts", [
    ("Creative Cities Connect 2025 kemarin digelar di gedung apa & direktorat mana di Kemenekraf yang melaksanakannya?",
     ["Creative Cities Connect 2025 kemarin digelar di gedung apa",
      "direktorat mana di Kemenekraf yang melaksanakannya?"]),
    ("UCCN dibentuk UNESCO tahun brp ya? anggota Indonesia yg pertama kota apa",
     ["UCCN dibentuk UNESCO tahun brp ya?", "anggota Indonesia yg pertama kota apa"]),
    ("plakat monumen UCCN Bandung letaknya di mana? sekalian punya Jakarta",
     ["plakat monumen UCCN Bandung letaknya di mana?", "sekalian punya Jakarta"]),
    # short, but each has a word of its own
    ("Kalau 2024 tuan rumahnya kota apa? temanya?", ["Kalau 2024 tuan rumahnya kota apa?", "temanya?"]),
    ("Evaluasi ECOPER itu periode tahun brp aja, trus hasilnya dilaporin ke mana?",
     ["Evaluasi ECOPER itu periode tahun brp aja", "trus hasilnya dilaporin ke mana?"]),
    # Scene-setting stays with the question it introduces; a purpose clause with the one before it.
    ("Kota kami baru ditetapkan tahun 2025. Laporan MMR pertama harus masuk tahun berapa? Kirimnya lewat apa?",
     ["Kota kami baru ditetapkan tahun 2025. Laporan MMR pertama harus masuk tahun berapa?", "Kirimnya lewat apa?"]),
])
def test_a_message_is_cut_where_each_side_asks(message, parts):
    assert split_asks(message) == parts


@pytest.mark.parametrize("message", [
    "Kapan dan di mana penetapan KaTa Kreatif 2025?",  # one predicate, two question words
    "kapan Malang & Ponorogo diberitakan resmi diusulkan ke UNESCO?",  # "&" between two names
    "Apa itu PMK3I & KaTa Kreatif?",  # "&" inside one question: no question word after it
    "Kota Medan udah jadi anggota UCCN belum? kalau sudah, bidangnya apa?",  # a condition on the first answer
    "Pekalongan dapet kabar lolos UCCN dari mana? surat resmi atau liat di web?",  # alternatives for it
    "Kalau PMK3I? itu program Kemenekraf juga?",  # a remark about the same question
    # a purpose clause stays with the question before it
    "Biasanya tim penilai PMK3I minta dokumen apa aja ke pemda? biar dinas kami bisa nyicil nyiapin berkasnya",
    "Minggu depan tim uji petik mau datang. Biasanya yang dicek apa saja?",
])
def test_one_question_stays_whole(message):
    assert split_asks(message) == [" ".join(message.split())]


def _cite(n: int, chunk: str, quote: str) -> Citation:
    return Citation(n=n, doc_id=chunk.split("#")[0], title="t", section="s", quote=quote, chunk_id=chunk)


def test_merged_answers_number_each_chunk_once_and_say_which_part_is_unanswered():
    a = Draft("Tempatnya Thamrin Nine. [1] Dibuka menteri. [2]", False,
              [_cite(1, "ccc#1", "Tempatnya Thamrin Nine."), _cite(2, "ccc#2", "Dibuka menteri.")])
    b = Draft("Pelaksananya Direktorat Fasilitasi Infrastruktur. [1] Dibuka menteri. [2]", False,
              [_cite(1, "ccc#3", "Pelaksananya Direktorat Fasilitasi Infrastruktur."),
               _cite(2, "ccc#2", "Dibuka menteri.")])
    c = Draft(ABSTAIN_TEXT, True)
    merged = merge_drafts([("tempatnya di mana", a), ("pelaksananya apa?", b), ("anggarannya berapa?", c)])
    first, second, third = merged.text.split("\n\n")
    assert first == "Tempatnya Thamrin Nine. [1] Dibuka menteri. [2]"
    assert second == "Pelaksananya Direktorat Fasilitasi Infrastruktur. [3]"  # the repeated sentence said once
    assert third.startswith("Tentang “anggarannya berapa?”") and "tidak ada dalam dokumen" in third
    assert [(c.n, c.chunk_id) for c in merged.citations] == [(1, "ccc#1"), (2, "ccc#2"), (3, "ccc#3")]
    assert not merged.abstained and "compound" in merged.flags
    assert merge_drafts([("a?", c), ("b?", c)]).abstained


def test_a_compound_message_is_answered_part_by_part(corpus_assistant):
    """Through the real index: one query for the whole message found only the venue's chunk."""
    r = corpus_assistant.ask("Creative Cities Connect 2025 kemarin digelar di gedung apa & unit pelaksananya "
                             "direktorat mana di Kemenekraf?")
    assert not r.abstained and "compound" in r.flags
    venue, organiser = r.answer.split("\n\n")[:2]
    assert "Thamrin Nine" in venue
    assert "Direktorat Fasilitasi Infrastruktur" in organiser
    numbers = sorted({c.n for c in r.citations})
    assert numbers == list(range(1, len(numbers) + 1))


def test_each_part_of_a_compound_follow_up_is_read_against_the_conversation(corpus_assistant):
    first = corpus_assistant.ask("Konferensi Tahunan UCCN itu apa?")
    r = corpus_assistant.ask("Kalau 2024 tuan rumahnya kota apa? temanya?", conversation_id=first.conversation_id)
    assert "compound" in r.flags and not r.abstained
    assert "Braga" in r.answer
    # The conversation goes on from the last part ("… tema …"), not from the joined message.
    turn = corpus_assistant.conversations.history(first.conversation_id)[-1]
    assert "tema" in turn.standalone.lower() and "?" not in turn.standalone.rstrip("?")
