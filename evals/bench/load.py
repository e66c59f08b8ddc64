"""Latency over HTTP on loopback: N requests, C concurrent clients, one question per request.

Each question is sent once per server process: the assistant keeps recent query vectors in memory, so repeating
a question would measure the cache, not the system. Clients are threads with their own keep-alive
``httpx.Client``; a request's latency is from send to complete body, measured in the client.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import httpx


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (same definition as ``evals/load_api.py``)."""
    from evals.load_api import percentile as _p

    return _p(values, p)


def summarize(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {}
    return {"p50_ms": round(percentile(latencies_ms, 50), 1), "p95_ms": round(percentile(latencies_ms, 95), 1),
            "p99_ms": round(percentile(latencies_ms, 99), 1), "mean_ms": round(statistics.fmean(latencies_ms), 1),
            "max_ms": round(max(latencies_ms), 1)}


def body_for(endpoint: str, question: str) -> dict[str, Any]:
    return {"query": question, "k": 5} if endpoint == "/v1/search" else {"question": question}


def run_load(url: str, endpoint: str, questions: list[str], concurrency: int) -> dict[str, Any]:
    """Send every question once to ``endpoint`` with ``concurrency`` clients; latency percentiles and errors."""
    latencies: list[float] = []
    server: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    queue = iter(questions)

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            while True:
                with lock:
                    q = next(queue, None)
                if q is None:
                    return
                t = time.perf_counter()
                try:
                    r = c.post(endpoint, json=body_for(endpoint, q))
                    r.read()
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - t) * 1000
                inside = _server_total(r) if status == 200 else None
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        latencies.append(ms)
                    if inside is not None:
                        server.append(inside)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"endpoint": endpoint, "concurrency": concurrency, "requests": len(questions), "ok": len(latencies),
            "errors": {str(k): v for k, v in statuses.items() if k != 200}, "wall_s": round(wall, 2),
            "rps": round(len(latencies) / wall, 1) if wall else 0.0, **summarize(latencies),
            "server_total": summarize(server)}


def _server_total(r: httpx.Response) -> float | None:
    """The assistant's own ``timings_ms.total`` (inside the worker thread): client latency minus this is
    HTTP, framework, thread-pool hand-off and queueing."""
    try:
        return float(r.json()["timings_ms"]["total"])
    except (ValueError, KeyError, TypeError):
        return None


def warm_up(url: str, endpoint: str, questions: list[str]) -> None:
    """A few requests before measuring (first-request costs: thread pool, lazy imports, page cache)."""
    with httpx.Client(base_url=url, timeout=120) as c:
        for q in questions:
            c.post(endpoint, json=body_for(endpoint, q))
