"""One way to open the small SQLite stores (conversations, feedback) that the API, the bot and the CLI share.

WAL journal and a generous busy timeout let several processes write the same file without "database is
locked"; autocommit mode keeps each statement its own transaction unless a caller opens one explicitly.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def open_shared(path: Path, *schema: str) -> sqlite3.Connection:
    """Open (creating folder and file if needed) and apply ``schema`` statements (``CREATE … IF NOT EXISTS``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout=30000")
    # Switching to WAL takes an exclusive lock, and while another process recovers the WAL of a writer that was
    # killed, SQLite answers "database is locked" at once instead of calling the busy handler: retry for a while.
    deadline = time.monotonic() + 30
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)
    for statement in schema:
        db.execute(statement)
    return db
