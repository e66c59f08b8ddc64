"""The index's stem table: readers stem indexed words without Sastrawi, and an ingest carries the table of
chunks it did not re-tokenise."""

from __future__ import annotations

import pytest

from assistant import text


def _write(folder, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"---\nid: {name[:-3]}\ntitle: {name[:-3]}\nlanguage: id\n---\n\n{body}\n",
                               encoding="utf-8")


@pytest.fixture
def no_sastrawi(monkeypatch):
    """After this, a word that reaches Sastrawi fails the test."""
    def fail():
        raise AssertionError("Sastrawi was asked for a stem")

    text.clear_stem_memo()
    yield lambda: monkeypatch.setattr(text, "_stemmer", fail)
    text.clear_stem_memo()


def test_reader_stems_indexed_words_from_the_table(make_assistant, tmp_path, no_sastrawi):
    docs = tmp_path / "docs"
    _write(docs, "pendaftaran.md", "Pemerintah kota mengajukan permohonan keanggotaan dengan melampirkan "
                                   "rencana kegiatan dan surat dukungan dari pemangku kepentingan.")
    a = make_assistant()
    a.ingest([docs])
    chunk = a.generation().chunks[0]
    expected = text.tokenize(chunk.embed_text)

    text.clear_stem_memo()
    reader = make_assistant()  # a fresh reader loads the generation from disk, table included
    reader.generations._last = None
    reader.generation()
    no_sastrawi()
    assert text.tokenize(chunk.embed_text) == expected
    assert text.stem("melampirkan") == "lampir"


def test_ingest_carries_the_table_of_unchanged_chunks(make_assistant, tmp_path, no_sastrawi):
    docs = tmp_path / "docs"
    _write(docs, "a.md", "Kota-kota anggota melaporkan kegiatannya setiap empat tahun.")
    _write(docs, "b.md", "Festival kerajinan diselenggarakan bersama komunitas pengrajin.")
    a = make_assistant()
    a.ingest([docs])
    first = dict(a.generation().bm25.stems)
    assert first.get("melaporkan") == "lapor"

    _write(docs, "b.md", "Festival kerajinan tahunan diselenggarakan bersama komunitas pengrajin lokal.")
    text.clear_stem_memo()  # a new process: unchanged a.md is not tokenised again
    b = make_assistant()
    b.generations._last = None
    b.ingest([docs])
    table = b.generation().bm25.stems
    assert table.get("melaporkan") == "lapor"  # carried from the old generation
    assert "tahunan" in table and "lokal" in table  # from the re-tokenised file


def test_a_misspelt_name_is_corrected_through_the_indexed_word_not_its_stem() -> None:
    # Sastrawi cuts "pekalongan" to "kalong": the typo "pekalongn" is far from that stem, next to the word.
    vocab = {"kalong", "anggota", "uccn"}
    surface = {"pekalongan": "kalong", "anggota": "anggota", "uccn": "uccn"}
    assert text.correct_terms(["pekalongn", "anggota"], vocab) == ["pekalongn", "anggota"]
    assert text.correct_terms(["pekalongn", "anggota"], vocab, surface=surface) == ["kalong", "anggota"]
    # a surface word whose stem the index no longer holds (a removed document's table entry) is not used
    assert text.correct_terms(["pekalongn"], {"anggota"}, surface=surface) == ["pekalongn"]
    assert text.correct_terms(["surabaya"], vocab, surface={**surface, "surakarta": "surakarta"}) == ["surabaya"]


def test_a_tokenizer_change_makes_the_index_stale(make_assistant, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    _write(docs, "a.md", "Kota-kota anggota melaporkan kegiatannya setiap empat tahun.")
    a = make_assistant()
    a.ingest([docs])
    assert not a.is_stale([docs])
    import assistant.indexer as indexer

    monkeypatch.setattr(indexer, "TOKENIZER_VERSION", text.TOKENIZER_VERSION + 1)
    assert a.is_stale([docs])  # its BM25 tokens and stem table were written by another tokenizer


def test_number_words_are_tokenised_as_digits() -> None:
    # "enam besar" has to meet "top 6", "tujuh belas subsektor" meet "17 subsektor"
    assert text.tokenize("enam besar seleksi") == text.tokenize("6 besar seleksi")
    assert text.tokenize("tujuh belas subsektor") == text.tokenize("17 subsektor")
    assert text.tokenize("dua puluh tiga kota") == text.tokenize("23 kota")
    assert text.tokenize("sepuluh prinsip, sebelas kota") == text.tokenize("10 prinsip, 11 kota")
    # "satu" is no count in "salah satu", and "kedua" is also "both": both stay words
    assert "1" not in text.tokenize("salah satu kota") and "2" not in text.tokenize("kedua kota")


def test_uccn_field_names_in_english_meet_the_indonesian_text() -> None:
    assert "sastra" in text.tokenize("City of Literature") and "arsitektur" in text.tokenize("City of Architecture")
    # "city" itself stays: mapped to "kota", "Creative Cities Connect" drowned in every chunk about cities
    assert "kota" not in text.tokenize("Creative Cities Connect")
