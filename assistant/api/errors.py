"""One error shape for every failure: ``{"error": {"code", "message", "request_id"}}`` with Indonesian text.

Handlers cover our own :class:`ApiError`, the core's :class:`InvalidQuestion` / :class:`StoreUnavailable` /
:class:`IndexWriteError`, FastAPI's validation errors and Starlette's HTTP errors (404 route, 405, 413 body
limit …). Anything else is turned into a 500 with a generic message by the request middleware; the stack trace
goes to the log only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.assistant import InvalidQuestion
from assistant.store import IndexWriteError, StoreUnavailable

log = logging.getLogger("assistant.api")

STORE_RETRY_AFTER = 5
INDEX_RETRY_AFTER = 60  # a full disk needs an operator, not a quick retry

# Status → (code, Indonesian message) for errors raised by the framework rather than by us.
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Permintaan tidak valid."),
    401: ("unauthorized", "Kunci API tidak ada atau tidak valid."),
    403: ("forbidden", "Kunci API ini tidak berhak mengakses sumber daya tersebut."),
    404: ("not_found", "Sumber daya tidak ditemukan."),
    405: ("method_not_allowed", "Metode HTTP tidak diizinkan untuk alamat ini."),
    409: ("conflict", "Permintaan bertentangan dengan keadaan saat ini."),
    413: ("payload_too_large", "Isi permintaan terlalu besar."),
    415: ("unsupported_media_type", "Jenis berkas atau konten tidak didukung."),
    422: ("validation_error", "Data permintaan tidak valid."),
    429: ("rate_limited", "Terlalu banyak permintaan. Silakan coba lagi sebentar lagi."),
    500: ("internal_error", "Terjadi kesalahan internal. Silakan coba lagi nanti."),
    503: ("unavailable", "Layanan sedang tidak tersedia. Silakan coba lagi nanti."),
}

# Pydantic error types → Indonesian phrases (the rest fall back to a generic phrase).
_PYDANTIC_ID = {
    "missing": "wajib diisi",
    "string_too_long": "terlalu panjang",
    "string_too_short": "terlalu pendek",
    "string_type": "harus berupa teks",
    "string_pattern_mismatch": "formatnya tidak valid",
    "int_parsing": "harus berupa bilangan bulat",
    "int_type": "harus berupa bilangan bulat",
    "greater_than_equal": "terlalu kecil",
    "less_than_equal": "terlalu besar",
    "literal_error": "nilainya tidak diizinkan",
    "bool_parsing": "harus true atau false",
    "bool_type": "harus true atau false",
    "extra_forbidden": "tidak dikenal",
    "json_invalid": "JSON tidak valid",
    "model_attributes_type": "harus berupa objek JSON",
    "dict_type": "harus berupa objek JSON",
}


class ApiError(Exception):
    """An error the API reports on purpose; ``message`` is Indonesian and safe to show."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str, request_id: str | None = None, details: list[dict] | None = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        err["details"] = details
    return {"error": err}


def error_response(request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   details: list[dict] | None = None) -> JSONResponse:
    rid = getattr(request.state, "request_id", None)
    return JSONResponse(error_body(code, message, rid, details), status_code=status, headers=headers)


def _validation_message(errors: list[dict]) -> tuple[str, list[dict]]:
    details = []
    phrases = []
    for e in errors[:10]:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "isi permintaan"
        phrase = _PYDANTIC_ID.get(e.get("type", ""), "tidak valid")
        phrases.append(f"kolom '{field}' {phrase}")
        # No "input" echo: it may be large or sensitive.
        details.append({"field": field, "type": e.get("type", ""), "message": phrase})
    return "Data permintaan tidak valid: " + "; ".join(phrases) + ".", details


def install_error_handlers(app: FastAPI) -> None:
    """Register the envelope for every error source the app can meet."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(InvalidQuestion)
    async def _invalid_question(request: Request, exc: InvalidQuestion) -> JSONResponse:
        return error_response(request, 422, "invalid_question", str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("vector store unavailable: %s", exc)
        return error_response(request, 503, "store_unavailable",
                              "Penyimpanan vektor sedang tidak dapat dijangkau. Silakan coba lagi sebentar lagi.",
                              {"Retry-After": str(STORE_RETRY_AFTER)})

    @app.exception_handler(IndexWriteError)
    async def _index_unwritable(request: Request, exc: IndexWriteError) -> JSONResponse:
        # The detailed reason names server paths: it goes to the log, the client gets the gist.
        log.error("index generation could not be written: %s", exc)
        return error_response(request, 503, "index_unwritable",
                              "Indeks baru tidak dapat ditulis (ruang disk penuh atau folder indeks tidak dapat "
                              "ditulis). Indeks lama tetap dipakai; hubungi admin server.",
                              {"Retry-After": str(INDEX_RETRY_AFTER)})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(list(exc.errors()))
        return error_response(request, 422, "validation_error", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _DEFAULTS.get(exc.status_code, ("http_error", "Permintaan tidak dapat diproses."))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(request, exc.status_code, code, message, headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method documented for this path. (Starlette's own Allow lists only the first route with the path:
    GET but not DELETE of ``/v1/conversations/{id}``.)"""
    for template, ops in request.app.openapi()["paths"].items():
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^/]+\})", template))
        if re.fullmatch(pattern, request.url.path):
            return sorted(m.upper() for m in ops)
    return []
