"""Data types that cross module boundaries.

``Document`` and ``Chunk`` are internal (dataclasses, cheap to create by the thousand). ``Citation``,
``Answer``, ``SearchHit`` … are pydantic models: the CLI's ``--json``, the HTTP API and the bot all serialise
these same objects, so the three agree by construction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field


@dataclass
class Document:
    """One loaded source file, before chunking."""

    doc_id: str
    title: str
    text: str
    path: str
    language: str = "id"
    topic: str = ""
    updated: str = ""
    sources: list[dict[str, str]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    file_hash: str = ""

    @property
    def url(self) -> str:
        """The first listed source is the one a citation links to."""
        return self.sources[0].get("url", "") if self.sources else ""


@dataclass
class Chunk:
    """A retrievable piece of a document with everything a citation needs."""

    doc_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    position: int
    url: str = ""
    date: str = ""
    topic: str = ""
    language: str = "id"
    chunk_id: str = ""

    def __post_init__(self) -> None:
        if not self.chunk_id:
            self.chunk_id = self.compute_id()

    def compute_id(self) -> str:
        """Id derived from content *and* place: a moved or edited chunk gets a new id, an unchanged one keeps it."""
        key = "\x1f".join(
            [self.doc_id, self.title, self.section, str(self.start), str(self.end), self.url, self.date, self.topic,
             self.text]
        )
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]

    @property
    def embed_text(self) -> str:
        """Text given to the embedder: title and section path give a short chunk its context."""
        head = " — ".join(p for p in (self.title, self.section) if p)
        return f"{head}\n{self.text}" if head else self.text

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (Chroma accepts only scalars)."""
        return {
            "doc_id": self.doc_id, "title": self.title, "section": self.section, "start": self.start,
            "end": self.end, "position": self.position, "url": self.url, "date": self.date, "topic": self.topic,
            "language": self.language,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "text": self.text, **self.metadata()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(
            doc_id=d["doc_id"], title=d.get("title", ""), section=d.get("section", ""), text=d["text"],
            start=int(d.get("start", 0)), end=int(d.get("end", 0)), position=int(d.get("position", 0)),
            url=d.get("url", ""), date=d.get("date", ""), topic=d.get("topic", ""),
            language=d.get("language", "id"), chunk_id=d.get("chunk_id", ""),
        )


@dataclass
class ScoredChunk:
    """A chunk with the scores retrieval gave it (kept apart so the answerer can reason about evidence)."""

    chunk: Chunk
    score: float
    dense: float | None = None
    bm25: float | None = None


class Filters(BaseModel):
    """Metadata filters for retrieval."""

    topic: str | list[str] | None = Field(default=None, description="Topik dokumen, mis. 'pendaftaran'.")
    doc_id: str | list[str] | None = Field(default=None, description="Id dokumen, mis. 'uccn-profil'.")

    def is_empty(self) -> bool:
        return not self.topic and not self.doc_id

    def matches(self, meta: dict[str, Any]) -> bool:
        for key in ("topic", "doc_id"):
            want = getattr(self, key)
            if not want:
                continue
            allowed = [want] if isinstance(want, str) else list(want)
            if meta.get(key) not in allowed:
                return False
        return True


class Source(BaseModel):
    """Where a chunk comes from: the document, its section, its public address and date. Citations of an answer
    and the sources a stream announces before the answer (``SourceRef`` in the API) are both this."""

    doc_id: str
    title: str
    section: str = ""
    url: str = ""
    date: str = ""
    chunk_id: str = ""

    @classmethod
    def of(cls, chunk: Chunk, **extra: Any) -> Source:
        """The source of ``chunk`` (plus the subclass's own fields)."""
        return cls(doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, url=chunk.url, date=chunk.date,
                   chunk_id=chunk.chunk_id, **extra)


class Citation(Source):
    """A numbered source of an answer; ``quote`` is the exact sentence(s) used from the chunk."""

    n: int
    quote: str = ""


class Answer(BaseModel):
    """What ``ask`` returns everywhere (CLI ``--json``, ``POST /v1/ask``, the bot)."""

    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    answer_id: str = ""
    conversation_id: str | None = None
    question: str = ""
    standalone_question: str = ""
    conflict: bool = False
    flags: list[str] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list, description="chunk ids in rank order")


class SearchHit(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    section: str = ""
    url: str = ""
    date: str = ""
    topic: str = ""
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    text: str


class SearchResponse(BaseModel):
    results: list[SearchHit]
    timings_ms: dict[str, float] = Field(default_factory=dict)


class SkippedFile(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    """Summary of one ingest run; ``skipped`` lists every file that was not indexed and why."""

    files: int = 0
    documents: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    embedded: int = 0  # chunk vectors computed (not found in the embedding cache)
    sentences_embedded: int = 0  # the reader's sentence vectors computed at ingest (reader_sentence_vectors)
    skipped: list[SkippedFile] = Field(default_factory=list)
    generation: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.skipped
