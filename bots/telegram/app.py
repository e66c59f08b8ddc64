"""Build and run the Telegram Application: alone (``kota-kreatif bot``, long polling) or inside the API process
(:func:`maybe_start_in_app`: polling in the background, or a webhook route on the FastAPI app).

The Application only wires Telegram concerns (rate limiting, commands, handlers); answers come from the one
``Assistant`` the caller passes in, so the bot never loads models or indexes of its own.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from assistant.assistant import Assistant
from assistant.config import Settings, get_settings
from bots.telegram import logsafe
from bots.telegram.handlers import BotHandlers, bot_commands

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token
NO_TOKEN = ("Token bot Telegram belum diatur. Setel variabel lingkungan TELEGRAM_BOT_TOKEN (token dari @BotFather), "
            "lalu jalankan lagi `kota-kreatif bot`.")

Shutdown = Callable[[], Awaitable[None]]


class BotRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (30 requests/s overall, 20/min per group, retries after a 429), except for the typing
    action: it is not a message, and queued behind a group's 20/min budget it would hold the answer back (the
    answer waits for an in-flight typing action). A 429 on it only costs the "typing…" display.
    """

    async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str,
                              data: dict[str, Any], rate_limit_args: int | None) -> Any:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def file_url(base_url: str) -> str:
    """``https://api.telegram.org/bot`` → ``https://api.telegram.org/file/bot`` (same server, file path)."""
    return base_url.rstrip("/").removesuffix("/bot") + "/file/bot"


async def post_init(application: Application) -> None:
    """Publish the command menu (run by ``run_polling`` and by :func:`start`)."""
    await application.bot.set_my_commands(bot_commands())


def build_application(assistant: Assistant, settings: Settings, *, webhook: bool = False) -> Application:
    """The PTB Application for ``assistant``; ``webhook=True`` builds it without an Updater (updates are fed in)."""
    token = settings.telegram_bot_token
    if not token:
        raise ValueError("telegram_bot_token is not set")
    logsafe.install(token, settings.telegram_webhook_secret)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(file_url(settings.telegram_base_url))
        .rate_limiter(BotRateLimiter(max_retries=2))
        # A group question may be deleted before the answer: answer anyway rather than fail.
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True),
                           allow_sending_without_reply=True))
        # Several chats are served at once (a slow answer must not block everyone); per-chat order is kept
        # by a lock in the handlers.
        .concurrent_updates(8)
        .post_init(post_init)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    BotHandlers(assistant, settings).register(application)
    logsafe.install()  # loggers created while building (PTB imports lazily) get the filter too
    return application


async def start(application: Application, *, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """initialize → commands → start → polling (if the Application has an Updater).

    Errors (bad token, Telegram unreachable) propagate after cleaning up: the caller decides whether a bot that
    cannot start should stop the process.
    """
    try:
        await application.initialize()
        await post_init(application)
        await application.start()
        if application.updater is not None:
            await application.updater.start_polling(poll_interval=poll_interval, timeout=timeout,
                                                    allowed_updates=ALLOWED_UPDATES)
    except BaseException:
        with contextlib.suppress(Exception):
            await stop(application)
        raise
    log.info("Bot Telegram @%s berjalan (%s)", application.bot.username,
             "polling" if application.updater is not None else "webhook")


async def stop(application: Application) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def run_polling() -> None:
    """``kota-kreatif bot``: build the Assistant from the default settings and poll until interrupted."""
    settings = get_settings()
    if not settings.telegram_bot_token:
        print(NO_TOKEN, file=sys.stderr)
        raise SystemExit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per long poll is noise (and redacted)
    logsafe.install(settings.telegram_bot_token)
    assistant = Assistant(settings)
    try:
        application = build_application(assistant, settings)
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    finally:
        assistant.close()


async def maybe_start_in_app(app: Any, assistant: Assistant, settings: Settings) -> Shutdown | None:
    """Run the bot inside the API process; returns an async shutdown callable (None without a token).

    Without ``telegram_webhook_url``: long polling in the background. With it: mounts ``POST /telegram/webhook``
    on the FastAPI ``app`` and registers the webhook (with the secret) at Telegram. Usage in a lifespan::

        stop_bot = await maybe_start_in_app(app, assistant, settings)
        ...
        if stop_bot: await stop_bot()
    """
    if not settings.telegram_bot_token:
        return None
    if not settings.telegram_webhook_url:
        application = build_application(assistant, settings)
        await start(application)

        async def shutdown_polling() -> None:
            await stop(application)

        return shutdown_polling

    secret = settings.telegram_webhook_secret
    if not secret or not _SECRET_OK.match(secret):
        raise RuntimeError("Mode webhook Telegram memerlukan TELEGRAM_WEBHOOK_SECRET (1–256 karakter A-Z, a-z, "
                           "0-9, _ atau -).")
    application = build_application(assistant, settings, webhook=True)
    mount_webhook(app, application, secret)
    await start(application)
    await application.bot.set_webhook(settings.telegram_webhook_url, secret_token=secret,
                                      allowed_updates=ALLOWED_UPDATES)

    async def shutdown_webhook() -> None:
        # The webhook stays registered: during a rolling restart another instance keeps receiving updates.
        await stop(application)

    return shutdown_webhook


def mount_webhook(app: Any, application: Application, secret: str) -> None:
    """Add ``POST /telegram/webhook`` in front of the app's routes (a catch-all static mount must not shadow it)."""
    # The only web-framework import in bots/ (FastAPI's own Starlette): a plain Starlette route, so no FastAPI
    # parameter inference (which cannot see this local ``Request`` under postponed annotations).
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    expected = secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot) if isinstance(data, dict) else None
        except (ValueError, KeyError, TypeError):
            update = None
        if update is None:
            return Response(status_code=400)
        # Processed before answering 200: Telegram re-sends on failure, and answers take milliseconds.
        await application.process_update(update)
        return Response(status_code=200)

    app.router.routes.insert(0, Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"], include_in_schema=False))
