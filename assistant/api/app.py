"""The FastAPI application: one Assistant per process, shared by every request through a dependency.

``create_app`` wires configuration, error envelope, middleware, routers and the static web page; the heavy
``Assistant`` is built in the lifespan (or passed in by a test or another adapter that already has one, in which
case the caller keeps ownership and closes it).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from assistant.api.bodylimit import BodyLimitMiddleware
from assistant.api.deps import KeyRing, require_reader
from assistant.api.errors import install_error_handlers
from assistant.api.metrics import ApiMetrics
from assistant.api.middleware import RequestContextMiddleware
from assistant.api.ratelimit import TokenBucketLimiter
from assistant.api.routers import ask, conversations, documents, feedback, generation, health, search
from assistant.assistant import Assistant
from assistant.config import Settings, get_settings

log = logging.getLogger("assistant.api")
WEB_DIR = Path(__file__).resolve().parent / "web"
# JSON bodies are small (a question is ≤ 2,000 characters); only the upload route gets the file limit.
MAX_JSON_BODY = 256 * 1024
MULTIPART_OVERHEAD = 1024 * 1024

DESCRIPTION = """Asisten tanya-jawab tentang Jejaring Kota Kreatif UNESCO (UCCN) dan kebijakan ekonomi kreatif
Indonesia. Setiap jawaban disertai sitasi bernomor ke dokumen sumber.

* Endpoint baca (`/v1/ask`, `/v1/search`, percakapan, umpan balik) terbuka bila `open_read` aktif; bila tidak,
  kirim kunci API di header `X-API-Key` (atau `Authorization: Bearer`).
* Endpoint admin (dokumen, reindex, ekspor umpan balik) selalu memerlukan kunci berperan `admin`.
* Semua galat berbentuk `{"error": {"code", "message"}}` dengan pesan berbahasa Indonesia.
"""

TAGS = [
    {"name": "tanya-jawab", "description": "Pertanyaan dan jawaban bersitasi (JSON atau Server-Sent Events)."},
    {"name": "pencarian", "description": "Potongan dokumen terurut menurut relevansi."},
    {"name": "percakapan", "description": "Riwayat percakapan untuk pertanyaan lanjutan."},
    {"name": "umpan-balik", "description": "👍/👎 atas jawaban, dan ekspornya."},
    {"name": "dokumen (admin)", "description": "Unggah, daftar, hapus dokumen; indeks ulang."},
    {"name": "kesehatan", "description": "Probe kesiapan dan metrik Prometheus."},
]


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or (assistant.settings if assistant is not None else get_settings())
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        a = assistant if assistant is not None else await run_in_threadpool(Assistant, settings)
        app.state.assistant = a
        await run_in_threadpool(_warm_up, a)
        stop_bot = await _maybe_start_telegram(app, a, settings)
        try:
            yield
        finally:
            if stop_bot is not None:
                result = stop_bot()
                if inspect.isawaitable(result):
                    await result
            if assistant is None:  # we built it, we close it
                a.close()

    app = FastAPI(title="Asisten Kota Kreatif API", version="1.0.0", description=DESCRIPTION, openapi_tags=TAGS,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    keys = settings.api_keys  # a SecretStr; a plain str when set through model_copy(update=...)
    app.state.keyring = KeyRing(keys.get_secret_value() if isinstance(keys, SecretStr) else str(keys or ""))
    app.state.limiter = TokenBucketLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    install_error_handlers(app)

    routers = [m.router for m in (ask, search, conversations, feedback, generation, health, documents)]
    for router in routers:
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    if settings.open_read:
        _document_open_reading(app, routers)

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Retry-After"], max_age=600)
    upload_limit = settings.max_file_bytes + MULTIPART_OVERHEAD

    def body_limit(scope: Scope) -> int:
        is_upload = scope["method"] == "POST" and scope["path"] in ("/v1/documents", "/v1/check-application")
        return upload_limit if is_upload else MAX_JSON_BODY

    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)  # added last = outermost: sees every request
    return app


def _document_open_reading(app: FastAPI, routers: list[APIRouter]) -> None:
    """With ``open_read`` the reading endpoints take a key but do not need one: say so in the OpenAPI document
    (an empty security requirement), so clients and contract tests do not expect a 401 there."""
    reading = {(r.path, m.lower()) for router in routers for r in router.routes if isinstance(r, APIRoute)
               if any(d.dependency is require_reader for d in [*router.dependencies, *r.dependencies])
               for m in r.methods}
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, ops in schema["paths"].items():
                for method, op in ops.items():
                    if (path, method) in reading and {} not in op.setdefault("security", []):
                        op["security"].append({})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _warm_up(a: Assistant) -> None:
    """Load the index generation and the reader's models with one question (not remembered), so the first user
    does not pay for cold caches (LightGBM's import and the models cost ~1.3 s)."""
    try:
        if a.status()["chunks"]:
            a.ask("Apa itu Jejaring Kota Kreatif UNESCO?", remember=False)
    except Exception as exc:  # readiness will report the problem; starting must not fail on it
        log.warning("warm-up failed: %s", exc)


async def _maybe_start_telegram(app: FastAPI, a: Assistant, settings: Settings) -> Any:
    """Hook for the Telegram bot: ``bots.telegram.app.maybe_start_in_app(app, assistant, settings)`` runs when
    the package exists and a token is configured. It may be async; whatever callable it returns (sync or async)
    is called at shutdown to stop the bot."""
    try:
        present = bool(settings.telegram_bot_token) and importlib.util.find_spec("bots.telegram.app") is not None
    except ModuleNotFoundError:
        present = False
    if not present:
        return None
    result = importlib.import_module("bots.telegram.app").maybe_start_in_app(app, a, settings)
    if inspect.isawaitable(result):
        result = await result
    return result if callable(result) else None
