"""Application readiness check on small hand-written drafts (tests/data/drafts), with their expected labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.application_check import (
    REQUIREMENTS,
    check_application,
    check_text,
    declared_fields,
    detect_language,
)
from evals.eval_checklist import docx_bytes

DRAFTS = Path(__file__).resolve().parent / "data" / "drafts"
EXPECTED = json.loads((DRAFTS / "expected.json").read_text(encoding="utf-8"))["labels"]
TEXT_DRAFTS = [n for n in EXPECTED if not n.endswith(".docx")]


@pytest.mark.parametrize("name", TEXT_DRAFTS)
def test_statuses_match_the_hand_labels(name):
    res = check_text((DRAFTS / name).read_text(encoding="utf-8"))
    assert [i.id for i in res.items] == [r.id for r in REQUIREMENTS]
    assert {i.id: i.status for i in res.items} == EXPECTED[name]
    for it in res.items:
        assert it.symbol == {"present": "✅", "unclear": "⚠️", "missing": "❌"}[it.status]
        if it.status == "present":
            assert it.evidence  # a quote from the draft shows why
    assert sum(res.summary.values()) == len(REQUIREMENTS)


def test_language_by_stop_words():
    assert detect_language("The city of Ambon will share its music with the network and its partners.")[0] == "en"
    assert detect_language("La ville d'Ambon souhaite rejoindre le réseau dans le domaine de la musique.")[0] == "fr"
    assert detect_language("Kota Ambon ingin bergabung dengan jejaring dan berbagi musik kepada dunia.")[0] == "id"
    assert detect_language("12345 — 2026")[0] == "unknown"


def test_declared_fields():
    assert declared_fields("Creative field: Gastronomy\nWe love design.")[0] == ["Gastronomy"]
    assert declared_fields("Ambarawa, a UNESCO Creative City of Design and Gastronomy")[0] == ["Design", "Gastronomy"]
    assert declared_fields("Domaine créatif : Musique")[0] == ["Music"]
    assert declared_fields("Bidang kreatif: Kerajinan dan Seni Rakyat")[0] == ["Crafts & Folk Art"]
    # A field word in ordinary prose is not a declaration.
    assert declared_fields("The festival shows films and design studios.")[0] == []


def test_two_fields_explain_the_problem():
    res = check_text((DRAFTS / "two_fields_en.md").read_text(encoding="utf-8"))
    field = res.items[0]
    assert field.status == "unclear" and "Design" in field.note and "Gastronomy" in field.note
    assert res.fields == ["Design", "Gastronomy"]


def test_pending_and_semicolon_separated_documents():
    res = {i.id: i for i in check_text("Creative field: Music. The Mayor's letter is attached; the endorsement "
                                       "letter of the National Commission for UNESCO is pending.").items}
    assert res["mayor_letter"].status == "present" and res["national_commission"].status == "unclear"
    assert "pending" in res["national_commission"].evidence


def test_check_over_the_corpus_with_real_citations(corpus_assistant):
    gen = corpus_assistant.generation()
    docs = {c.doc_id for c in gen.chunks}
    for name in TEXT_DRAFTS:
        res = check_application(corpus_assistant, (DRAFTS / name).read_bytes(), name)
        assert {i.id: i.status for i in res.items} == EXPECTED[name], name
        for it in res.items:
            c = it.citation
            assert c is not None and c.doc_id in docs and c.section
            chunk = gen.chunks[gen.ids[c.chunk_id]]
            assert " ".join(c.quote.split()) in " ".join(chunk.text.split())  # a real corpus sentence
    res = check_application(corpus_assistant, (DRAFTS / "complete_en.md").read_text(encoding="utf-8"))
    cite = {i.id: i.citation for i in res.items}
    assert "bahasa Inggris atau Prancis" in cite["language"].quote
    assert "asosiasi profesi" in cite["professional_associations"].quote
    assert "2017–2019" in next(i.note for i in res.items if i.id == "professional_associations")
    text = res.to_text()
    assert text.count("✅") == len(REQUIREMENTS) + 1 and "Sumber:" in text


def test_docx_draft(corpus_assistant):
    data = docx_bytes((DRAFTS / "missing_letters_en.txt").read_text(encoding="utf-8"))
    res = check_application(corpus_assistant, data, "draf-bitung.docx")
    assert {i.id: i.status for i in res.items} == EXPECTED["missing_letters_en.docx"]
    assert res.language == "en" and res.fields == ["Design"]


def test_unreadable_file_is_a_load_error(corpus_assistant):
    from assistant.documents import LoadError

    with pytest.raises(LoadError):
        check_application(corpus_assistant, b"PK\x03\x04 bukan docx", "rusak.docx")
