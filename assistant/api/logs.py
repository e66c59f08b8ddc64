"""JSON log lines (one object per line) for the API process.

The access log writes exactly the fields a request needs (method, path, status, ms, request_id, client); headers,
query strings and bodies are never logged, so API keys and bot tokens cannot end up in the log.
"""

from __future__ import annotations

import json
import logging
import sys
import time

ACCESS = logging.getLogger("assistant.api.access")
# Attributes every LogRecord has (and uvicorn's ANSI-coloured copy of the message): not extra fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName",
                                                                         "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON to stderr for our loggers and uvicorn's (whose own access log is switched off in favour of ours)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("assistant", "uvicorn", "uvicorn.error", "bots"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level)
        lg.propagate = False
