"""How the extractive answer is composed from a reading: order, lists, "not known" statements, conflicts, names the
documents never use. The readings are built by hand (which sentences, in which order, with which scores), so these
tests check the composition alone; tests/test_reading_behaviour.py checks what the trained reader chooses.

The texts are written for these tests (an invented regency and its festival).
"""

from __future__ import annotations

import numpy as np

from assistant.answer import ABSTAIN_TEXT, ExtractiveAnswerer
from assistant.answer.extractive import asking_sentences, unanswerable_names, unknown_names
from assistant.models import Chunk, ScoredChunk
from assistant.reading.candidates import candidates
from assistant.reading.questions import asked
from assistant.reading.reader import Reading


class _NoReader:
    """Composition needs no model; a reader that is never asked proves it."""

    threshold = 0.5

    def read(self, *a, **k):  # pragma: no cover - failing here means the test used the reader after all
        raise AssertionError("composition must not read")


def _hit(text: str, doc: str = "festival", section: str = "Festival", score: float = 1.0) -> ScoredChunk:
    return ScoredChunk(Chunk(doc_id=doc, title="Festival Pesisir", section=section, text=text, start=0,
                             end=len(text), position=0), score, 0.85, 3.0)


def _reading(question: str, hits: list[ScoredChunk], order: list[int], scores: list[float] | None = None) -> Reading:
    cands = candidates(hits, len(hits))
    chosen = [cands[i] for i in order] + [c for i, c in enumerate(cands) if i not in order]
    sc = scores or [5.0 - i for i in range(len(chosen))]
    sc = sc + [sc[-1] - 5.0] * (len(chosen) - len(sc))
    return Reading(question, asked(question), chosen, sc, 0.9, 0.5, np.zeros((len(chosen), 1)))


def _answer(reading: Reading) -> str:
    a = ExtractiveAnswerer(_NoReader())
    return a.render(a.choose(reading), reading).text


LIST = ("Peserta festival wajib membawa:\n- formulir pendaftaran yang ditandatangani kepala desa;\n"
        "- layang-layang buatan sendiri dari bambu;\n- bukti pembayaran iuran panitia sebesar Rp25.000.")


def test_a_list_question_gets_the_whole_list_in_its_own_order_with_its_lead_in_once():
    q = "Apa saja yang wajib dibawa peserta festival?"
    r = _reading(q, [_hit(LIST)], order=[1])  # the second item scored best
    text = _answer(r)
    assert text.count("Peserta festival wajib membawa:") == 1
    assert text.index("formulir") < text.index("layang-layang buatan") < text.index("bukti pembayaran")


def test_a_one_value_question_takes_the_best_sentence_first_then_close_ones_in_document_order():
    hits = [_hit("Festival ini digelar di Pantai Watukarang. Festival pertama berlangsung pada 12 Maret 1998. "
                 "Panitianya paguyuban nelayan setempat.")]
    r = _reading("Kapan festival pertama berlangsung?", hits, order=[1, 0, 2], scores=[5.0, 4.5, 0.0])
    text = _answer(r)
    assert text.startswith("Festival pertama berlangsung pada 12 Maret 1998. [1]")
    assert "Pantai Watukarang" in text and "paguyuban" not in text  # far below the best: left out


def test_a_statement_that_the_documents_do_not_know_is_the_answer_and_an_abstention():
    hits = [_hit("Jadwal festival tahun depan belum diumumkan oleh panitia. Festival biasanya ramai pengunjung.")]
    r = _reading("Kapan festival tahun depan?", hits, order=[0])
    a = ExtractiveAnswerer(_NoReader())
    draft = a.render(a.choose(r), r)
    assert draft.abstained and "documents_say_unknown" in draft.flags
    assert "belum diumumkan" in draft.text and "ramai" not in draft.text


def test_unconfirmed_is_a_verdict_on_a_claim_not_a_gap():
    hits = [_hit("Kabar bahwa festival akan dipindah ke kota lain belum terkonfirmasi oleh panitia.")]
    r = _reading("Apa benar festivalnya dipindah ke kota lain?", hits, order=[0])
    a = ExtractiveAnswerer(_NoReader())
    draft = a.render(a.choose(r), r)
    assert not draft.abstained and "belum terkonfirmasi" in draft.text


def test_two_places_giving_different_years_are_flagged_and_both_cited():
    hits = [_hit("Festival pertama digelar pada 1998 menurut situs kabupaten.", doc="situs", section="Sejarah"),
            _hit("Festival pertama digelar pada 2001 menurut arsip koran daerah.", doc="koran", section="Arsip")]
    r = _reading("Tahun berapa festival pertama digelar?", hits, order=[0, 1], scores=[5.0, 4.9])
    a = ExtractiveAnswerer(_NoReader())
    draft = a.render(a.choose(r), r)
    assert draft.conflict and "conflict" in draft.flags
    assert "1998" in draft.text and "2001" in draft.text and "berbeda" in draft.text
    assert len(draft.citations) == 2


def _idf(known: set[str]):
    """An index's idf: never-seen terms get the highest value, as ``BM25Index.idf`` does."""
    return lambda t: 1.0 if t in known else 6.0


KNOWN = {"festival", "pesisir", "sumberwaras", "kabupaten", "layang", "gelar", "daftar", "cara"}


def test_a_name_the_documents_never_use_is_reported_unless_the_question_asks_how():
    terms = {"festival", "layang", "tanjungsari", "gelar"}
    q = "Festival layang-layang di Tanjungsari digelar kapan?"
    assert unknown_names(q, terms, _idf(KNOWN)) == ["Tanjungsari"]
    assert unanswerable_names(q, terms, _idf(KNOWN)) == ["Tanjungsari"]
    how = "Bagaimana cara Kabupaten Tanjungsari mendaftar festival?"
    assert unknown_names(how, terms | {"daftar", "cara"}, _idf(KNOWN)) == ["Tanjungsari"]
    assert unanswerable_names(how, terms | {"daftar", "cara"}, _idf(KNOWN)) == []
    draft = ExtractiveAnswerer(_NoReader()).answer(q, [_hit(LIST)], _idf(KNOWN), terms)
    assert draft.abstained and draft.text.startswith(ABSTAIN_TEXT) and "Tanjungsari" in draft.text


def test_question_words_titles_and_regional_bodies_are_no_names():
    terms = {"festival", "dprd", "siapakah", "darimanakah"}
    assert unknown_names("Siapakah panitia festival?", terms, _idf(KNOWN)) == []
    assert unknown_names("Darimanakah festival itu berasal?", terms, _idf(KNOWN)) == []  # "-kah" asks
    assert unknown_names("Buat laporan ke DPRD, festival digelar kapan?", terms, _idf(KNOWN)) == []
    assert unknown_names("Pak Kadis tanya, festival digelar kapan?", terms | {"kadis"}, _idf(KNOWN)) == []


def test_only_the_asking_sentences_count_for_names():
    msg = "Saya dari Tanjungsari. Festival pesisir digelar kapan?"
    assert asking_sentences(msg) == ["Festival pesisir digelar kapan?"]
    assert unknown_names(msg, {"tanjungsari", "festival", "pesisir", "gelar"}, _idf(KNOWN)) == []
