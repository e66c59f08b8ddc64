"""Telegram bot tests: the real PTB Application over real HTTP against a fake Bot API (tests/fake_telegram.py),
answering from a real Assistant on the corpus index; plus unit and property tests of the HTML splitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fake_telegram import FakeTelegram, HtmlError, parse_html, utf16_len
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.answer.base import Answerer, Draft
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.models import Answer, Citation, ScoredChunk
from bots.telegram import logsafe
from bots.telegram.app import build_application, file_url, maybe_start_in_app, run_polling, start, stop
from bots.telegram.formatting import (
    MAX_MESSAGE,
    Span,
    escape,
    format_answer,
    format_sources,
    pack,
    source_line,
    split_plain,
    tg_len,
)
from bots.telegram.handlers import APOLOGY, EXAMPLES, TypingIndicator, parse_allowed_chats

GROUP = -1001234567890


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture
def fake() -> FakeTelegram:
    with FakeTelegram() as f:
        yield f


@pytest.fixture
def copy_assistant(corpus_index, embedder, tmp_path):
    """Assistants on private copies of the session corpus index (as ``corpus_assistant``), optionally with
    another answerer (to produce long or hostile answer text while retrieval and memory stay real)."""
    made: list[Assistant] = []

    def make(answerer: Answerer | None = None) -> Assistant:
        idx = tmp_path / f"index-{len(made)}"
        shutil.copytree(corpus_index.index_dir, idx)
        a = Assistant(corpus_index.model_copy(update={"index_dir": idx}), embedder=embedder, answerer=answerer)
        made.append(a)
        return a

    yield make
    for a in made:
        a.feedback.close()
        a.conversations.close()


def bot_settings(fake: FakeTelegram, base: Settings, **kw: object) -> Settings:
    return base.model_copy(update={"telegram_bot_token": fake.token, "telegram_base_url": fake.base_url, **kw})


@contextlib.asynccontextmanager
async def running(assistant: Assistant, fake: FakeTelegram, **kw: object) -> AsyncIterator[object]:
    """The real Application polling the fake server (long-poll timeout 1 s, as the notes advise for tests)."""
    application = build_application(assistant, bot_settings(fake, assistant.settings, **kw))
    await start(application, poll_interval=0.0, timeout=1)
    try:
        yield application
    finally:
        await stop(application)


@pytest.fixture
async def bot(fake, corpus_assistant):
    async with running(corpus_assistant, fake) as application:
        yield application


async def ask(fake: FakeTelegram, chat_id: int, text: str, parts: int = 1, **kw: object) -> list:
    """Send ``text`` from ``chat_id`` and wait for ``parts`` new replies in that chat."""
    before = len(fake.sent(chat_id))
    fake.send_text(chat_id, text, **kw)
    calls = await fake.wait_for("sendMessage", chat_id=chat_id, count=before + parts,
                                where=lambda c: c.error is None)
    return calls[before:]


def no_errors(fake: FakeTelegram) -> None:
    bad = [(c.method, c.error) for c in fake.calls() if c.error]
    assert not bad, bad


# -- commands and answers -------------------------------------------------------------------------------------
async def test_start_registers_commands_and_welcomes(fake, bot):
    names = [c["command"] for c in fake.state.commands]
    assert names == ["start", "bantuan", "tanya", "sumber", "draf", "reset"]
    (reply,) = await ask(fake, 501, "/start")
    shown = reply.result["text"]
    assert "Asisten Kota Kreatif" in shown
    assert all(q in shown for q in EXAMPLES) and len(EXAMPLES) == 3
    assert reply.params["parse_mode"] == "HTML"
    (help_reply,) = await ask(fake, 501, "/bantuan")
    assert "@KotaKreatifBot" in help_reply.result["text"] and "/tanya" in help_reply.result["text"]
    no_errors(fake)


async def test_question_answered_with_citations_typing_and_buttons(fake, bot):
    (reply,) = await ask(fake, 502, "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
    shown = reply.result["text"]
    assert "2004" in shown and "[1]" in shown and "Sumber" in shown
    assert re.search(r"\[1\] .+, \d{4}", shown), shown  # short source list: title — section, date
    buttons = reply.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    typing = fake.calls("sendChatAction", chat_id=502)
    assert typing and typing[0].params["action"] == "typing" and typing[0].at < reply.at
    no_errors(fake)


async def test_feedback_press_is_stored_and_answered(fake, bot, corpus_assistant):
    (reply,) = await ask(fake, 503, "Bandung masuk UCCN bidang apa?")
    up = reply.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert up.startswith("fb:up:")
    fake.press(reply.result, up)
    (answered,) = await fake.wait_for("answerCallbackQuery")
    assert "Terima kasih" in answered.params["text"]
    rows = list(corpus_assistant.feedback.iter_all())
    assert len(rows) == 1
    assert rows[0]["rating"] == "up" and rows[0]["channel"] == "telegram"
    assert rows[0]["answer_id"] == up.split(":", 2)[2] and rows[0]["question"] == "Bandung masuk UCCN bidang apa?"
    await fake.wait_for("editMessageReplyMarkup")  # buttons removed: one vote per answer
    fake.press(reply.result, "fb:down:" + "0" * 32)  # an unknown answer: answered, nothing stored
    second = await fake.wait_for("answerCallbackQuery", count=2)
    assert "tidak tersimpan" in second[1].params["text"]
    assert corpus_assistant.feedback.count() == 1


async def test_follow_up_uses_conversation_then_sources_and_reset(fake, bot, corpus_assistant):
    await ask(fake, 504, "Bandung masuk UCCN bidang apa?")
    (reply,) = await ask(fake, 504, "Kalau Pekalongan?")
    history = corpus_assistant.conversations.history("tg:504")
    assert len(history) == 2 and "Pekalongan" in history[-1].standalone
    assert any(c["doc_id"] == "anggota-uccn-indonesia" for c in history[-1].citations)
    assert "Pekalongan" in reply.result["text"] and "Anggota UCCN dari Indonesia" in reply.result["text"]

    (sources,) = await ask(fake, 504, "/sumber")
    shown = sources.result["text"]
    assert "Anggota UCCN dari Indonesia" in shown and "Tautan: http" in shown and "Kutipan: “" in shown
    assert "Tanggal:" in shown and "Bagian:" in shown

    (done,) = await ask(fake, 504, "/reset")
    assert "lupakan" in done.result["text"]
    assert corpus_assistant.conversations.history("tg:504") == []
    (empty,) = await ask(fake, 504, "/sumber")
    assert "Belum ada sumber" in empty.result["text"]
    no_errors(fake)


async def test_group_rule_mention_reply_and_tanya(fake, bot):
    ignored = fake.send_text(GROUP, "Kapan UCCN dibentuk?", chat_type="supergroup")
    ignored_id = ignored["message"]["message_id"]
    mention = fake.send_text(GROUP, "@KotaKreatifBot Bandung masuk UCCN bidang apa?", chat_type="supergroup")
    (first,) = await fake.wait_for("sendMessage", chat_id=GROUP)
    assert first.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]
    assert "Desain" in first.result["text"]

    (second,) = await ask(fake, GROUP, "Kalau Pekalongan?", chat_type="supergroup", reply_to=first.result)
    assert "Pekalongan" in second.result["text"]
    (third,) = await ask(fake, GROUP, "/tanya Kapan Jejaring Kota Kreatif UNESCO dibentuk?", chat_type="supergroup")
    assert "2004" in third.result["text"] and "[1]" in third.result["text"]
    await ask(fake, GROUP, "/tanya@KotaKreatifBot Pekalongan bidang apa?", chat_type="supergroup")

    replies = fake.sent(GROUP)
    assert len(replies) == 4
    assert all(r.params.get("reply_parameters", {}).get("message_id") != ignored_id for r in replies)
    # a reply to someone else's message is not addressed to the bot either
    fake.send_text(GROUP, "Setuju", chat_type="supergroup", reply_to=ignored["message"])
    await ask(fake, GROUP, "/tanya Kapan UCCN dibentuk?", chat_type="supergroup")
    assert len(fake.sent(GROUP)) == 5
    no_errors(fake)


async def test_allow_list(fake, corpus_assistant):
    assert parse_allowed_chats(" 42, -100 7 ") == {42, -100, 7}
    async with running(corpus_assistant, fake, telegram_allowed_chats="42"):
        fake.send_text(43, "Kapan UCCN dibentuk?")
        await ask(fake, 42, "Kapan UCCN dibentuk?")
        assert fake.sent(43) == [] and fake.calls("sendChatAction", chat_id=43) == []


async def test_draf_drafts_a_reply_letter(fake, bot, corpus_assistant):
    (reply, *rest) = await ask(fake, 505, "/draf Selamat pagi. Apakah kabupaten boleh mendaftar UCCN?")
    text = "\n".join(r.result["text"] for r in (reply, *rest))
    assert "Draf balasan" in text and "Yth." in text and "Hormat kami" in text
    assert "[1]" in text
    no_errors(fake)

    corpus_assistant.draft = lambda request: f"Yth. Bapak/Ibu,\n\nTerkait pesan: {request} <&>"
    (reply,) = await ask(fake, 505, "/draf Warga menanyakan jadwal pendaftaran UCCN")
    assert "Terkait pesan: Warga menanyakan jadwal pendaftaran UCCN <&>" in reply.result["text"]
    no_errors(fake)


async def test_unknown_command_and_empty_tanya(fake, bot):
    (reply,) = await ask(fake, 506, "/entahlah")
    assert "/bantuan" in reply.result["text"]
    (reply,) = await ask(fake, 506, "/tanya")
    assert "/tanya" in reply.result["text"]
    (reply,) = await ask(fake, 506, "x" * 2500)  # InvalidQuestion: its Indonesian message, no traceback
    assert "terlalu panjang" in reply.result["text"]


# -- formatting end to end ------------------------------------------------------------------------------------
class EchoAnswerer(Answerer):
    """Echoes the question and cites a source whose title needs escaping (retrieval stays real)."""

    def answer(self, question: str, hits: list[ScoredChunk], *more: object, **kw: object) -> Draft:
        return Draft(text=f"Anda bertanya: {question} [1]", abstained=False, citations=[
            Citation(n=1, doc_id="uji", title="Dokumen <b>uji</b> & \"kutipan\"", section="A > B <c>",
                     date="2025", url="https://example.org/?a=1&b=<2>", quote="x < y && y > z")])


class LongAnswerer(Answerer):
    """A ~11,000-character answer with paragraphs, markup characters and one very long paragraph."""

    paragraph = ("Kota kreatif <UCCN> & jejaring: kalimat panjang untuk uji pemecahan pesan. " * 12).strip()

    def answer(self, question: str, hits: list[ScoredChunk], *more: object, **kw: object) -> Draft:
        text = "\n\n".join([self.paragraph] * 8 + ["Satu paragraf sangat panjang & <tanpa> batas. " * 90])
        return Draft(text=text, abstained=False, citations=[Citation(n=1, doc_id="uji", title="Uji & <ok>")])


async def test_html_is_escaped_end_to_end(fake, copy_assistant, corpus_assistant):
    question = "Apa itu <script>alert(1)</script> & kota &amp; <b>kreatif</b>?"
    async with running(copy_assistant(EchoAnswerer()), fake):
        (reply,) = await ask(fake, 507, question)
        shown = reply.result["text"]  # what Telegram displays after parsing the HTML
        assert f"Anda bertanya: {question} [1]" in shown
        assert "[1] Dokumen <b>uji</b> & \"kutipan\" — B <c>, 2025" in shown
        assert "&lt;script&gt;" in reply.text and "<script>" not in reply.text
        await ask(fake, 507, "/sumber")
    async with running(corpus_assistant, fake):  # the real answerer too
        await ask(fake, 508, question)
    no_errors(fake)


async def test_long_answer_is_split_into_valid_parts(fake, copy_assistant):
    async with running(copy_assistant(LongAnswerer()), fake):
        fake.send_text(509, "Jelaskan panjang lebar tentang UCCN")
        await fake.wait_for("sendMessage", chat_id=509, count=3)
        await asyncio.sleep(0.3)  # let any further parts arrive
    no_errors(fake)
    parts = fake.sent(509)
    assert len(parts) >= 3
    assert all(utf16_len(p.text) <= MAX_MESSAGE for p in parts)
    shown = "".join(p.result["text"] for p in parts)
    expected = LongAnswerer().answer("", []).text
    assert "".join(expected.split()) in "".join(shown.split())
    assert [("reply_markup" in p.params) for p in parts] == [False] * (len(parts) - 1) + [True]


# -- webhook, errors, logs ------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serve(app: object) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_webhook_checks_secret_and_processes_updates(fake, corpus_assistant):
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    app = FastAPI()
    web = Path(__file__).parent  # a catch-all mount, like the API's web page, must not shadow the webhook
    app.mount("/", StaticFiles(directory=web), name="web")
    settings = bot_settings(fake, corpus_assistant.settings, telegram_webhook_url="https://bot.example.org/telegram/webhook",
                            telegram_webhook_secret="s3cret-Webhook_token")
    shutdown = await maybe_start_in_app(app, corpus_assistant, settings)
    assert shutdown is not None
    try:
        (hook,) = fake.calls("setWebhook")
        assert hook.params["url"] == settings.telegram_webhook_url
        assert hook.params["secret_token"] == "s3cret-Webhook_token"
        assert fake.calls("deleteWebhook") == [] and fake.state.get_updates == 0
        update = fake.message_update(510, "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
        async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
            wrong = await client.post("/telegram/webhook", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "salah"})
            missing = await client.post("/telegram/webhook", json=update)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            assert fake.sent(510) == []
            right = await client.post("/telegram/webhook", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Webhook_token"})
            assert right.status_code == 200
            (reply,) = fake.sent(510)  # processed before the 200
            assert "2004" in reply.result["text"]
            for body in (b"{not json", b"[1, 2]"):
                bad = await client.post("/telegram/webhook", content=body,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Webhook_token"})
                assert bad.status_code == 400
    finally:
        await shutdown()


async def test_maybe_start_in_app_polls_without_webhook_url(fake, corpus_assistant):
    assert await maybe_start_in_app(object(), corpus_assistant, corpus_assistant.settings) is None  # no token
    shutdown = await maybe_start_in_app(object(), corpus_assistant,
                                        bot_settings(fake, corpus_assistant.settings).model_copy(
                                            update={"telegram_webhook_url": None}))
    assert shutdown is not None
    try:
        (reply,) = await ask(fake, 511, "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
        assert "2004" in reply.result["text"]
    finally:
        await shutdown()


async def test_wrong_token_fails_loudly(fake, corpus_assistant):
    from telegram.error import InvalidToken

    settings = bot_settings(fake, corpus_assistant.settings).model_copy(update={"telegram_bot_token": "1:wrong"})
    with pytest.raises(InvalidToken):
        await maybe_start_in_app(object(), corpus_assistant, settings)


async def test_webhook_mode_requires_a_secret(fake, corpus_assistant):
    settings = bot_settings(fake, corpus_assistant.settings, telegram_webhook_url="https://x.example/telegram/webhook",
                            telegram_webhook_secret=None)
    with pytest.raises(RuntimeError, match="TELEGRAM_WEBHOOK_SECRET"):
        await maybe_start_in_app(object(), corpus_assistant, settings)


async def test_assistant_exception_gives_apology_and_is_logged(fake, bot, corpus_assistant, monkeypatch, caplog):
    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("indeks rusak: detail internal")

    monkeypatch.setattr(corpus_assistant, "ask", boom)
    caplog.set_level(logging.ERROR, logger="bots")
    update = fake.send_text(512, "Kapan UCCN dibentuk?")
    (reply,) = await fake.wait_for("sendMessage", chat_id=512)
    assert reply.result["text"] == APOLOGY
    assert "indeks rusak" not in reply.text and "Traceback" not in reply.text
    logged = [r for r in caplog.records if r.name.startswith("bots") and r.levelno == logging.ERROR]
    assert logged and str(update["update_id"]) in logged[0].getMessage() and logged[0].exc_info


async def test_token_never_appears_in_logs(fake, corpus_assistant, caplog):
    caplog.set_level(logging.DEBUG)
    async with running(corpus_assistant, fake):
        (reply,) = await ask(fake, 513, "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
        fake.press(reply.result, reply.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        await fake.wait_for("answerCallbackQuery")
        logging.getLogger("bots.test").error("gagal di %s/bot%s/getMe", fake.base_url, fake.token,
                                             exc_info=RuntimeError(f"url {fake.base_url}{fake.token}/x"))
    assert any("HTTP Request: POST" in r.getMessage() and "[REDACTED]" in r.getMessage() for r in caplog.records)
    assert fake.token not in caplog.text
    assert all(fake.token not in r.getMessage() for r in caplog.records)
    formatter = logging.Formatter()
    assert all(fake.token not in formatter.format(r) for r in caplog.records)


def test_redaction_filter_on_a_plain_logger(caplog):
    token = "987654:SECRET-token-value"
    logsafe.install(token)
    logger = logging.getLogger("httpx")
    with caplog.at_level(logging.INFO, logger="httpx"):
        logger.info("HTTP Request: %s %s", "POST", f"https://api.telegram.org/bot{token}/getMe")
        try:
            raise ValueError(f"bad url https://api.telegram.org/bot{token}/x")
        except ValueError:
            logger.exception("failed")
    assert token not in caplog.text and caplog.text.count("[REDACTED]") >= 2


def test_run_polling_without_token_exits_2(monkeypatch, capsys):
    monkeypatch.setattr("bots.telegram.app.get_settings", lambda: Settings(telegram_bot_token=None))
    with pytest.raises(SystemExit) as exc:
        run_polling()
    assert exc.value.code == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


async def test_run_polling_subprocess_answers_and_stops_on_sigint(fake, corpus_index, tmp_path):
    """``kota-kreatif bot``'s entry point in its own process: default settings from the environment."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import CACHE

    idx = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
           "KK_INDEX_DIR": str(idx), "KK_EMBEDDING_CACHE": str(CACHE), "KK_CORPUS_DIR": str(corpus_index.corpus_dir)}
    proc = subprocess.Popen([sys.executable, "-c", "from bots.telegram.app import run_polling; run_polling()"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        await fake.wait_for("setMyCommands", timeout=60)
        (reply,) = await ask(fake, 514, "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
        assert "2004" in reply.result["text"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, err
    assert "Application started" in err
    assert fake.token not in out + err


async def test_rate_limiter_lets_typing_bypass_a_full_group_budget():
    from bots.telegram.app import BotRateLimiter

    limiter = BotRateLimiter(group_max_rate=1, group_time_period=60)

    async def call() -> bool:
        return True

    group = {"chat_id": GROUP}
    assert await limiter.process_request(call, (), {}, "sendMessage", group, None)  # uses the group's budget
    # the next message to that group waits (~60 s); the typing action does not
    assert await asyncio.wait_for(limiter.process_request(call, (), {}, "sendChatAction", group, None), 1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(limiter.process_request(call, (), {}, "sendMessage", group, None), 0.2)


def test_file_url():
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:9/bot/") == "http://127.0.0.1:9/file/bot"


# -- typing indicator ---------------------------------------------------------------------------------------
async def test_typing_is_refreshed_and_never_outlives_the_answer():
    sent: list[float] = []
    finished: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        sent.append(loop.time())
        await asyncio.sleep(0.02)  # a round trip
        finished.append(loop.time())

    async with TypingIndicator(send, every=0.05):
        await asyncio.sleep(0.18)
    exited = loop.time()
    assert len(sent) >= 3  # refreshed while the work runs
    assert len(finished) == len(sent) and finished[-1] <= exited  # an in-flight action completes before the reply


# -- formatting unit and property tests -----------------------------------------------------------------------
def test_split_plain_prefers_paragraphs():
    paras = [f"Paragraf {i}. " + "kata " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paras)
    parts = split_plain(text, 2000)
    assert len(parts) > 1
    assert all(tg_len(escape(p)) <= 2000 for p in parts)
    assert all(p.startswith("Paragraf") for p in parts)  # every cut on a paragraph boundary


def test_split_counts_escaped_length_and_hard_cuts():
    text = "&" * 5000  # escapes to 25,000 characters, no boundary at all
    parts = split_plain(text, MAX_MESSAGE)
    assert "".join(parts) == text
    assert all(tg_len(escape(p)) <= MAX_MESSAGE for p in parts)
    assert max(tg_len(escape(p)) for p in parts) > MAX_MESSAGE - 5
    emoji = "😀" * 3000  # 2 UTF-16 units each
    assert all(tg_len(p) <= 100 for p in split_plain(emoji, 100))


def test_pack_never_cuts_inside_a_tag_and_validates():
    blocks = [[Span("Judul", "b"), Span(" & isi <x>")], [Span("y" * 5000, "i")], [Span("tautan", "a", "javascript:x")]]
    parts = pack(blocks)
    for part in parts:
        parse_html(part)
        assert tg_len(part) <= MAX_MESSAGE
    assert parts[0].startswith("<b>Judul</b> &amp; isi &lt;x&gt;")
    assert "javascript" not in "".join(parts)
    with pytest.raises(HtmlError):
        parse_html("<script>x</script>")
    with pytest.raises(HtmlError):
        parse_html("a & b")


def test_answer_and_sources_format():
    answer = Answer(answer="UCCN dibentuk pada 2004. [1]", abstained=False, answer_id="a" * 32, citations=[
        Citation(n=1, doc_id="uccn-profil", title="Profil UCCN", section="Profil > Sejarah", date="2024-01-02",
                 url="https://en.unesco.org/creative-cities?x=1&y=2", quote="UCCN dibentuk pada 2004.")])
    (msg,) = format_answer(answer)
    assert parse_html(msg) == ("UCCN dibentuk pada 2004. [1]\n\nSumber (rincian: /sumber)\n"
                               "[1] Profil UCCN — Sejarah, 2024-01-02")
    assert source_line(answer.citations[0]) == "[1] Profil UCCN — Sejarah, 2024-01-02"
    (full,) = format_sources([answer.citations[0].model_dump()])
    assert 'href="https://en.unesco.org/creative-cities?x=1&amp;y=2"' in full
    assert "Bagian: Profil &gt; Sejarah" in full and "Kutipan: <i>“UCCN dibentuk pada 2004.”</i>" in full


_TOKENS = [*"ab <>&\"'\n\t.!?", "😀", "é", "ß", "\n\n", "&amp;", "kata", "Kota Kreatif. ", "\u2028", "\xa0"]
_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=600).map("".join)


def _rebuilt_from(text: str, parts: list[str]) -> bool:
    """True if ``parts`` are ``text`` in order with only whitespace dropped between/around them."""
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        if found < 0 or text[pos:found].strip():
            return False
        pos = found + len(part)
    return not text[pos:].strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, limit=st.integers(min_value=8, max_value=400))
def test_property_split_plain(text, limit):
    parts = split_plain(text, limit)
    assert all(p and p == p.strip() for p in parts)
    assert all(tg_len(escape(p)) <= limit for p in parts)
    assert _rebuilt_from(text, parts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paragraphs=st.lists(st.tuples(_TEXT, st.sampled_from(["", "b", "i", "code"])), max_size=8),
       limit=st.integers(min_value=16, max_value=600))
def test_property_pack(paragraphs, limit):
    blocks = [[Span(t, style)] for t, style in paragraphs]
    parts = pack(blocks, limit)
    shown = [parse_html(p) for p in parts]  # valid Telegram HTML, never a cut tag or entity
    assert all(tg_len(p) <= limit for p in parts)
    assert "".join("".join(s.split()) for s in shown) == "".join("".join(t.split()) for t, _ in paragraphs)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=3000))
def test_property_any_unicode(text):
    parts = split_plain(text, 512)
    assert all(tg_len(escape(p)) <= 512 for p in parts)
    assert _rebuilt_from(text, parts)
