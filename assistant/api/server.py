"""Run the API with uvicorn: ``run_server`` for ``kota-kreatif serve``/``up``, ``ServerThread`` for tests/benchmarks.

Loopback by default: exposing the service is a deliberate choice (``--host 0.0.0.0``) made together with API keys
and ``open_read=false``. uvicorn's own access log is off; the app writes one JSON line per request instead.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from fastapi import FastAPI

from assistant.api.logs import configure_logging


def run_server(host: str = "127.0.0.1", port: int = 8000) -> None:
    from assistant.api.app import create_app

    configure_logging()
    uvicorn.Server(_config(create_app(), host, port)).run()


def _config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
                          timeout_graceful_shutdown=5, server_header=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread; ``with ServerThread(app) as url: ...``
    returns once ``/readyz`` answers 200 (so tests start against a warm, ready service)."""

    def __init__(self, app: FastAPI, port: int | None = None, ready_path: str = "/readyz",
                 timeout: float = 120.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(_config(app, "127.0.0.1", self.port))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.ready_path = ready_path
        self.timeout = timeout

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("server thread stopped during start-up")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise TimeoutError(f"{self.url}{self.ready_path} not ready after {self.timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
