"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end bot tests (real HTTP, no Telegram).

PTB POSTs to ``/bot<TOKEN>/<method>`` with form-encoded bodies (non-string values JSON-encoded). The fake
answers like Telegram for the methods the bot uses, records every call (with the time it arrived), and is
strict where Telegram is strict, so formatting bugs fail here rather than in production: HTML text is parsed
with Telegram's tag subset ("can't parse entities" on ``<script>``, a stray ``&`` or an unclosed tag), and a
text over 4,096 characters after entity parsing is rejected. Tests push updates into the ``getUpdates`` queue
(long-polled) and wait for the recorded calls.

Stdlib only (``http.server`` in a thread) so the benchmark can use it too.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "reply_parameters",
                "link_preview_options", "scope"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "reply_to_message_id"}
_TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
                  "tg-spoiler", "blockquote", "tg-emoji"}


class HtmlError(ValueError):
    """Telegram's "Bad Request: can't parse entities"."""


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TELEGRAM_TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise HtmlError("a tag without href")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HtmlError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if any(c in data for c in "<>&"):
            raise HtmlError(f"unescaped character in {data[:40]!r}")
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise HtmlError(f"unsupported entity &{name};")
        self.out.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.out.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def handle_comment(self, data: str) -> None:
        raise HtmlError("comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise HtmlError("declarations are not supported")

    def handle_pi(self, data: str) -> None:
        raise HtmlError("processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:
        raise HtmlError("declarations are not supported")


def parse_html(text: str) -> str:
    """The plain text Telegram would show for ``text`` in HTML parse mode; HtmlError where Telegram says 400."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.rawdata:
        raise HtmlError(f"unparsed rest {parser.rawdata[:40]!r}")
    if parser.stack:
        raise HtmlError(f'Unclosed start tag "{parser.stack[-1]}"')
    return "".join(parser.out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One request the bot made: method, decoded parameters, when it arrived, what the fake answered."""

    method: str
    params: dict[str, Any]
    at: float
    result: Any = None
    error: str | None = None

    @property
    def chat_id(self) -> int | None:
        cid = self.params.get("chat_id")
        return int(cid) if cid is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    pushed_at: dict[int, float] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    get_updates: int = 0


class FakeTelegram:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, token: str = "123456789:AAFakeTokenForTests-k3yZ_0123456789ab", username: str = "KotaKreatifBot",
                 bot_id: int = 123456789) -> None:
        self.token = token
        self.username = username
        self.bot_id = bot_id
        self.state = _State()
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._closed = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-telegram", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Asisten Kota Kreatif", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    # -- updates --------------------------------------------------------------------------------------------
    def push(self, update: dict[str, Any]) -> int:
        """Queue an update (``update_id`` assigned if missing); returns its id."""
        with self._cond:
            update.setdefault("update_id", next(self._update_ids))
            self.state.updates.append(update)
            self.state.pushed_at[update["update_id"]] = time.perf_counter()
            self._cond.notify_all()
        return update["update_id"]

    def message_update(self, chat_id: int, text: str, *, chat_type: str = "private", user_id: int | None = None,
                       reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """An update with a text message; ``bot_command`` and ``mention`` entities as Telegram sets them."""
        user_id = user_id or (chat_id if chat_id > 0 else 777)
        chat: dict[str, Any] = ({"id": chat_id, "type": "private", "first_name": "Penguji"} if chat_type == "private"
                                else {"id": chat_id, "type": chat_type, "title": "Grup Focal Point"})
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "text": text,
            "from": {"id": user_id, "is_bot": False, "first_name": "Penguji", "language_code": "id"},
        }
        entities = []
        m = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
        for m in re.finditer(r"(?<![\w/])@[A-Za-z0-9_]{5,32}", text):
            entities.append({"type": "mention", "offset": utf16_len(text[:m.start()]),
                             "length": utf16_len(m.group(0))})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"update_id": next(self._update_ids), "message": message}

    def send_text(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        """Build and push a text message update; returns the update."""
        update = self.message_update(chat_id, text, **kw)
        self.push(update)
        return update

    def press(self, message: dict[str, Any], data: str, *, user_id: int = 777) -> dict[str, Any]:
        """Push a callback query for an inline button under ``message`` (a message the bot sent)."""
        update = {"update_id": next(self._update_ids), "callback_query": {
            "id": f"cbq-{next(self._message_ids)}", "chat_instance": "ci-1", "data": data, "message": message,
            "from": {"id": user_id, "is_bot": False, "first_name": "Penguji"}}}
        self.push(update)
        return update

    # -- inspection -----------------------------------------------------------------------------------------
    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        with self._cond:
            calls = list(self.state.calls)
        return [c for c in calls if (method is None or c.method == method) and
                (chat_id is None or c.chat_id == chat_id)]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls."""
        return [c for c in self.calls("sendMessage", chat_id) if c.error is None]

    async def wait_for(self, method: str, *, count: int = 1, chat_id: int | None = None, timeout: float = 20.0,
                       where: Any = None) -> list[Call]:
        """Wait until ``count`` matching calls were recorded; returns them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls(method, chat_id) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count}× {method} (chat {chat_id}); got {len(found)}:"
                                     f" {[c.text[:80] for c in found]}")
            await asyncio.sleep(0.005)

    def wait_for_sync(self, method: str, *, count: int = 1, chat_id: int | None = None,
                      timeout: float = 20.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.state.calls if c.method == method and
                         (chat_id is None or c.chat_id == chat_id)]
                if len(found) >= count or time.monotonic() > deadline:
                    return found
                self._cond.wait(0.05)

    # -- the API --------------------------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        call = Call(method, params, time.perf_counter())
        try:
            result = self._dispatch(method, params)
            status, body = 200, {"ok": True, "result": result}
            call.result = result
        except _ApiError as e:
            status, body = e.code, {"ok": False, "error_code": e.code, "description": e.description}
            call.error = e.description
        with self._cond:
            self.state.calls.append(call)
            self._cond.notify_all()
        return status, body

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            self.state.get_updates += 1
            if offset:
                self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self.state.updates if u["update_id"] >= offset][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._closed:
                    return ready
                self._cond.wait(left)

    def _message(self, chat_id: int, text: str, params: dict[str, Any]) -> dict[str, Any]:
        chat = ({"id": chat_id, "type": "private", "first_name": "Penguji"} if chat_id > 0
                else {"id": chat_id, "type": "supergroup", "title": "Grup Focal Point"})
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                               "from": self.bot_user, "text": text}
        if isinstance(params.get("reply_markup"), dict):
            msg["reply_markup"] = params["reply_markup"]
        return msg

    def _text(self, params: dict[str, Any]) -> str:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                text = parse_html(text)
            except HtmlError as e:
                raise _ApiError(400, f"Bad Request: can't parse entities: {e}") from None
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return text

    def _check_markup(self, params: dict[str, Any]) -> None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if len(button.get("callback_data", "").encode()) > 64:
                        raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot_user
        if method == "sendMessage":
            self._check_markup(p)
            return self._message(int(p["chat_id"]), self._text(p), p)
        if method == "sendChatAction":
            if p.get("action") not in {"typing", "upload_document", "upload_photo"}:
                raise _ApiError(400, "Bad Request: wrong parameter action in request")
            return True
        if method == "editMessageText":
            return self._message(int(p["chat_id"]), self._text(p), p)
        if method == "editMessageReplyMarkup":
            self._check_markup(p)
            return self._message(int(p["chat_id"]), "(edited)", p)
        if method == "answerCallbackQuery":
            if len(str(p.get("text", ""))) > 200:
                raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
            return True
        if method == "setMyCommands":
            for c in p.get("commands", []):
                if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")) or \
                        not 1 <= len(c.get("description", "")) <= 256:
                    raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            self.state.commands = list(p.get("commands", []))
            return True
        if method == "getMyCommands":
            return self.state.commands
        if method == "deleteWebhook":
            self.state.webhook = {}
            return True
        if method == "setWebhook":
            self.state.webhook = dict(p)
            return True
        if method == "getWebhookInfo":
            return {"url": self.state.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": 0}
        if method in ("close", "logOut"):
            return True
        raise _ApiError(404, "Not Found: method not found")


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Telegram
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms Nagle/delayed-ACK stall
    server_fake: FakeTelegram

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", self.path.split("?")[0])
        if not m:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if m.group(1) != fake.token:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            params = _decode(raw, self.headers.get("Content-Type", ""))
        except ValueError as e:
            return self._reply(400, {"ok": False, "error_code": 400, "description": f"Bad Request: {e}"})
        status, body = fake.handle(m.group(2), params)
        self._reply(status, body)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the bot gave up a long poll while stopping
            self.close_connection = True


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(raw)
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ValueError(f"unsupported content type {content_type!r}")
    out: dict[str, Any] = {}
    for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
        value: Any = values[-1]
        if key in _JSON_FIELDS:
            value = json.loads(value)
        elif key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
            value = int(value)
        out[key] = value
    return out
