"""Load source files into :class:`~assistant.models.Document` objects.

Supported: Markdown with YAML front matter (the corpus format), plain text, PDF, HTML and DOCX. Headings of
HTML and DOCX are turned into Markdown ``#`` lines so the chunker can keep section paths for every format.

Every problem with a file raises :class:`LoadError` with an Indonesian reason; the indexer reports it and goes
on with the other files (a broken file never stops an ingest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from assistant.models import Document

# Bump when parsing changes what a file turns into: unchanged files are then re-chunked on the next ingest.
LOADER_VERSION = 2
SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".pdf", ".html", ".htm", ".docx"}
# Files that document a folder rather than hold knowledge.
IGNORED_NAMES = {"README.md", "readme.md", "LICENSE", ".gitkeep"}
# A .docx is a zip: refuse archives that inflate past this (zip bombs) or at absurd ratios.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_RATIO = 200
# HTML: tags beyond this are refused before parsing (memory and time grow with the tag count).
MAX_HTML_TAGS = 200_000
_START_TAG = re.compile(r"<[A-Za-z]")
_HTML_HEADINGS = {"h1", "h2", "h3", "h4"}
_HTML_BLOCKS = {"p", "li", "td", "pre", "blockquote"}
_HTML_CONTAINERS = {"p", "li", "td", "blockquote"}  # a block inside one of these is part of its text


class LoadError(Exception):
    """A file that cannot be indexed; the message says why, in Indonesian."""


def iter_source_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every candidate file under the given files/folders, sorted for a stable order."""
    for root in paths:
        root = Path(root)
        if root.is_file():
            yield root
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.name not in IGNORED_NAMES and not any(part.startswith(".") for part in p.parts):
                yield p


def slugify(text: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "-", text.lower()).strip("-")
    return s or "dokumen"


def load_file(path: Path, *, max_bytes: int, doc_id: str | None = None) -> Document:
    """Read one file; raise :class:`LoadError` if it cannot be indexed."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"jenis berkas tidak didukung ({suffix or 'tanpa ekstensi'})")
    try:
        size = path.stat().st_size
        if size == 0:
            raise LoadError("berkas kosong")
        if size > max_bytes:
            raise LoadError(f"berkas terlalu besar ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"berkas tidak dapat dibaca ({exc.strerror or exc})") from exc
    return load_bytes(data, path.name, suffix=suffix, path=str(path), doc_id=doc_id)


def load_bytes(data: bytes, name: str, *, suffix: str | None = None, path: str | None = None,
               doc_id: str | None = None) -> Document:
    """Parse file content already in memory (used by uploads as well as by :func:`load_file`)."""
    suffix = (suffix or Path(name).suffix).lower()
    if not data:
        raise LoadError("berkas kosong")
    file_hash = hashlib.sha256(data).hexdigest()
    stem_id = doc_id or slugify(Path(name).stem)
    try:
        if suffix in {".md", ".markdown"}:
            doc = _load_markdown(_decode(data), stem_id)
        elif suffix == ".txt":
            doc = _plain_document(_decode(data), stem_id, Path(name).stem)
        elif suffix == ".pdf":
            doc = _plain_document(_pdf_text(data), stem_id, Path(name).stem)
        elif suffix in {".html", ".htm"}:
            doc = _load_html(_decode(data), stem_id, Path(name).stem)
        elif suffix == ".docx":
            doc = _plain_document(_docx_text(data), stem_id, Path(name).stem)
        else:
            raise LoadError(f"jenis berkas tidak didukung ({suffix})")
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError("struktur dokumen terlalu dalam untuk dibaca") from exc
    except Exception as exc:  # a parser library failing on a broken file: report, never crash the ingest
        raise LoadError(f"berkas rusak atau tidak dapat diurai ({type(exc).__name__})") from exc
    if not doc.text.strip():
        raise LoadError("tidak ada teks yang dapat diindeks")
    doc.path = path or name
    doc.file_hash = file_hash
    return doc


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError("berkas biner, bukan teks")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"pengodean teks tidak valid (bukan UTF-8, byte ke-{exc.start})") from exc


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def _load_markdown(text: str, fallback_id: str) -> Document:
    meta: dict[str, Any] = {}
    body = text
    m = _FRONT.match(text)
    if m:
        try:
            meta = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"front matter YAML tidak valid ({exc.__class__.__name__})") from exc
        if not isinstance(meta, dict):
            raise LoadError("front matter harus berupa pemetaan YAML")
        body = text[m.end():]
    body = tables_to_sentences(body)
    title = str(meta.get("title") or _first_heading(body) or fallback_id)
    sources = []
    for s in meta.get("sources") or []:
        if isinstance(s, dict):
            sources.append({k: _as_str(s.get(k, "")) for k in ("url", "title", "date")})
        elif isinstance(s, str):
            sources.append({"url": s, "title": "", "date": ""})
    return Document(
        doc_id=str(meta.get("id") or fallback_id), title=title, text=body, path="",
        language=str(meta.get("language") or "id"), topic=str(meta.get("topic") or ""),
        updated=_as_str(meta.get("updated", "")), sources=sources,
        facts=[str(f) for f in meta.get("facts") or []],
    )


_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def tables_to_sentences(body: str) -> str:
    """Rewrite Markdown tables as one self-contained line per row ("Tahun 2015: Kota baru 47; Total 116.").

    A table row cut off from its header means nothing to a reader or to retrieval; as a line that repeats the
    column names, each row survives chunking and can be quoted as an answer.
    """
    lines = body.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if (i + 1 < len(lines) and lines[i].lstrip().startswith("|") and _TABLE_SEP.match(lines[i + 1])):
            header = _cells(lines[i])
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                pairs = [(h, c) for h, c in zip(header, cells, strict=False) if c and c != "-"]
                if pairs:
                    (h0, c0), rest = pairs[0], pairs[1:]
                    tail = "; ".join(f"{h}: {c}" for h, c in rest)
                    out.append(f"- {h0} {c0}: {tail}." if tail else f"- {h0} {c0}.")
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]


def _as_str(v: Any) -> str:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return "" if v is None else str(v)


def _first_heading(body: str) -> str | None:
    m = re.search(r"^#{1,3}\s+(.+?)\s*#*\s*$", body, re.M)
    return m.group(1).strip() if m else None


def _plain_document(text: str, doc_id: str, name: str) -> Document:
    title = _first_heading(text) or next((ln.strip() for ln in text.splitlines() if ln.strip()), name)[:120]
    return Document(doc_id=doc_id, title=title, text=text, path="")


def _pdf_text(data: bytes) -> str:
    if not data.lstrip().startswith(b"%PDF"):
        raise LoadError("bukan berkas PDF yang valid")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise LoadError("PDF terenkripsi")
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    return "\n\n".join(p for p in pages if p)


def _docx_text(data: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LoadError("bukan berkas DOCX yang valid") from exc
    total = sum(i.file_size for i in zf.infolist())
    packed = max(1, sum(i.compress_size for i in zf.infolist()))
    if total > MAX_DOCX_UNCOMPRESSED or total / packed > MAX_DOCX_RATIO:
        raise LoadError("arsip DOCX mencurigakan (ukuran terurai terlalu besar)")
    if "word/document.xml" not in zf.namelist():
        raise LoadError("bukan berkas DOCX yang valid")
    import docx

    d = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for p in d.paragraphs:
        txt = p.text.strip()
        if not txt:
            continue
        style = (p.style.name or "").lower() if p.style is not None else ""
        m = re.match(r"(heading|judul)\s*(\d)", style)
        if style == "title":
            lines.append(f"# {txt}")
        elif m:
            lines.append("#" * min(int(m.group(2)) + 1, 4) + " " + txt)
        else:
            lines.append(txt)
    for table in d.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    return "\n\n".join(lines)


def _load_html(text: str, doc_id: str, name: str) -> Document:
    from bs4 import BeautifulSoup, Tag

    # Every tag costs ~0.6 KB of parse tree: 20 MB of "<div>" would need over a gigabyte and half a minute.
    tags = sum(1 for _ in _START_TAG.finditer(text))
    if tags > MAX_HTML_TAGS:
        raise LoadError(f"HTML terlalu rumit ({tags:,} tag; maksimum {MAX_HTML_TAGS:,})".replace(",", "."))
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "footer"]):
        tag.decompose()
    title = (soup.title.get_text(strip=True) if soup.title else "") or ""
    # One pass in document order with "inside a block / inside a heading" flags inherited from the parent: each
    # heading and each outermost text block is read once. (Asking every element for its text and its ancestors
    # is quadratic in the nesting depth, and html.parser nests every unclosed <p>/<li>: 10,000 of them took 15 s.)
    lines: list[str] = []
    in_block: dict[int, bool] = {id(soup): False}
    in_heading: dict[int, bool] = {id(soup): False}
    for el in soup.descendants:
        if not isinstance(el, Tag):
            continue
        parent = id(el.parent)
        in_block[id(el)] = in_block[parent] or el.name in _HTML_CONTAINERS
        in_heading[id(el)] = in_heading[parent] or el.name in _HTML_HEADINGS
        if el.name in _HTML_HEADINGS and not in_heading[parent]:
            txt = " ".join(el.get_text(" ", strip=True).split())
            if txt:
                lines.append("#" * int(el.name[1]) + " " + txt)
        elif el.name in _HTML_BLOCKS and not in_block[parent]:
            txt = " ".join(el.get_text(" ", strip=True).split())
            if txt:
                lines.append(txt)
    if not lines:
        lines = [" ".join(soup.get_text(" ", strip=True).split())]
    body = "\n\n".join(lines)
    return Document(doc_id=doc_id, title=title or _first_heading(body) or name, text=body, path="")
