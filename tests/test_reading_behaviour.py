"""What the trained reader does, on text written for these tests (an invented regency, festival and museum).

The real embedding model scores the chunks and sentences, the shipped selector and abstainer read them: these are
tests of the behaviour the models were trained for, not of any eval item.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer import ABSTAIN_TEXT, ExtractiveAnswerer
from assistant.models import Chunk, ScoredChunk
from assistant.reading.reader import Reader

FESTIVAL = ("Festival Layang-Layang Pesisir adalah acara tahunan Kabupaten Sumberwaras yang menampilkan layang-layang "
            "tradisional dari desa-desa nelayan. Festival ini diselenggarakan oleh Dinas Pariwisata bersama "
            "paguyuban nelayan setempat. Festival pertama digelar pada 12 Maret 1998 di Pantai Watukarang. "
            "Setiap peserta wajib membuat layang-layangnya sendiri dari bambu dan kertas minyak. Juri menilai "
            "keindahan, ketinggian terbang, dan kesesuaian dengan motif tradisi.")
MUSEUM = ("Museum Rempah Sumberwaras menyimpan koleksi alat dapur dan rempah dari abad ke-18. Museum ini dikelola "
          "oleh yayasan keluarga Wiradikarta sejak dibuka untuk umum. Pengunjung dapat mengikuti kelas memasak "
          "jamu pada akhir pekan.")
PORT = ("Pelabuhan Watukarang menjadi pintu masuk utama wisatawan yang datang dengan kapal dari pulau-pulau sekitar. "
        "Kapal penyeberangan berangkat tiga kali sehari dari dermaga timur.")


@pytest.fixture(scope="module")
def read(embedder):
    """hits for a question over the three chunks, ranked by the real model's cosine, and a reader."""
    chunks = [Chunk(doc_id=d, title=t, section="", text=x, start=0, end=len(x), position=0)
              for d, t, x in (("festival", "Festival Layang-Layang", FESTIVAL), ("museum", "Museum Rempah", MUSEUM),
                              ("pelabuhan", "Pelabuhan", PORT))]
    vecs = embedder.embed_documents_np([c.embed_text for c in chunks])
    reader = Reader(embedder)

    def hits(question: str) -> list[ScoredChunk]:
        cos = vecs @ embedder.embed_query_np(question)
        order = np.argsort(-cos)
        return [ScoredChunk(chunks[i], float(1 - 0.1 * r), float(cos[i]), None) for r, i in enumerate(order)]

    return hits, reader


def _first_sentence(text: str) -> str:
    return text.split("]")[0]


@pytest.mark.parametrize("question, expected", [
    ("Kapan festival layang-layang pesisir pertama kali diadakan?", "1998"),
    pytest.param("Siapa yang mengelola museum rempah itu?", "Wiradikarta", marks=pytest.mark.xfail(
        strict=True, reason="known gap of the shipped selector: the chunk's opening sentence outranks the one naming "
                            "the manager (valid top-1 given candidates: TyDi 0.70, project 0.69; docs/evaluation.md)")),
    ("Berapa kali sehari kapal penyeberangan berangkat?", "tiga kali"),
    ("Di pantai mana festival layang-layang pertama diadakan?", "Watukarang"),
])
def test_the_sentence_holding_the_asked_kind_of_value_leads(read, question, expected):
    hits, reader = read
    reading = reader.read(question, hits(question))
    assert expected in reading.best.text
    draft = ExtractiveAnswerer(reader).answer(question, hits(question))
    assert not draft.abstained
    assert expected in _first_sentence(draft.text)


@pytest.mark.xfail(strict=True, reason="known gap: at the false-abstention limit of 0.05 the abstainer lets most "
                   "on-topic unanswerable questions through (docs/evaluation.md). The score ordering, asserted "
                   "first, holds")
def test_an_on_topic_passage_without_the_asked_fact_is_not_answered(read):
    hits, reader = read
    # The festival chunk is about the question's topic but says nothing of a ticket price.
    question = "Berapa harga tiket masuk Festival Layang-Layang Pesisir?"
    reading = reader.read(question, hits(question))
    answered = reader.read("Kapan Festival Layang-Layang Pesisir pertama digelar?",
                           hits("Kapan Festival Layang-Layang Pesisir pertama digelar?"))
    assert reading.p_answer < answered.p_answer
    draft = ExtractiveAnswerer(reader).answer(question, hits(question))
    assert draft.abstained and draft.text.startswith(ABSTAIN_TEXT)


def test_a_question_about_something_else_entirely_is_not_answered(read):
    hits, reader = read
    question = "Berapa tarif listrik rumah tangga per kWh tahun ini?"
    draft = ExtractiveAnswerer(reader).answer(question, hits(question))
    assert draft.abstained
