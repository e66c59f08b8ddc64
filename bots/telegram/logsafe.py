"""Keep the bot token (and the webhook secret) out of every log line.

Why: PTB puts the token in every request URL, and httpx logs each URL at INFO ("HTTP Request: POST
https://api.telegram.org/bot<TOKEN>/getUpdates …"). Anyone holding the token controls the bot, and logs travel
far (files, aggregators, bug reports). A :class:`logging.Filter` on a logger only sees records created by that
very logger, not ones propagated from its children, so the filter is attached to every existing logger of the
libraries that can print the token, and to the root logger's handlers (which see everything that propagates).
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import quote

REDACTED = "[REDACTED]"
_PREFIXES = ("httpx", "httpcore", "telegram", "bots", "uvicorn", "apscheduler", "asyncio")


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (and traceback text) with every registered secret replaced; never drops."""

    def __init__(self) -> None:
        super().__init__("redact-secrets")
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6:  # short strings would redact ordinary words
            self._secrets |= {secret, quote(secret, safe="")}

    def redact(self, text: str) -> str:
        for s in sorted(self._secrets, key=len, reverse=True):
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets or getattr(record, "_secrets_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's problem, not ours
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._secrets_redacted = True
        return True


_FILTER = RedactSecrets()


def install(*secrets: str | None) -> RedactSecrets:
    """Register ``secrets`` and attach the (single, process-wide) filter where log records pass.

    Idempotent; call it again after new loggers or handlers appear (the bot calls it whenever it builds an
    Application).
    """
    for s in secrets:
        _FILTER.add(s)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] in _PREFIXES]
    loggers += [logging.getLogger(p) for p in _PREFIXES]
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER
