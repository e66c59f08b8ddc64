"""Conversation memory (SQLite, shared by API, bot and CLI) and the rule-based follow-up rewriter.

Focal points ask in short follow-ups ("Kalau Bandung?", "Bidangnya apa?"). Before retrieval such a question is
rewritten into a stand-alone one from the previous turn: a new named entity replaces the previous one, and a
question without its own subject borrows the previous subject. No LLM is needed; an LLM condense step can
replace :class:`RuleRewriter` by configuration later.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from assistant.text import content_terms, fold

_FOLLOWUP_START = re.compile(
    r"^\s*(kalau|kalo|klo|bagaimana dengan|gimana dengan|gmn dengan|bagaimana kalau|gimana kalau|lalu|terus|trus|"
    r"dan|lantas|kemudian|selain itu|yang|untuk|how about|what about)\b", re.I)
_ANAPHORA = re.compile(r"\b(dia|ia|beliau|mereka|itu|tersebut|ini|sana|situ)\b|\w+nya\b", re.I)
_NOT_ENTITY = {
    "kalau", "kalo", "apa", "apakah", "bagaimana", "gimana", "siapa", "kapan", "berapa", "dia", "lalu", "terus",
    "dan", "yang", "untuk", "bidang", "kota", "kabupaten", "tahun", "min", "kak", "pak", "bu", "halo", "terima",
    "kasih", "tolong", "mohon", "selamat", "the", "how", "what", "unesco", "uccn", "indonesia",
}


@dataclass
class Turn:
    question: str
    standalone: str
    answer: str
    answer_id: str
    citations: list[dict]
    at: float


class RuleRewriter:
    """Carries the previous turn's subject into an elliptical follow-up."""

    def __init__(self, known_entities: set[str] | None = None) -> None:
        self.known = {fold(e) for e in (known_entities or set())}

    def entities(self, text: str) -> list[str]:
        out: list[str] = []
        for m in re.finditer(r"[A-Za-zÀ-ÿ][\w'-]*(?:\s+[A-Z][\w'-]*)*", text):
            phrase = m.group(0)
            words = phrase.split()
            # Proper nouns: capitalised words, or any word the corpus knows as a name (users type lowercase).
            picked = [w for w in words if fold(w) not in _NOT_ENTITY and (w[0].isupper() or fold(w) in self.known)]
            if picked:
                out.append(" ".join(picked))
        return out

    def is_followup(self, question: str) -> bool:
        terms = content_terms(question)
        return bool(_FOLLOWUP_START.search(question)) or len(terms) <= 2 or (
            bool(_ANAPHORA.search(question)) and len(terms) <= 4)

    def rewrite(self, question: str, history: list[Turn]) -> str:
        if not history or not self.is_followup(question):
            return question
        prev = history[-1].standalone
        core = _FOLLOWUP_START.sub("", question).strip(" ?.!,") or question.strip()
        new_ents = self.entities(core)
        prev_ents = self.entities(prev)
        if new_ents and prev_ents:
            old = prev_ents[0]
            if fold(old) != fold(new_ents[0]):
                rewritten = re.sub(re.escape(old), new_ents[0], prev, count=1, flags=re.I)
                # Keep any new constraint of the follow-up ("Kalau Bandung tahun berapa?").
                extra = [w for w in core.split() if fold(w) not in fold(rewritten) and fold(w) != fold(new_ents[0])]
                return (rewritten.rstrip(" ?") + (" " + " ".join(extra) if extra else "") + "?").strip()
        if new_ents and not prev_ents:
            return f"{prev.rstrip(' ?')} {core}?"
        if prev_ents:
            return f"{core} {' '.join(prev_ents)}?"
        return f"{core} ({prev.rstrip(' ?')})?"


class ConversationStore:
    """Per-conversation history with bounded length and expiry after inactivity; safe across processes."""

    def __init__(self, path: Path, max_turns: int = 10, ttl_seconds: int = 6 * 3600) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS turns (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "question TEXT, standalone TEXT, answer TEXT, answer_id TEXT, citations TEXT, at REAL, "
            "PRIMARY KEY (conversation_id, seq))")
        self._db.execute("CREATE INDEX IF NOT EXISTS turns_answer ON turns(answer_id)")
        self._lock = threading.Lock()
        self.max_turns = max_turns
        self.ttl = ttl_seconds

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def history(self, conversation_id: str) -> list[Turn]:
        with self._lock:
            rows = self._db.execute(
                "SELECT question, standalone, answer, answer_id, citations, at FROM turns WHERE conversation_id=? "
                "ORDER BY seq", (conversation_id,)).fetchall()
        turns = [Turn(q, s, a, i, json.loads(c or "[]"), at) for q, s, a, i, c, at in rows]
        if turns and time.time() - turns[-1].at > self.ttl:
            self.delete(conversation_id)
            return []
        return turns

    def append(self, conversation_id: str, turn: Turn) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id=?",
                                          (conversation_id,)).fetchone()
                self._db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (conversation_id, seq, turn.question, turn.standalone, turn.answer, turn.answer_id,
                     json.dumps(turn.citations, ensure_ascii=False), turn.at))
                self._db.execute("DELETE FROM turns WHERE conversation_id=? AND seq <= ?",
                                 (conversation_id, seq - self.max_turns))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete(self, conversation_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM turns WHERE conversation_id=?", (conversation_id,))
        return cur.rowcount > 0

    def find_answer(self, answer_id: str) -> tuple[str, Turn] | None:
        """The turn that produced ``answer_id`` (feedback refers to answers by id)."""
        with self._lock:
            row = self._db.execute(
                "SELECT conversation_id, question, standalone, answer, answer_id, citations, at FROM turns "
                "WHERE answer_id=?", (answer_id,)).fetchone()
        if not row:
            return None
        cid, q, s, a, i, c, at = row
        return cid, Turn(q, s, a, i, json.loads(c or "[]"), at)

    def close(self) -> None:
        self._db.close()
