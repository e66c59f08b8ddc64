"""Per-request plumbing as one pure ASGI middleware: request id, security headers, access log, request metrics.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed responses (SSE, JSONL export) pass through untouched and the
latency covers the whole body. The request id is taken from ``X-Request-ID`` when it looks sane, otherwise
generated; it is echoed in the response header, in error bodies and in the log line.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_body
from assistant.api.logs import ACCESS
from assistant.api.metrics import ApiMetrics

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The web page and its assets come only from this origin; nothing is fetched from elsewhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# FastAPI's interactive docs load Swagger/ReDoc from a CDN: they keep working only without our CSP.
_NO_CSP_PREFIXES = ("/docs", "/redoc")
log = logging.getLogger("assistant.api")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        path = scope["path"]
        status = 500
        started = False
        t0 = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                present = {k for k, _ in headers}
                headers += [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                if b"content-security-policy" not in present and not path.startswith(_NO_CSP_PREFIXES):
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Last resort: the trace goes to the log, the client gets the envelope (with the request id).
            log.exception("unhandled error", extra={"request_id": rid, "path": path})
            if started:
                raise
            body = json.dumps(error_body("internal_error", "Terjadi kesalahan internal. Silakan coba lagi nanti.",
                                         rid)).encode()
            await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send_with_headers({"type": "http.response.body", "body": body})
        finally:
            seconds = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], route, status, seconds)
            client = scope.get("client")
            ACCESS.info("request", extra={
                "method": scope["method"], "path": path, "route": route, "status": status,
                "ms": round(seconds * 1000, 2), "request_id": rid, "client": client[0] if client else None})
