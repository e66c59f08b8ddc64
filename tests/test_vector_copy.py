"""Each generation keeps a copy of its chunks' vectors, row for row: the same floats Chroma holds, carried across
partial re-ingests, gained by an index written before copies were kept, and giving the same ranking as Chroma."""

from __future__ import annotations

import numpy as np

from assistant.store import VECTORS_FILE


def _write(folder, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"---\nid: {name[:-3]}\ntitle: {name[:-3]}\nlanguage: id\n---\n\n{body}\n",
                               encoding="utf-8")


def _assert_rows_match_chroma(a) -> None:
    gen = a.generation()
    assert gen.vectors is not None and gen.vectors.shape == (len(gen.chunks), a.embedder.dim)
    stored = a.vectors.vectors_of([c.chunk_id for c in gen.chunks])
    for i, c in enumerate(gen.chunks):
        np.testing.assert_array_equal(gen.vectors[i], stored[c.chunk_id])


def test_rows_follow_the_chunks_across_a_partial_reingest(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "a.md", "Kota anggota menyerahkan laporan pemantauan keanggotaan setiap empat tahun.")
    _write(docs, "b.md", "Festival kerajinan diselenggarakan bersama komunitas pengrajin.")
    _write(docs, "c.md", "Focal point nasional mengoordinasikan surat dukungan dari kementerian.")
    a = make_assistant()
    a.ingest([docs])
    _assert_rows_match_chroma(a)

    # b changes, c goes, d arrives: the kept rows move with their chunks and the new ones are appended
    _write(docs, "b.md", "Festival kerajinan tahunan diselenggarakan bersama komunitas pengrajin lokal.")
    (docs / "c.md").unlink()
    _write(docs, "d.md", "Kota desain mengembangkan ruang kreatif untuk pelaku usaha rintisan.")
    fresh = make_assistant()  # a new process: the old rows come from the old generation's file
    fresh.generations._last = None
    fresh.ingest([docs])
    _assert_rows_match_chroma(fresh)
    assert {c.doc_id for c in fresh.generation().chunks} == {"a", "b", "d"}


def test_index_without_a_copy_gains_one_on_the_next_ingest(make_assistant, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "a.md", "Kota anggota menyerahkan laporan pemantauan keanggotaan setiap empat tahun.")
    a = make_assistant()
    a.ingest([docs])
    gen = a.generation()
    (a.generations.gens / gen.name / VECTORS_FILE).unlink()  # as an index written before copies were kept

    b = make_assistant()
    b.generations._last = None
    assert b.generation().vectors is None
    hits = b.retrieve("laporan pemantauan keanggotaan")  # still answers, scoring from Chroma
    assert hits and hits[0].chunk.doc_id == "a"
    report = b.ingest([docs])
    assert report.embedded == 0 and report.generation != gen.name
    _assert_rows_match_chroma(b)


def test_scores_from_the_copy_equal_scores_from_chroma(corpus_assistant):
    a = corpus_assistant
    gen = a.generation()
    assert gen.vectors is not None
    questions = ["Kapan Jejaring Kota Kreatif UNESCO dibentuk?", "Apa itu PMK3I?",
                 "Berapa kota Indonesia yang menjadi anggota UCCN?", "UU 24/2019 mengatur apa?"]
    with_copy = [[(h.chunk.chunk_id, h.score, h.dense) for h in a.retrieve(q)] for q in questions]
    kept, gen.vectors = gen.vectors, None  # the fallback: cosines of known chunks fetched from Chroma
    try:
        from_chroma = [[(h.chunk.chunk_id, h.score, h.dense) for h in a.retrieve(q)] for q in questions]
    finally:
        gen.vectors = kept
    for x, y in zip(with_copy, from_chroma, strict=True):
        assert [c for c, _, _ in x] == [c for c, _, _ in y]
        np.testing.assert_allclose([s for _, s, _ in x], [s for _, s, _ in y], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose([d for _, _, d in x], [d for _, _, d in y], rtol=1e-5, atol=1e-6)
