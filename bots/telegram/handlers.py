"""Update handlers: Telegram concerns only (who is addressed, typing, buttons, messages); every answer, source,
draft and feedback comes from the shared :class:`Assistant`, exactly as the CLI and the API get them.

Conversation memory is the Assistant's own store under ``tg:<chat_id>`` (bounded, expires after inactivity), so
a follow-up such as "Kalau Pekalongan?" is rewritten from the previous turn, and ``/sumber`` reads the last turn.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakValueDictionary

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from assistant.assistant import Assistant, InvalidQuestion
from assistant.config import Settings
from bots.telegram.formatting import Span, format_answer, format_sources, format_text, pack, sources_blocks

log = logging.getLogger(__name__)

COMMANDS: list[tuple[str, str]] = [
    ("start", "Mulai dan lihat contoh pertanyaan"),
    ("bantuan", "Cara memakai bot ini"),
    ("tanya", "Ajukan pertanyaan: /tanya <pertanyaan>"),
    ("sumber", "Sumber lengkap jawaban terakhir"),
    ("draf", "Draf balasan untuk staf: /draf <pesan>"),
    ("reset", "Lupakan percakapan ini"),
]
EXAMPLES = [
    "Kapan Jejaring Kota Kreatif UNESCO dibentuk?",
    "Bandung masuk UCCN bidang apa?",
    "Apa itu Asta Ekraf?",
]
WELCOME = (
    "Halo! Saya Asisten Kota Kreatif. Saya menjawab pertanyaan tentang Jejaring Kota Kreatif UNESCO (UCCN) "
    "dan kebijakan ekonomi kreatif Indonesia, hanya dari dokumen yang saya miliki, lengkap dengan sumbernya.\n\n"
    "Contoh pertanyaan:\n" + "\n".join(f"• {q}" for q in EXAMPLES) + "\n\n"
    "Ketik pertanyaan Anda langsung, atau /bantuan untuk daftar perintah."
)
HELP = (
    "Cara memakai Asisten Kota Kreatif:\n\n"
    "• Di chat pribadi, tulis saja pertanyaan Anda. Pertanyaan lanjutan seperti \"Kalau Bandung?\" "
    "memakai konteks percakapan.\n"
    "• Di grup, saya hanya menjawab /tanya <pertanyaan>, pesan yang menyebut @{username}, atau balasan "
    "ke pesan saya.\n\n"
    "Perintah:\n" + "\n".join(f"/{c} — {d}" for c, d in COMMANDS) + "\n\n"
    "Tekan 👍 atau 👎 di bawah jawaban untuk menilai jawabannya."
)
APOLOGY = "Maaf, terjadi kesalahan saat memproses permintaan Anda. Silakan coba lagi sebentar lagi."
NOT_AVAILABLE = "Maaf, fitur draf balasan belum tersedia."
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for ~5 s per action


def bot_commands() -> list[BotCommand]:
    return [BotCommand(c, d) for c, d in COMMANDS]


def parse_allowed_chats(raw: str | None) -> frozenset[int]:
    """``"123, -100456"`` → {123, -100456}; empty means every chat is allowed."""
    return frozenset(int(p) for p in re.split(r"[,\s]+", raw or "") if p.strip())


def conversation_id(chat_id: int) -> str:
    return f"tg:{chat_id}"


def feedback_keyboard(answer_id: str) -> InlineKeyboardMarkup | None:
    """👍/👎 buttons; callback_data "fb:up:<answer_id>" stays far below Telegram's 64-byte limit."""
    if not answer_id or len(f"fb:down:{answer_id}".encode()) > 64:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data=f"fb:up:{answer_id}"),
                                  InlineKeyboardButton("👎", callback_data=f"fb:down:{answer_id}")]])


def command_argument(message: Message) -> str:
    """Text after the leading ``/command`` (newlines kept, unlike ``context.args``)."""
    text = message.text or ""
    for ent in message.entities:
        if ent.type == MessageEntity.BOT_COMMAND and ent.offset == 0:
            return text[ent.length:].strip()  # a command is ASCII: UTF-16 length == str length
    return text.strip()


def addressed_text(message: Message, bot_id: int, username: str) -> str | None:
    """The question in ``message`` if the bot is addressed, else None.

    Private chat: any text. Group: only a mention of @username (or a text-mention of the bot) or a reply to one
    of the bot's messages; the mention itself is removed from the question.
    """
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    mentioned = any(
        value.lower() == f"@{username}".lower() if ent.type == MessageEntity.MENTION
        else ent.user is not None and ent.user.id == bot_id
        for ent, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items())
    reply = message.reply_to_message
    replied = reply is not None and reply.from_user is not None and reply.from_user.id == bot_id
    if not (mentioned or replied):
        return None
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.I)
    return " ".join(text.split())


class TypingIndicator:
    """Shows "typing…" while an answer is prepared, refreshed every ``TYPING_EVERY`` seconds.

    The first action goes out concurrently with the work (no added latency). On exit the loop stops but an
    action already in flight is awaited: one arriving *after* the answer would show "typing…" for ~5 s under it.
    """

    def __init__(self, send: Callable[[], Any], every: float = TYPING_EVERY) -> None:
        self._send = send
        self._every = every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self._send()
            except TelegramError as e:  # cosmetic: never fail an answer because of it
                log.debug("sendChatAction gagal: %s", e)
            try:
                await asyncio.wait_for(self._stop.wait(), self._every)
            except TimeoutError:
                continue

    async def __aenter__(self) -> TypingIndicator:
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)  # cancels the loop on timeout or if we are cancelled
            except TimeoutError:
                log.debug("sendChatAction tidak selesai dalam 10 s")


class BotHandlers:
    """All handlers of one Application, bound to one Assistant."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.assistant = assistant
        self.allowed = parse_allowed_chats(settings.telegram_allowed_chats)
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()

    def register(self, application: Application) -> None:
        new = filters.UpdateType.MESSAGE  # edits of old messages are not new questions
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        for name, callback in (("start", self.start), ("bantuan", self.help), ("help", self.help),
                               ("tanya", self.ask_command), ("sumber", self.sources), ("draf", self.draft),
                               ("reset", self.reset)):
            application.add_handler(CommandHandler(name, callback, filters=new))
        application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, self.on_text))
        application.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE, self.unknown))
        application.add_handler(CallbackQueryHandler(self.on_feedback, pattern=r"^fb:(up|down):"))
        application.add_error_handler(self.on_error)

    # -- gate -----------------------------------------------------------------------------------------------
    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Allow-list: updates from other chats stop here, silently (no reply reveals the bot)."""
        chat = update.effective_chat
        if self.allowed and (chat is None or chat.id not in self.allowed):
            log.info("Update %s dari chat %s diabaikan (tidak ada di daftar izin)", update.update_id,
                     chat.id if chat else None)
            raise ApplicationHandlerStop

    # -- commands -------------------------------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, format_text(WELCOME))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, format_text(HELP.format(username=context.bot.username)))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, format_text("Perintah tidak dikenal. Ketik /bantuan untuk daftar perintah."))

    async def ask_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        question = command_argument(update.effective_message)
        if not question:
            await self._send(update, format_text(f"Tulis pertanyaan setelah /tanya, misalnya:\n/tanya {EXAMPLES[0]}"))
            return
        await self._answer(update, context, question)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        question = addressed_text(message, context.bot.id, context.bot.username)
        if question is None:
            return  # a group message not meant for the bot
        if not question:
            await self._send(update, format_text(f"Ada yang bisa saya bantu? Misalnya: {EXAMPLES[1]}"))
            return
        await self._answer(update, context, question)

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        cid = conversation_id(update.effective_chat.id)
        history = await asyncio.to_thread(self.assistant.history, cid)
        if not history or not history[-1].citations:
            await self._send(update, format_text("Belum ada sumber untuk ditampilkan: ajukan pertanyaan dulu."))
            return
        await self._send(update, format_sources(history[-1].citations))

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await asyncio.to_thread(self.assistant.forget, conversation_id(update.effective_chat.id))
        await self._send(update, format_text("Baik, percakapan sebelumnya sudah saya lupakan. Silakan bertanya lagi."))

    async def draft(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        make_draft = getattr(self.assistant, "draft", None)
        if not callable(make_draft):
            await self._send(update, format_text(NOT_AVAILABLE))
            return
        request = command_argument(update.effective_message)
        if not request:
            await self._send(update, format_text(
                "Tulis pesan yang ingin dibalas setelah /draf, misalnya:\n"
                "/draf Warga bertanya kapan pendaftaran UCCN berikutnya dibuka."))
            return
        async with self._chat_lock(update.effective_chat.id), self._typing(update, context):
            result = await asyncio.to_thread(make_draft, request)
        await self._send(update, pack(draft_blocks(result)))

    # -- answers --------------------------------------------------------------------------------------------
    async def _answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
        chat_id = update.effective_chat.id
        # One question at a time per chat: a quick follow-up must see the previous turn in memory.
        async with self._chat_lock(chat_id):
            try:
                async with self._typing(update, context):
                    answer = await asyncio.to_thread(self.assistant.ask, question, conversation_id(chat_id))
            except InvalidQuestion as e:
                await self._send(update, format_text(str(e)))
                return
            await self._send(update, format_answer(answer), feedback_keyboard(answer.answer_id))

    def _typing(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> TypingIndicator:
        chat_id = update.effective_chat.id
        return TypingIndicator(lambda: context.bot.send_chat_action(chat_id, ChatAction.TYPING))

    def _chat_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def _send(self, update: Update, parts: Sequence[str], markup: InlineKeyboardMarkup | None = None) -> None:
        """Send HTML parts in order; in groups the first quotes the question; buttons go under the last part."""
        message = update.effective_message
        quote = message.chat.type != ChatType.PRIVATE
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await message.reply_html(part, do_quote=quote and i == 0, reply_markup=markup if last else None)

    # -- feedback -------------------------------------------------------------------------------------------
    async def on_feedback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        _, rating, answer_id = (query.data or "").split(":", 2)
        try:
            await asyncio.to_thread(self.assistant.record_feedback, answer_id, rating, None, "telegram")
        except KeyError:
            await query.answer("Maaf, jawaban ini sudah tidak tersimpan, jadi penilaian tidak dapat dicatat.")
            return
        await query.answer("Terima kasih atas penilaian Anda! " + ("👍" if rating == "up" else "👎"))
        try:  # one vote per answer: remove the buttons
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError as e:
            log.debug("Tombol penilaian tidak dapat dihapus: %s", e)

    # -- errors ---------------------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the update id (never the traceback to the user) and answer with a short apology."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("Gagal memproses update %s: %s", update_id, type(context.error).__name__, exc_info=context.error)
        if not isinstance(update, Update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(APOLOGY)
            elif update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, APOLOGY)
        except TelegramError as e:
            log.warning("Permintaan maaf untuk update %s tidak terkirim: %s", update_id, e)


def draft_blocks(result: Any) -> list[list[Span]]:
    """Render whatever ``Assistant.draft`` returns: a string, or an object with a text field and citations."""
    if isinstance(result, str):
        text, citations = result, []
    else:
        text = next((getattr(result, a) for a in ("text", "draft", "body", "answer")
                     if isinstance(getattr(result, a, None), str)), str(result))
        citations = list(getattr(result, "citations", None) or [])
    blocks: list[list[Span]] = [[Span("Draf balasan (periksa sebelum dikirim)", "b")]]
    blocks += [[Span(p)] for p in re.split(r"\n\s*\n", text) if p.strip()]
    if citations:
        blocks += sources_blocks(citations)
    return blocks
