"""The web chat page in headless Chromium against a real server (uvicorn + a real Assistant)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.api.app import create_app
from assistant.api.server import ServerThread
from assistant.assistant import Assistant

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/kk-web.png")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="/usr/bin/chromium is missing (apt-get install -y chromium)")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def live(corpus_index, embedder, tmp_path_factory):
    idx = tmp_path_factory.mktemp("web") / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    settings = corpus_index.model_copy(update={"index_dir": idx})
    a = Assistant(settings, embedder=embedder)
    with ServerThread(create_app(settings, assistant=a)) as url:
        yield SimpleNamespace(url=url, assistant=a)
    a.feedback.close()
    a.conversations.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


def test_chat_streams_answer_with_sources_and_feedback(live, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="id-ID",
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((live.url, "data:")) else None)
    streamed: list[str] = []
    page.on("response", lambda r: streamed.append(r.headers.get("content-type", ""))
            if r.url.endswith("/v1/ask") else None)

    page.goto(live.url + "/")
    assert page.title() == "Asisten Kota Kreatif"
    page.fill("#question", "Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
    page.keyboard.press("Enter")

    bot = page.locator(".msg.bot").first
    bot.locator(".actions:not([hidden])").wait_for()
    assert "2004" in bot.locator(".text").inner_text()
    assert streamed and streamed[0].startswith("text/event-stream")
    assert page.locator(".msg.user .text").first.inner_text() == "Kapan Jejaring Kota Kreatif UNESCO dibentuk?"

    # Numbered source cards: closed until clicked, then show the quote and the link.
    cards = bot.locator(".sources .card")
    assert cards.count() >= 1
    first = cards.first
    assert first.locator(".num").inner_text() == "[1]" and first.get_attribute("open") is None
    first.locator("summary").click()
    assert first.get_attribute("open") is not None
    assert first.locator("blockquote").is_visible() and first.locator("blockquote").inner_text().startswith("“")
    assert first.locator("a").get_attribute("href").startswith("http")
    # An inline [n] marker in the answer opens its card too.
    marker = bot.locator(".text .cite").last
    n = marker.inner_text()
    marker.click()
    assert bot.locator(f".sources .card >> nth={int(n) - 1}").get_attribute("open") is not None

    # Copy button.
    bot.locator(".copy").click()
    expect(bot.locator(".note")).to_have_text("Jawaban disalin.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "2004" in copied and "Sumber:" in copied

    # 👍 is stored by the FeedbackStore with the answer it refers to.
    answer_id = bot.get_attribute("data-answer-id")
    bot.locator(".fb.up").click()
    expect(bot.locator(".note")).to_contain_text("Terima kasih")
    stored = [f for f in live.assistant.feedback.iter_all() if f["answer_id"] == answer_id]
    assert len(stored) == 1 and stored[0]["rating"] == "up" and "2004" in stored[0]["answer"]
    assert bot.locator(".fb.up").is_disabled()

    # The conversation goes on: a follow-up is understood from the previous turn.
    page.fill("#question", "Kota mana saja di Indonesia yang menjadi anggota UCCN?")
    page.click("#send")
    page.locator(".msg.bot >> nth=1").locator(".actions:not([hidden])").wait_for()
    page.fill("#question", "Terus Bandung masuk bidang kreatif apa?")
    page.click("#send")
    third = page.locator(".msg.bot").nth(2)
    third.locator(".actions:not([hidden])").wait_for()
    assert "Desain" in third.locator(".text").inner_text()
    cid = page.evaluate("sessionStorage.getItem('kk.conversation')")
    assert cid and len(live.assistant.conversations.history(cid)) == 3
    assert third.locator(".progress").inner_text().startswith("Dipahami sebagai:")

    page.evaluate("window.scrollTo({top: document.body.scrollHeight, behavior: 'instant'})")
    page.wait_for_timeout(600)  # let the page's own smooth scroll settle
    page.screenshot(path=str(SCREENSHOT))  # what the user sees: header, latest answer, composer

    # Reload: the conversation is shown again from the server.
    page.reload()
    page.locator(".msg.bot >> nth=2").locator(".sources .card").first.wait_for()
    assert page.locator(".msg.user").count() == 3

    # Phone width: nothing overflows sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")

    assert not problems, problems
    assert not outside, outside  # works offline: nothing fetched from another origin
    context.close()


def test_error_message_shown_in_indonesian(live, browser):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(live.url + "/")
    page.evaluate("document.querySelector('#question').removeAttribute('maxlength')")
    page.fill("#question", "x" * 2100)
    page.click("#send")
    err = page.locator(".msg.bot.error .text")
    err.wait_for()
    assert "terlalu panjang" in err.inner_text()
    page.close()
