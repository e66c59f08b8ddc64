"""Heading-aware chunking: section path first, then size-bounded pieces.

A Markdown body is cut at its headings; each chunk remembers the heading path above it (``Panduan >
Surat pendukung``) and its character offsets in the document body. Long sections are split further with
LangChain's ``RecursiveCharacterTextSplitter`` (paragraph → line → sentence → word boundaries) with a small
overlap, so a fact split across a boundary is still found whole in one of the two chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.models import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# Bump when the same document would be cut differently: unchanged files are then re-chunked on the next ingest.
# 2: a section's size is measured without the blank lines around it.
CHUNKER_VERSION = 2


@dataclass
class Section:
    path: list[str]
    start: int
    end: int


def sections(doc: Document) -> list[Section]:
    """Spans of ``doc.text`` between headings, each with its heading path.

    The document's own H1 (usually its title) is left out of the path, since the title is stored separately.
    """
    text = doc.text
    found = list(_HEADING.finditer(text))
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    prev_end = 0
    prev_path: list[str] = []
    for m in found:
        if m.start() > prev_end:
            out.append(Section(list(prev_path), prev_end, m.start()))
        level = len(m.group(1))
        title = m.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        prev_path = [t for lvl, t in stack if not (lvl == 1 and _same(t, doc.title))]
        prev_end = m.end()
    if prev_end < len(text):
        out.append(Section(list(prev_path), prev_end, len(text)))
    return [s for s in out if text[s.start : s.end].strip()]


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a.lower()) == re.sub(r"\W+", "", b.lower())


class Chunker:
    """Splits documents into :class:`Chunk` objects."""

    def __init__(self, chunk_size: int = 900, chunk_overlap: int = 120) -> None:
        if chunk_overlap >= chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, add_start_index=True,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""], keep_separator="end", strip_whitespace=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        date = doc.updated or (doc.sources[0].get("date", "") if doc.sources else "")
        for sec in sections(doc):
            raw = doc.text[sec.start : sec.end]
            # Split the section's text without the blank lines around it: they counted towards the size limit,
            # so a section of 897 characters was cut in two (between a lead-in and its list) at chunk_size 900.
            body = raw.strip()
            base = sec.start + (len(raw) - len(raw.lstrip()))
            section_path = " > ".join(sec.path)
            prev = -1
            for piece in self.splitter.create_documents([body]):
                text = piece.page_content
                rel = int(piece.metadata.get("start_index", -1))
                if rel <= prev:
                    # The splitter locates a piece by searching for its text, so a repeated paragraph can get
                    # an earlier copy's offset; pieces come in order, so search after the previous one.
                    found = body.find(text, prev + 1)
                    rel = found if found >= 0 else max(rel, 0)
                prev = rel
                start = base + rel
                if not text.strip():
                    continue
                chunks.append(Chunk(
                    doc_id=doc.doc_id, title=doc.title, section=section_path, text=text, start=start,
                    end=start + len(text), position=len(chunks), url=doc.url, date=date, topic=doc.topic,
                    language=doc.language,
                ))
        return chunks
