"""HTTP figures for one index and one store mode: readiness, server memory, search/ask latency at 1 and N clients.

A fresh ``kota-kreatif serve`` process is started for ``/v1/search`` and again for ``/v1/ask`` (in ``--quick``
one process serves both), so no question's vector is in the server's query cache when it is measured: within a
process every question is sent once. In ``http`` mode a ``chroma run`` server is started on the same Chroma
folder first and the API process gets ``CHROMA_HOST``/``CHROMA_PORT``; its memory is reported separately.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from evals.bench.load import run_load, warm_up
from evals.bench.procs import RssSampler, proc_status_mb, serve_env, start_chroma, start_serve


def serve_bench(index_dir: Path, store: str, slices: tuple[list[str], list[str]], warm: list[str],
                logs: Path, clients: int, split_processes: bool = True) -> dict[str, Any]:
    """Measure one (index, store) pair; ``slices`` are the questions for 1 client and for ``clients`` clients."""
    res: dict[str, Any] = {"store": store, "ready_s": [], "rss_start_mb": [], "rss_peak_mb": [], "rss_hwm_mb": [],
                           "latency": {}}
    chroma = None
    port = None
    try:
        if store == "http":
            chroma, port, res["chroma_ready_s"] = start_chroma(index_dir / "chroma", logs / "chroma.log")
            res["chroma_rss_start_mb"] = proc_status_mb(chroma.pid)
        env = serve_env(index_dir, logs / "serve-embedding-cache.sqlite", port)
        groups = [["/v1/search"], ["/v1/ask"]] if split_processes else [["/v1/search", "/v1/ask"]]
        chroma_peak = 0.0
        for endpoints in groups:
            proc, url, ready = start_serve(env, logs / "serve.log")
            try:
                res["ready_s"].append(round(ready, 2))
                res["rss_start_mb"].append(proc_status_mb(proc.pid))
                cs = RssSampler(chroma.pid) if chroma else contextlib.nullcontext()
                with RssSampler(proc.pid) as rs, cs:
                    for ep in endpoints:
                        warm_up(url, ep, warm)
                        res["latency"][ep] = {"1": run_load(url, ep, slices[0], 1),
                                              str(clients): run_load(url, ep, slices[1], clients)}
                res["rss_peak_mb"].append(rs.peak_mb)
                res["rss_hwm_mb"].append(proc_status_mb(proc.pid, "VmHWM"))
                if isinstance(cs, RssSampler):
                    chroma_peak = max(chroma_peak, cs.peak_mb)
            finally:
                proc.stop()
        if chroma is not None:
            res["chroma_rss_peak_mb"] = chroma_peak
    finally:
        if chroma is not None:
            chroma.stop()
    return res
