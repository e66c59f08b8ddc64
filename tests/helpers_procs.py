"""Subprocess helpers for the reliability tests: a `chroma run` server that can be stopped and started again on
the same port and path, CLI ingests that can be paused at an exact point and killed with SIGKILL, concurrent
SQLite writers, and a small generated corpus.

Why subprocesses: a crash, a second writer or a restarted server only means something across a process
boundary. A thread in the test process shares locks, caches and file handles, so it would hide exactly the
bugs these tests look for.

Run as a script it is the child side of those tests::

    python tests/helpers_procs.py pause <point> <marker-file> -- ingest PATH ...   # `kota-kreatif` CLI, paused
    python tests/helpers_procs.py sqlite-writer <index-dir> <worker> <count>        # FeedbackStore/ConversationStore

``pause`` patches the core *inside the child only* (no production code carries test hooks): when the ingest
reaches ``point`` the child writes ``marker-file`` and sleeps until the test kills it. Points:

* ``embedded`` — after the first embedded batch was stored in the embedding cache (embedding in progress);
* ``upserted`` — vectors written to Chroma; the generation (built while the chunks embed) is at most a complete
  ``.tmp`` folder, neither renamed nor pointed to (``GenerationStore.commit`` entered);
* ``written``  — the generation's ``.tmp`` folder is complete and fsynced, not yet renamed or pointed to; it is
  written beside the embedding, so the new vectors may or may not be in Chroma yet;
* ``renamed``  — the folder has its final name, ``CURRENT`` does not point to it yet;
* ``switched`` — ``CURRENT`` already points at the new generation; pruning and the removal of replaced
  vectors from Chroma have not run.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PAUSE_POINTS = ("embedded", "upserted", "written", "renamed", "switched")
CITIES = ["Ambon", "Ternate", "Kupang", "Jayapura", "Palu", "Kendari", "Manado", "Sorong", "Bima", "Ende"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail loudly with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f} s")


# -- chroma run -----------------------------------------------------------------------------------------------
class ChromaServer:
    """``chroma run`` on 127.0.0.1; ``stop()`` then ``start()`` brings it back on the same port and data path."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = Path(path)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.path.with_suffix(".log")

    def heartbeat(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60.0) -> ChromaServer:
        exe = Path(PYTHON).with_name("chroma")
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(exe), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.heartbeat() or self.proc.poll() is not None, timeout, 0.1, "chroma heartbeat")
        if self.proc.poll() is not None:
            raise RuntimeError(f"chroma run exited ({self.proc.returncode}); see {self.log}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- CLI processes --------------------------------------------------------------------------------------------
def cli_env(index_dir: Path, cache: Path, **extra: str) -> dict[str, str]:
    """Environment for a CLI/serve child: its own index and embedding cache, nothing inherited that matters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KK_", "CHROMA_", "TELEGRAM_"))}
    env.update({"KK_INDEX_DIR": str(index_dir), "KK_EMBEDDING_CACHE": str(cache), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m assistant.cli ARGS`` to completion."""
    return subprocess.run([PYTHON, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def start_cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen([PYTHON, "-m", "assistant.cli", *args], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                cwd=REPO)


def start_paused_ingest(point: str, marker: Path, args: list[str], env: dict[str, str],
                        log: Path) -> subprocess.Popen[bytes]:
    """The CLI in a child that stops at ``point`` (see the module docstring) and waits there to be killed."""
    with open(log, "wb") as fh:
        return subprocess.Popen([PYTHON, str(Path(__file__).resolve()), "pause", point, str(marker), "--", *args],
                                env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)


def kill9(proc: subprocess.Popen) -> int:
    """SIGKILL: no handler, no ``finally``, no flush — what a power cut or the OOM killer does."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait(timeout=30)


def cache_rows(cache: Path) -> int:
    """Rows in an embedding cache (read from another process; WAL lets us read while the child writes)."""
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


# -- generated corpus -----------------------------------------------------------------------------------------
def doc_text(i: int, revision: int = 0) -> str:
    """A small Markdown document with facts that exist nowhere else (so retrieval of it is unambiguous)."""
    city = CITIES[i % len(CITIES)]
    extra = f" Revisi {revision}: panitia menambah {revision * 11 + i} kursi penonton." if revision else ""
    return (f"---\nid: festival-uji-{i:02d}\ntitle: Festival Uji {i:02d} di {city}\ntopic: uji-gangguan\n"
            f"updated: 2026-01-{i % 28 + 1:02d}\nsources:\n  - url: https://contoh.test/festival-{i:02d}\n---\n"
            f"# Festival Uji {i:02d} di {city}\n\nFestival Uji {i:02d} pertama kali diadakan di Kota {city} pada "
            f"tahun {1950 + i}.{extra}\n\n## Kegiatan\n\nSetiap edisi Festival Uji {i:02d} menampilkan "
            f"{100 + 7 * i} perajin dan {3 + i} panggung musik tradisional.\n")


def write_corpus(folder: Path, docs: dict[int, int]) -> None:
    """Make ``folder`` hold exactly ``docs`` (doc number → revision): writes, rewrites and deletes files."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"festival-{i:02d}.md": doc_text(i, rev) for i, rev in docs.items()}
    for p in folder.glob("*.md"):
        if p.name not in wanted:
            p.unlink()
    for name, text in wanted.items():
        p = folder / name
        if not p.exists() or p.read_text() != text:
            p.write_text(text)


# -- child side ---------------------------------------------------------------------------------------------
def _hold(marker: Path, point: str) -> None:
    marker.write_text(point)
    while True:  # until SIGKILL
        time.sleep(60)


def _install_pause(point: str, marker: Path) -> None:
    import assistant.store as store
    from assistant.embeddings import CachedEmbeddings

    if point == "embedded":
        original_store = CachedEmbeddings.store

        def store_then_hold(self, texts, vecs):  # type: ignore[no-untyped-def]
            original_store(self, texts, vecs)
            _hold(marker, point)

        CachedEmbeddings.store = store_then_hold  # type: ignore[method-assign]
    elif point == "upserted":
        def commit_hold(self, *a, **kw):  # type: ignore[no-untyped-def]
            _hold(marker, point)

        store.GenerationStore.commit = commit_hold  # type: ignore[method-assign]
    elif point == "written":
        original_fsync = store._fsync_tree

        def fsync_then_hold(folder):  # type: ignore[no-untyped-def]
            original_fsync(folder)
            _hold(marker, point)

        store._fsync_tree = fsync_then_hold
    elif point == "renamed":
        class OsShim:  # store.py's ``os``, with ``replace`` stopping once a generation folder got its final name
            def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
                return getattr(os, name)

            def replace(self, src, dst):  # type: ignore[no-untyped-def]
                os.replace(src, dst)
                if Path(dst).parent.name == "generations":
                    _hold(marker, point)

        store.os = OsShim()  # type: ignore[assignment]
    elif point == "switched":
        original_prune = store.GenerationStore.prune

        def prune_hold(self, keep_also: str = ""):  # type: ignore[no-untyped-def]
            if not keep_also:  # the clean-up before writing; the one after the switch names the new generation
                return original_prune(self, keep_also)
            _hold(marker, point)

        store.GenerationStore.prune = prune_hold  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown pause point {point!r}; one of {PAUSE_POINTS}")


def _sqlite_writer(index_dir: Path, worker: int, count: int) -> None:
    """``count`` answers + feedback rows + turns of one shared conversation, as the API and the bot write them."""
    from assistant.conversation import ConversationStore, Turn
    from assistant.feedback import FeedbackStore

    fb = FeedbackStore(index_dir / "feedback.sqlite")
    conv = ConversationStore(index_dir / "conversations.sqlite", max_turns=100_000, ttl_seconds=10**9)
    for n in range(count if count > 0 else 10**9):
        aid = f"w{worker}-{n:05d}"
        text = f"jawaban {aid} " + "é😀" * (n % 7)
        fb.log_answer(aid, f"pertanyaan {aid}", text, [{"n": 1, "doc_id": f"d{worker}"}])
        fb.add(aid, "up" if n % 2 else "down", question=f"pertanyaan {aid}", answer=text, comment=f"komentar {aid}",
               channel=f"proc-{worker}")
        conv.append("bersama", Turn(f"pertanyaan {aid}", f"pertanyaan {aid}", text, aid, [], time.time()))
        conv.append(f"milik-{worker}", Turn(f"p {aid}", f"p {aid}", text, aid, [], time.time()))
    fb.close()
    conv.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["pause"]:
        point, marker, sep, *cli_args = argv[1:]
        assert sep == "--", "usage: pause <point> <marker> -- <cli args>"
        _install_pause(point, Path(marker))
        from assistant.cli import app

        app(args=cli_args, prog_name="kota-kreatif")
        return 0
    if argv[:1] == ["sqlite-writer"]:
        _sqlite_writer(Path(argv[1]), int(argv[2]), int(argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
