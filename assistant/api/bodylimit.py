"""Request body size limits that answer in the error envelope.

A declared ``Content-Length`` above the limit is refused before a byte of the body is read; a body without one
(chunked) is counted while it streams and cut off at the limit — the app then sees a disconnect, and whatever it
tries to answer is replaced by the 413. FastAPI's own ``max_body_size`` is not used: in the first case it sends
a plain-text 413 of its own, outside our envelope.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(scope, send, limit)
            return
        received = 0
        exceeded = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if not exceeded:
                await send(message)
            elif not replaced:
                replaced = True
                await _reject(scope, send, limit)

        await self.app(scope, counting_receive, guarded_send)
        if exceeded and not replaced:
            await _reject(scope, send, limit)


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


async def _reject(scope: Scope, send: Send, limit: int) -> None:
    rid = scope.get("state", {}).get("request_id")
    body = json.dumps(error_body("payload_too_large", f"Isi permintaan terlalu besar (maksimum {_human(limit)}).",
                                 rid)).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
