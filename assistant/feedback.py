"""Durable user feedback (👍/👎) shared by the API and the Telegram bot.

Stored in SQLite beside the index (WAL mode, so the API and a separate bot process can write concurrently);
each row keeps the question, answer and citations it refers to, so an exported 👎 is a complete review item.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from assistant.sqlite import open_shared

Rating = Literal["up", "down"]


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(
            path,
            "CREATE TABLE IF NOT EXISTS feedback (id TEXT PRIMARY KEY, answer_id TEXT NOT NULL, rating TEXT NOT NULL,"
            " comment TEXT, question TEXT, answer TEXT, citations TEXT, channel TEXT, at REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id)",
            # Every answer given is logged here too, so feedback can refer to it even after its conversation was
            # reset or expired.
            "CREATE TABLE IF NOT EXISTS answers (answer_id TEXT PRIMARY KEY, question TEXT, answer TEXT, "
            "citations TEXT, at REAL NOT NULL)",
        )
        self._lock = threading.Lock()

    def log_answer(self, answer_id: str, question: str, answer: str, citations: list[dict[str, Any]]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                             (answer_id, question, answer, json.dumps(citations, ensure_ascii=False), time.time()))

    def find_answer(self, answer_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT question, answer, citations FROM answers WHERE answer_id=?",
                                   (answer_id,)).fetchone()
        if row is None:
            return None
        return {"question": row[0], "answer": row[1], "citations": json.loads(row[2] or "[]")}

    def add(self, answer_id: str, rating: Rating, *, question: str = "", answer: str = "",
            citations: list[dict[str, Any]] | None = None, comment: str | None = None, channel: str = "api") -> str:
        if rating not in ("up", "down"):
            raise ValueError("rating must be 'up' or 'down'")
        fid = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fid, answer_id, rating, comment, question, answer, json.dumps(citations or [], ensure_ascii=False),
                 channel, time.time()))
        return fid

    def iter_all(self, rating: Rating | None = None) -> Iterator[dict[str, Any]]:
        sql = "SELECT id, answer_id, rating, comment, question, answer, citations, channel, at FROM feedback"
        args: tuple = ()
        if rating:
            sql += " WHERE rating=?"
            args = (rating,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY at", args).fetchall()
        for r in rows:
            yield {"id": r[0], "answer_id": r[1], "rating": r[2], "comment": r[3], "question": r[4], "answer": r[5],
                   "citations": json.loads(r[6] or "[]"), "channel": r[7], "at": r[8]}

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]

    def close(self) -> None:
        self._db.close()
