"""Loaders and chunking: every supported format yields text with section paths; bad files give clear reasons."""

from __future__ import annotations

import io
import zipfile

import pytest

from assistant.chunking import Chunker
from assistant.documents import LoadError, load_bytes

MD = """---
id: contoh
title: Dokumen Contoh
topic: pendaftaran
updated: 2026-11-28
sources:
  - url: https://contoh.test/a
    title: Sumber A
    date: "2025-01-31"
facts: [A1]
---
# Dokumen Contoh

Pengantar singkat.

## Cara mendaftar

Kota mengisi formulir dalam bahasa Inggris atau Prancis.

### Surat pendukung

Surat dari wali kota wajib dilampirkan.
"""


def _pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with ``text`` (written by hand: no PDF writer is a project dependency)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def test_markdown_front_matter_and_section_paths():
    doc = load_bytes(MD.encode(), "contoh.md")
    assert doc.doc_id == "contoh" and doc.topic == "pendaftaran" and doc.url == "https://contoh.test/a"
    assert doc.updated == "2026-11-28" and doc.facts == ["A1"]
    chunks = Chunker(200, 40).split(doc)
    sections = [c.section for c in chunks]
    assert "Cara mendaftar" in sections and "Cara mendaftar > Surat pendukung" in sections
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text  # offsets point at the chunk's text
        assert c.doc_id == "contoh" and c.url == "https://contoh.test/a" and c.date == "2026-11-28"


def test_long_section_is_split_with_overlap_and_bounded():
    body = "## Bagian panjang\n\n" + " ".join(f"Kalimat nomor {i} tentang kota kreatif." for i in range(200))
    doc = load_bytes(body.encode(), "panjang.md")
    chunks = Chunker(300, 60).split(doc)
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(chunks[i].start < chunks[i - 1].end for i in range(1, len(chunks)))  # overlap
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_a_section_that_fits_stays_whole_whatever_blank_lines_surround_it():
    # Under 300 characters of text between blank lines: at size 300 one chunk, its lead-in with its list.
    text = "Urutan persiapan:\n\n" + "\n".join(f"{i}. Langkah persiapan nomor {i} kota kreatif, ya."
                                             for i in range(1, 7))
    assert len(text) == 300  # the blank lines around it made 308, cut in two before chunker version 2
    doc = load_bytes(f"## Langkah\n\n\n\n{text}\n\n\n\n## Berikutnya\n\nLain.\n".encode(), "langkah.md")
    chunks = [c for c in Chunker(300, 60).split(doc) if c.section == "Langkah"]
    assert [c.text for c in chunks] == [text]
    assert doc.text[chunks[0].start: chunks[0].end] == text


def test_html_headings_become_sections():
    html = b"<html><head><title>Halaman</title><script>x=1</script></head><body><h2>Anggota</h2>" \
           b"<p>Bandung adalah Kota Desain.</p><h3>Pekalongan</h3><p>Kota kerajinan.</p></body></html>"
    doc = load_bytes(html, "hal.html")
    assert doc.title == "Halaman" and "x=1" not in doc.text
    secs = {c.section for c in Chunker().split(doc)}
    assert "Anggota" in secs and "Anggota > Pekalongan" in secs


def test_docx_headings_and_text():
    import docx

    d = docx.Document()
    d.add_heading("Panduan", level=1)
    d.add_paragraph("Isi panduan tentang pendaftaran.")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_bytes(buf.getvalue(), "panduan.docx")
    assert "Isi panduan" in doc.text
    assert any(c.section == "Panduan" for c in Chunker().split(doc))


def test_pdf_text_is_extracted():
    doc = load_bytes(_pdf_bytes("Kota kreatif UNESCO sejak 2004"), "x.pdf")
    assert "2004" in doc.text


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "kosong.txt", "kosong"),
        (b"\x00\x01\x02binary", "biner.txt", "biner"),
        (b"caf\xe9 latin-1", "latin.txt", "UTF-8"),
        (b"not a pdf at all", "palsu.pdf", "PDF"),
        (b"PK\x03\x04garbage", "rusak.docx", "DOCX"),
        (b"---\nid: [unclosed\n---\nisi", "yaml.md", "YAML"),
        (b"data", "gambar.png", "tidak didukung"),
        (b"   \n\n  ", "spasi.txt", "tidak ada teks"),
    ],
)
def test_bad_files_raise_clear_reasons(data, name, reason):
    with pytest.raises(LoadError) as exc:
        load_bytes(data, name)
    assert reason.lower() in str(exc.value).lower()


def test_docx_zip_bomb_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"0" * (50 * 1024 * 1024))
    with pytest.raises(LoadError, match="mencurigakan"):
        load_bytes(buf.getvalue(), "bom.docx")


def test_deeply_nested_html_is_handled():
    html = b"<div>" * 5000 + b"<p>teks dalam</p>" + b"</div>" * 5000
    try:
        doc = load_bytes(html, "dalam.html")
    except LoadError as exc:  # refusing is fine, crashing is not
        assert "dalam" in str(exc) or "rusak" in str(exc)
    else:
        assert "teks dalam" in doc.text
