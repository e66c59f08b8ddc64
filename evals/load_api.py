"""Latency of ``POST /v1/ask`` over HTTP under 1…N concurrent clients (loopback only, bounded).

    python evals/load_api.py --url http://127.0.0.1:8000 --concurrency 10 --n 200 [--wait-ready] [--json]

Questions come from ``--questions-file`` (JSONL with a "question" field, default evals/datasets/gold.jsonl) or a
built-in list of 20; they are used in order and each at most once per run when there are enough, so the server's
in-memory query cache does not flatter the numbers (restart the server between runs for the same reason).
``--wait-ready`` first polls ``/readyz`` and reports how long that took (start the server just before). The
server's RSS is read from its own ``/metrics`` (process_resident_memory_bytes) before and after the run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "datasets" / "gold.jsonl"
BUILTIN = [
    "Kapan Jejaring Kota Kreatif UNESCO dibentuk?", "Apa tujuan utama UCCN?",
    "Kota mana saja di Indonesia yang menjadi anggota UCCN?", "Bandung menjadi Kota Kreatif UNESCO bidang apa?",
    "UCCN mengenal bidang kreatif apa saja?", "Siapa yang boleh mendaftar ke UCCN?",
    "Dokumen apa yang wajib dilampirkan saat mendaftar UCCN?", "Dalam bahasa apa formulir aplikasi UCCN diisi?",
    "Apa kewajiban kota anggota UCCN?", "Kapan konferensi tahunan UCCN diadakan?",
    "Apa itu Kementerian Ekonomi Kreatif?", "Jumlah subsektor ekraf sekarang ada berapa?",
    "Apa dasar hukum ekonomi kreatif di Indonesia?", "Asta Cita memuat berapa misi?",
    "Apa peran Kemenekraf dalam pencalonan Kota Kreatif UNESCO?", "Apa itu ICCN?",
    "Kota mana yang pertama menjadi Kota Kreatif bidang Arsitektur?", "Apa itu focal point UCCN?",
    "Bagaimana seleksi nasional calon Kota Kreatif di Indonesia?", "Kapan Creative Cities Connect 2025 dibuka?",
]
MAX_N = 5000
MAX_CONCURRENCY = 64


def load_questions(path: Path | None) -> list[str]:
    if path is None and DEFAULT_QUESTIONS.exists():
        path = DEFAULT_QUESTIONS
    if path is None:
        return BUILTIN
    with open(path, encoding="utf-8") as fh:
        qs = [json.loads(line)["question"] for line in fh if line.strip()]
    return list(dict.fromkeys(qs)) or BUILTIN


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def server_rss_mb(client: httpx.Client) -> float | None:
    try:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("process_resident_memory_bytes "):
                return round(float(line.split()[1]) / 1e6, 1)
    except httpx.HTTPError:
        pass
    return None


def wait_ready(url: str, timeout: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url}/readyz not ready after {timeout:.0f} s")


def run(url: str, questions: list[str], n: int, concurrency: int, headers: dict[str, str]) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120, headers=headers) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    status = c.post("/v1/ask", json={"question": questions[i % len(questions)]}).status_code
                except httpx.HTTPError:
                    status = 0
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        latencies.append(ms)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    out = {"n": n, "concurrency": concurrency, "ok": len(latencies), "statuses": statuses,
           "wall_s": round(wall, 2), "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0}
    if latencies:
        out.update({f"p{p}_ms": round(percentile(latencies, p), 1) for p in (50, 95, 99)})
        out.update({"mean_ms": round(statistics.fmean(latencies), 1), "max_ms": round(max(latencies), 1)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--questions-file", type=Path, default=None)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--api-key", default=None, help="X-API-Key, when the server does not allow open reading")
    ap.add_argument("--wait-ready", action="store_true", help="poll /readyz first and report the time it took")
    ap.add_argument("--ready-timeout", type=float, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    host = urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only: --url must point to 127.0.0.1/localhost")
    if not 1 <= args.n <= MAX_N or not 1 <= args.concurrency <= MAX_CONCURRENCY:
        ap.error(f"--n must be 1..{MAX_N} and --concurrency 1..{MAX_CONCURRENCY}")
    url = args.url.rstrip("/")
    headers = {"X-API-Key": args.api_key} if args.api_key else {}

    result: dict = {}
    if args.wait_ready:
        result["ready_after_s"] = round(wait_ready(url, args.ready_timeout), 2)
    questions = load_questions(args.questions_file)
    with httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        result["rss_before_mb"] = server_rss_mb(c)
        result.update(run(url, questions, args.n, args.concurrency, headers))
        result["rss_after_mb"] = server_rss_mb(c)
    result["distinct_questions"] = min(len(questions), args.n)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")
    return 0 if result["ok"] == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
