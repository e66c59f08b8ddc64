"""Update-to-reply latency of the Telegram bot, measured against the fake Bot API (tests/fake_telegram.py).

Why this number: it is what a focal point waits for after pressing send, minus Telegram's own network. It
covers the whole bot path — long-poll delivery, PTB dispatch, typing action, ``Assistant.ask`` in a worker
thread, HTML formatting and ``sendMessage`` through the AIORateLimiter — with the production settings
(long poll of 10 s, the real Application and handlers). Both timestamps are taken by the fake server (update
queued → reply received), so the driver's own polling does not distort them.

Each question comes from a new private chat (gold questions, no follow-up rewriting between them) and is sent
after the previous reply arrived. Run::

    .venv/bin/python evals/bench_bot.py            # 50 questions on a scratch index of corpus/
    .venv/bin/python evals/bench_bot.py -n 100 --index-dir index
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fake_telegram import FakeTelegram  # noqa: E402  (lives beside the tests it serves)

from assistant.assistant import Assistant  # noqa: E402
from assistant.config import Settings  # noqa: E402
from bots.telegram.app import build_application, start, stop  # noqa: E402


def load_questions(n: int, warmup: int) -> list[str]:
    rows = [json.loads(line) for line in (REPO / "evals" / "datasets" / "gold.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    questions = [r["question"] for r in rows]
    need = n + warmup
    return (questions * (need // len(questions) + 1))[:need]


def build_assistant(index_dir: Path | None, scratch: Path) -> Assistant:
    """An existing index, or a scratch index of corpus/ in ``scratch`` (embeddings from the shared cache)."""
    base = Settings()
    if index_dir is not None:
        return Assistant(base.model_copy(update={"index_dir": index_dir.resolve()}))
    cache = base.embedding_cache or Path(base.index_dir) / "embedding-cache.sqlite"
    assistant = Assistant(base.model_copy(update={"index_dir": scratch, "embedding_cache": cache}))
    assistant.ingest()
    return assistant


def summary(name: str, values_ms: list[float]) -> str:
    p95 = statistics.quantiles(values_ms, n=20)[18] if len(values_ms) >= 2 else values_ms[0]
    return (f"{name:<28} median {statistics.median(values_ms):7.1f} ms   p95 {p95:7.1f} ms   "
            f"min {min(values_ms):6.1f}   max {max(values_ms):7.1f}")


async def run(assistant: Assistant, questions: list[str], warmup: int) -> dict[str, list[float]]:
    ask_ms: list[float] = []
    inner_ask = assistant.ask

    def timed_ask(*args: object, **kwargs: object):  # the Assistant's own share of the latency
        t = time.perf_counter()
        try:
            return inner_ask(*args, **kwargs)
        finally:
            ask_ms.append((time.perf_counter() - t) * 1000)

    assistant.ask = timed_ask  # type: ignore[method-assign]
    first: list[float] = []
    complete: list[float] = []
    with FakeTelegram() as fake:
        settings = assistant.settings.model_copy(
            update={"telegram_bot_token": fake.token, "telegram_base_url": fake.base_url})
        application = build_application(assistant, settings)
        await start(application, timeout=10)
        try:
            for i, question in enumerate(questions):
                chat = 100_000 + i
                update_id = fake.push(fake.message_update(chat, question))
                queued = fake.state.pushed_at[update_id]
                # The last part carries the 👍/👎 buttons.
                parts = await fake.wait_for("sendMessage", chat_id=chat, timeout=60,
                                            where=lambda c: c.error is not None or "reply_markup" in c.params)
                if parts[-1].error:
                    raise RuntimeError(f"sendMessage failed for {question!r}: {parts[-1].error}")
                if i >= warmup:
                    replies = fake.sent(chat)
                    first.append((replies[0].at - queued) * 1000)
                    complete.append((replies[-1].at - queued) * 1000)
        finally:
            await stop(application)
            assistant.ask = inner_ask  # type: ignore[method-assign]
    return {"first": first, "complete": complete, "ask": ask_ms[warmup:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--questions", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--index-dir", type=Path, default=None, help="an existing index (default: scratch index)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        assistant = build_assistant(args.index_dir, Path(tmp) / "index")
        try:
            result = asyncio.run(run(assistant, load_questions(args.questions, args.warmup), args.warmup))
        finally:
            assistant.close()
    overhead = [c - a for c, a in zip(result["complete"], result["ask"], strict=True)]
    print(f"Telegram bot, {len(result['first'])} questions against the fake Bot API (after {args.warmup} warm-up):")
    print(summary("update → first reply", result["first"]))
    print(summary("update → complete reply", result["complete"]))
    print(summary("  of which Assistant.ask", result["ask"]))
    print(summary("  bot + Telegram I/O", overhead))


if __name__ == "__main__":
    main()
