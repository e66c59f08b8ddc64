"""The extractive answer reads answer-first: the best sentence leads, the rest follow in document order."""

from __future__ import annotations

from assistant.answer import ExtractiveAnswerer
from assistant.models import Chunk, ScoredChunk


def _hit(i: int, doc: str, section: str, text: str, score: float) -> ScoredChunk:
    chunk = Chunk(doc_id=doc, title=doc, section=section, text=text, start=0, end=len(text), position=i)
    return ScoredChunk(chunk, score=score, dense=0.9, bm25=5.0)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in text.split("]") if s.strip()]


def test_a_kapan_question_is_led_by_the_dated_sentence_not_the_top_chunks_definition() -> None:
    # Same heading, so the top chunk's rank makes its definition the best-scoring sentence on its own.
    hits = [
        _hit(0, "profil", "Apa itu Jejaring Kota Kreatif?",
             "Jejaring Kota Kreatif adalah jejaring kota yang dibentuk UNESCO agar kota anggota bekerja sama "
             "memajukan budaya, kreativitas, dan pembangunan berkelanjutan.", 1.0),
        _hit(1, "glosarium", "Apa itu Jejaring Kota Kreatif?",
             "Jejaring Kota Kreatif dibentuk UNESCO pada 2004 di Paris.", 0.3),
    ]
    draft = ExtractiveAnswerer().answer("Kapan Jejaring Kota Kreatif dibentuk?", hits)
    first, *rest = _sentences(draft.text)
    assert "2004" in first and first.endswith("[1")  # numbered in order of first use: the year's chunk is [1]
    assert rest and "berkelanjutan" in rest[0]  # the definition still follows
    assert draft.citations[0].doc_id == "glosarium"


def test_a_list_keeps_its_own_order_whichever_item_scored_best() -> None:
    text = ("Lampiran aplikasi terdiri atas:\n- surat dukungan wali kota untuk pendaftaran;\n"
            "- surat dukungan Komisi Nasional UNESCO untuk pendaftaran;\n- rencana aksi empat tahun kota kreatif.")
    draft = ExtractiveAnswerer().answer("Apa saja lampiran aplikasi rencana aksi?", [_hit(0, "panduan", "Lampiran",
                                                                                         text, 1.0)])
    body = draft.text
    assert body.index("wali kota") < body.index("Komisi Nasional") < body.index("rencana aksi empat")
