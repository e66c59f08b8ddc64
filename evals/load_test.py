"""Bounded load and leak test of the HTTP API on loopback: concurrent clients, mixed ask / search / stream.

    .venv/bin/python evals/load_test.py                      # 50 clients, 1,000 requests, 3 rounds
    .venv/bin/python evals/load_test.py --clients 10 --requests 100 --rounds 1 --json out.json
    .venv/bin/python evals/load_test.py --url http://127.0.0.1:8000   # an already running server (no RSS)

Why it exists: ``evals/load_api.py`` measures ``/v1/ask`` latency; this script asks a different question — does
the service stay *correct* under concurrency (every response complete and valid, zero errors, streams that end
with ``done``) and does its memory stay flat when the same load repeats? So it

* starts ``kota-kreatif serve`` as a subprocess (rate limit off: ``KK_RATE_LIMIT_PER_MINUTE=0``) on a scratch
  index, building that index first if it is missing (``KK_INDEX_DIR=/tmp/kk-load-index``, embeddings from the
  shared test cache, so nothing is downloaded or re-embedded);
* runs ``--rounds`` rounds of ``--requests`` requests from ``--clients`` concurrent clients (one HTTP connection
  each), a seeded mix of JSON asks, searches and SSE asks, validating every response body;
* reads the server's ``VmRSS`` from ``/proc/<pid>/status`` after warm-up and after each round: RSS that keeps
  climbing round after round under identical load is a leak (caches are bounded, so growth must stop).

Loopback only, bounded in requests (≤ 5,000 a round), clients (≤ 64), rounds (≤ 5) and time (``--max-seconds``).
Exit code 0 only with zero errors and no leak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = Path("/tmp/kk-load-index")
DEFAULT_CACHE = REPO / ".cache" / "test-embeddings.sqlite"
GOLD = REPO / "evals" / "datasets" / "gold.jsonl"
MAX_REQUESTS, MAX_CLIENTS, MAX_ROUNDS = 5000, 64, 5
MIX = (("ask", 0.4), ("search", 0.4), ("stream", 0.2))
FALLBACK_QUESTIONS = [
    "Kapan Jejaring Kota Kreatif UNESCO dibentuk?", "Bandung menjadi Kota Kreatif UNESCO bidang apa?",
    "Dokumen apa yang wajib dilampirkan saat mendaftar UCCN?", "Asta Cita memuat berapa misi?",
    "Jumlah subsektor ekraf sekarang ada berapa?", "Bagaimana cara memasak rendang?",
]
# A round whose server RSS grew by more than this over the first measured round, with growth in every round,
# counts as a leak. Allocator noise and late-filled bounded caches stay well below it.
LEAK_MB = 30.0


@dataclass
class Sample:
    """One request as the client saw it."""

    kind: str
    seconds: float
    status: int
    error: str = ""
    question: str = ""


@dataclass
class RoundResult:
    requests: int
    clients: int
    wall_s: float
    errors: int
    by_kind: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    slowest: dict[str, object]
    throughput_rps: float
    error_samples: list[dict[str, object]] = field(default_factory=list)
    rss_mb: float | None = None


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), so p99 of 1,000 samples is not just the maximum."""
    s = sorted(values)
    if not s:
        return 0.0
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def load_questions(path: Path = GOLD) -> list[str]:
    """Real user-style questions (answerable and not) from the gold set; a short built-in list otherwise."""
    if not path.exists():
        return FALLBACK_QUESTIONS
    with open(path, encoding="utf-8") as fh:
        qs = [json.loads(line)["question"] for line in fh if line.strip()]
    return list(dict.fromkeys(qs)) or FALLBACK_QUESTIONS


def plan(n: int, questions: list[str], seed: int) -> list[tuple[str, str]]:
    """The (kind, question) sequence of one round: seeded, so rounds and runs are comparable."""
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    return [(rng.choices(kinds, weights)[0], rng.choice(questions)) for _ in range(n)]


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        if not frame.strip():
            continue
        fields = dict(line.split(": ", 1) for line in frame.split("\n") if ": " in line)
        events.append((fields.get("event", ""), json.loads(fields.get("data", "{}"))))
    return events


def check_response(kind: str, resp: httpx.Response) -> str:
    """Empty string when the response is complete and valid for its kind, else what is wrong with it."""
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}: {resp.text[:200]}"
    if kind == "search":
        body = resp.json()
        return "" if isinstance(body.get("results"), list) and body["results"] else "no results"
    if kind == "ask":
        body = resp.json()
        if not body.get("answer"):
            return "empty answer"
        if not body.get("abstained") and not body.get("citations"):
            return "answer without citations"
        return ""
    events = parse_sse(resp.text)
    names = [e for e, _ in events]
    if "error" in names:
        return f"error event: {dict(events).get('error')}"
    if not names or names[-1] != "done" or names[0] != "retrieval":
        return f"incomplete stream: {names[:3]}…{names[-2:]}"
    if not "".join(d.get("text", "") for e, d in events if e == "delta"):
        return "stream without answer text"
    return ""


async def _one(client: httpx.AsyncClient, kind: str, question: str) -> Sample:
    path, body = ("/v1/search", {"query": question, "k": 5}) if kind == "search" else (
        "/v1/ask", {"question": question, "stream": kind == "stream"})
    t0 = time.perf_counter()
    try:
        resp = await client.post(path, json=body)
        error = check_response(kind, resp)
        status = resp.status_code
    except (httpx.HTTPError, ValueError) as exc:  # transport failure, timeout, or a body that is not JSON
        error, status = f"{type(exc).__name__}: {exc}", 0
    return Sample(kind, time.perf_counter() - t0, status, error, question)


async def run_round(url: str, clients: int, requests: int, *, seed: int = 0, timeout: float = 120.0,
                    questions: list[str] | None = None, headers: dict[str, str] | None = None) -> RoundResult:
    """``requests`` requests from ``clients`` concurrent clients (each its own connection) against ``url``."""
    work = plan(requests, questions or load_questions(), seed)
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    samples: list[Sample] = []

    async def client_loop() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, headers=headers) as c:
            while True:
                try:
                    kind, q = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                samples.append(await _one(c, kind, q))

    t0 = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    wall = time.perf_counter() - t0
    ms = [s.seconds * 1000 for s in samples]
    slow = max(samples, key=lambda s: s.seconds)
    errors = [s for s in samples if s.error]
    by_kind: dict[str, int] = {}
    for s in samples:
        by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
    return RoundResult(
        requests=len(samples), clients=clients, wall_s=round(wall, 2), errors=len(errors), by_kind=by_kind,
        p50_ms=round(percentile(ms, 50), 1), p95_ms=round(percentile(ms, 95), 1),
        p99_ms=round(percentile(ms, 99), 1), mean_ms=round(statistics.fmean(ms), 1),
        slowest={"kind": slow.kind, "ms": round(slow.seconds * 1000, 1), "question": slow.question,
                 "status": slow.status},
        throughput_rps=round(len(samples) / wall, 1),
        error_samples=[asdict(s) for s in errors[:5]])


# -- the server under test ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` from the kernel (not from the app's own metrics, which could lie)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("kota-kreatif")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]


def build_index(index_dir: Path, cache: Path) -> None:
    """``kota-kreatif ingest`` of the corpus into ``index_dir`` (vectors from the shared cache)."""
    env = {**os.environ, "KK_INDEX_DIR": str(index_dir), "KK_EMBEDDING_CACHE": str(cache)}
    proc = subprocess.run([*_cli(), "ingest", "--json"], env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode not in (0, 2):
        raise SystemExit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")


class ServeProcess:
    """``kota-kreatif serve`` on a free loopback port with the given index; stopped with SIGINT (graceful)."""

    def __init__(self, index_dir: Path, cache: Path, log_path: Path, extra_env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "KK_INDEX_DIR": str(index_dir), "KK_EMBEDDING_CACHE": str(cache),
                    "KK_RATE_LIMIT_PER_MINUTE": "0", **(extra_env or {})}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> ServeProcess:
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the process; closed in stop()
        self._log = log
        self.proc = subprocess.Popen([*_cli(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.url} not ready after {timeout:.0f} s; log: {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float | None:
        return vm_rss_mb(self.pid)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def leak_verdict(rss: list[float | None]) -> tuple[bool, str]:
    """(leak?, explanation) from RSS after warm-up followed by RSS after each round."""
    vals = [v for v in rss if v is not None]
    if len(vals) < 3:
        return False, "not enough RSS readings to judge"
    rounds = vals[1:]
    growth = rounds[-1] - rounds[0]
    steady_climb = all(b > a for a, b in zip(rounds, rounds[1:], strict=False))
    leak = growth > LEAK_MB and steady_climb
    return leak, (f"RSS after rounds {rounds} MB (warm-up {vals[0]} MB): growth first→last round "
                  f"{growth:+.1f} MB ({'leak' if leak else 'flat'}; threshold {LEAK_MB} MB with growth every round)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=1000, help="requests per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX)
    ap.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--url", default=None, help="use this running server (loopback) instead of starting one")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="stop starting new rounds after this")
    ap.add_argument("--json", type=Path, default=None, help="also write the full result here")
    args = ap.parse_args(argv)
    if not (1 <= args.requests <= MAX_REQUESTS and 1 <= args.clients <= MAX_CLIENTS and 1 <= args.rounds <= MAX_ROUNDS):
        ap.error(f"bounds: --requests 1..{MAX_REQUESTS}, --clients 1..{MAX_CLIENTS}, --rounds 1..{MAX_ROUNDS}")
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")

    t_start = time.monotonic()
    server: ServeProcess | None = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        if not (args.index_dir / "state").exists():
            print(f"building the scratch index in {args.index_dir} …", file=sys.stderr)
            build_index(args.index_dir, args.embedding_cache)
        log_dir = args.index_dir.parent / (args.index_dir.name + "-logs")
        log_dir.mkdir(parents=True, exist_ok=True)
        server = ServeProcess(args.index_dir, args.embedding_cache, log_dir / "serve.log").start()
        url = server.url
    questions = load_questions()
    result: dict[str, object] = {"url": url, "clients": args.clients, "requests_per_round": args.requests,
                                 "mix": dict(MIX), "distinct_questions": len(questions), "rounds": []}
    rss: list[float | None] = []
    try:
        # Warm-up (not measured): every code path once, so round 1 is not charged for first-call costs.
        asyncio.run(run_round(url, min(4, args.clients), 20, seed=args.seed - 1, questions=questions))
        rss.append(server.rss_mb() if server else None)
        for r in range(args.rounds):
            if time.monotonic() - t_start > args.max_seconds:
                print(f"time budget of {args.max_seconds:.0f} s spent; stopping after {r} rounds", file=sys.stderr)
                break
            res = asyncio.run(run_round(url, args.clients, args.requests, seed=args.seed + r, timeout=args.timeout,
                                        questions=questions))
            res.rss_mb = server.rss_mb() if server else None
            rss.append(res.rss_mb)
            result["rounds"].append(asdict(res))  # type: ignore[union-attr]
            print(f"round {r + 1}: {res.requests} requests, {res.errors} errors, p50 {res.p50_ms} ms, "
                  f"p95 {res.p95_ms} ms, p99 {res.p99_ms} ms, slowest {res.slowest['ms']} ms "
                  f"({res.slowest['kind']}), {res.throughput_rps} req/s, server RSS {res.rss_mb} MB", file=sys.stderr)
    finally:
        if server is not None:
            result["server_exit_code"] = server.stop()
    rounds: list[dict] = result["rounds"]  # type: ignore[assignment]
    leak, why = leak_verdict(rss)
    result.update({"rss_warmup_mb": rss[0] if rss else None, "leak": leak, "leak_check": why,
                   "errors": sum(r["errors"] for r in rounds), "seconds": round(time.monotonic() - t_start, 1)})
    if rounds:
        all_p = {k: max(r[k] for r in rounds) for k in ("p50_ms", "p95_ms", "p99_ms")}
        result["worst_round"] = all_p
        result["slowest"] = max((r["slowest"] for r in rounds), key=lambda s: s["ms"])
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)
    return 0 if result["errors"] == 0 and not leak and rounds else 1


if __name__ == "__main__":
    sys.exit(main())
