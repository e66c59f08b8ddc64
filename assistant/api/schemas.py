"""Request/response models that exist only at the HTTP boundary.

Answers, citations, search hits and ingest reports are the core's own models (``assistant.models``); this module
only adds what the API needs around them: request bodies, the error envelope, conversation and document views.
The Indonesian examples end up in the OpenAPI document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from assistant.models import Citation, Filters, IngestReport, Source

# The 1–2,000 character rule belongs to the core (``validate_question``, with its Indonesian message, after
# collapsing whitespace); the schema states it for clients, while pydantic only caps absurd bodies at 20,000.
QUESTION_SCHEMA = {"minLength": 1, "maxLength": 2000, "pattern": r"\S"}
ConversationId = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                       description="Id percakapan dari jawaban sebelumnya; kosong = percakapan baru.")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "Kapan Jejaring Kota Kreatif UNESCO dibentuk?"},
        {"question": "Kalau Pekalongan?", "conversation_id": "3f2a9c0d5b7e4f1a9c2d8e6b0a4c7f11"},
        {"question": "Apa saja syarat mendaftar UCCN?", "filters": {"topic": "pendaftaran"}, "stream": True},
    ]})

    question: str = Field(max_length=20_000, description="Pertanyaan dalam bahasa Indonesia (1–2.000 karakter).",
                          json_schema_extra=QUESTION_SCHEMA)
    conversation_id: str | None = ConversationId
    filters: Filters | None = None
    stream: StrictBool = Field(default=False, description="true = jawaban dialirkan sebagai Server-Sent Events.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query": "dokumen pendukung pendaftaran UCCN", "k": 5},
        {"query": "anggaran Kementerian Ekonomi Kreatif", "k": 3, "filters": {"doc_id": "kementerian-ekraf"}},
    ]})

    query: str = Field(max_length=20_000, description="Kueri pencarian (1–2.000 karakter).",
                       json_schema_extra=QUESTION_SCHEMA)
    k: int = Field(default=5, ge=1, le=50, description="Jumlah potongan teks yang dikembalikan (1–50).")
    filters: Filters | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"answer_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "rating": "up"},
        {"answer_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "rating": "down",
         "comment": "Tahunnya kurang tepat, mohon dicek lagi."},
    ]})

    answer_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackCreated(BaseModel):
    feedback_id: str


class ConversationTurn(BaseModel):
    question: str
    standalone_question: str
    answer: str
    answer_id: str
    citations: list[Citation]
    at: float = Field(description="Waktu (Unix detik).")


class Conversation(BaseModel):
    conversation_id: str
    turns: list[ConversationTurn]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str = ""
    topic: str = ""
    path: str
    chunks: int
    indexed_at: float | None = None
    uploaded: bool = Field(default=False, description="true = diunggah lewat API (bukan dari corpus/).")


class DocumentChange(BaseModel):
    """Result of an upload or a removal: which document, and the core's ingest report."""

    doc_id: str
    title: str = ""
    filename: str | None = Field(default=None, description="Nama berkas aman yang disimpan di server.")
    report: IngestReport


class SourceRef(Source):
    """A retrieved chunk as announced by the ``retrieval`` stream event (before the answer text)."""

    rank: int


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_question"])
    message: str = Field(examples=["Pertanyaan tidak boleh kosong."])
    request_id: str | None = None
    details: list[dict] | None = None


class ErrorResponse(BaseModel):
    """Every error, whatever its status: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


_ERROR_TEXT = {
    400: "Isi permintaan tidak dapat diurai.",
    401: "Kunci API tidak ada atau tidak valid.",
    403: "Kunci API tidak berperan admin.",
    404: "Tidak ditemukan.",
    409: "Bertentangan dengan dokumen yang sudah ada.",
    413: "Isi permintaan atau berkas terlalu besar.",
    415: "Jenis berkas tidak didukung.",
    422: "Data permintaan tidak valid (pesan berbahasa Indonesia).",
    429: "Terlalu banyak permintaan; lihat header Retry-After.",
    503: "Belum siap atau penyimpanan vektor tidak terjangkau; lihat header Retry-After.",
}


def error_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries for error statuses, all in the envelope shape."""
    return {code: {"model": ErrorResponse, "description": _ERROR_TEXT[code]} for code in codes}


# Every endpoint with a JSON body can meet these besides its own errors.
JSON_BODY_ERRORS = (400, 413, 422)
# Every endpoint behind the key check and the rate limit.
GUARDED_ERRORS = (401, 429)


class Health(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str
    chunks: int
    documents: int
    generation: str
    store: str
