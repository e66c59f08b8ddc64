"""Faults that really happen, caused for real: SIGKILL of an ingest at five points (and once with embedded
Chroma), the `chroma run` server stopped under a serving API, a full or immutable index folder, many processes
writing the same SQLite files (one of them killed), and concurrent load.

Each test states what must survive: readers keep answering from the previous complete generation, the next
ingest repairs everything (checked chunk by chunk against a clean build), the API degrades to 503 +
Retry-After and recovers by itself, no write is lost. Subprocess plumbing lives in ``tests/helpers_procs.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import CACHE
from helpers_procs import (
    PAUSE_POINTS,
    ChromaServer,
    cache_rows,
    cli_env,
    kill9,
    run_cli,
    start_cli,
    start_paused_ingest,
    wait_until,
    write_corpus,
)

from assistant.api.app import create_app
from assistant.api.server import ServerThread
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.store import GenerationStore, IndexWriteError

REPO = Path(__file__).resolve().parent.parent
Q_2004 = "Kapan Jejaring Kota Kreatif UNESCO dibentuk?"
ADMIN_KEY = "faults-admin-5c0ffee1"
ADMIN = {"X-API-Key": ADMIN_KEY}
NEW_DOC = ("festival-fajar.md", b"---\nid: festival-fajar\ntitle: Festival Fajar\n---\n# Festival Fajar\n\n"
                                b"Festival Fajar Biru diadakan di Kota Ambon pada tahun 2031.\n", "text/markdown")
STORE_DOWN_MESSAGE = "Penyimpanan vektor sedang tidak dapat dijangkau. Silakan coba lagi sebentar lagi."


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    """This module's own `chroma run` (the fault tests stop servers, so they never share the session's)."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-faults") / "data").start()
    yield server
    server.stop()


# -- helpers ----------------------------------------------------------------------------------------------------
@dataclass
class Poller:
    """A client that keeps asking a live API during a fault and records every response."""

    url: str
    phase: str = "before"
    records: list[dict] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="poller")

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as c:
            n = 0
            while not self._stop.is_set():
                phase = self.phase
                n += 1
                try:
                    if n % 3:
                        r = c.post("/v1/search", json={"query": "Festival Uji di Kota perajin panggung musik", "k": 8})
                        ids = [h["chunk_id"] for h in r.json()["results"]] if r.status_code == 200 else []
                    else:
                        r = c.post("/v1/ask", json={"question": "Kapan Festival Uji 05 pertama kali diadakan?"})
                        ids = [x["chunk_id"] for x in r.json()["citations"]] if r.status_code == 200 else []
                    self.records.append({"phase": phase, "status": r.status_code, "ids": ids})
                except httpx.HTTPError as exc:
                    self.records.append({"phase": phase, "status": 0, "ids": [], "error": repr(exc)})
                time.sleep(0.08)

    def ok_count(self, phase: str) -> int:
        return sum(1 for r in self.records if r["phase"] == phase and r["status"] == 200)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def snapshot(a: Assistant) -> dict:
    """Everything that must match a clean build: chunks with content hashes, the manifest, the BM25 size."""
    gen = a.generation()
    rows = [(c.chunk_id, hashlib.sha256(c.text.encode()).hexdigest(), c.doc_id, c.section, c.start, c.end)
            for c in gen.chunks]
    files = {e["doc_id"]: (e["hash"], tuple(e["chunk_ids"])) for e in gen.manifest["files"].values()}
    return {"rows": rows, "files": files, "bm25_docs": gen.bm25.n_docs, "name": gen.name}


def assert_same_as_clean_build(a: Assistant, clean: Assistant) -> None:
    """A crash may leave anything behind; after the next ingest only this counts: the same chunks (ids, content
    hashes, offsets), manifest and BM25 as a build from scratch, Chroma ids == generation ids, no debris."""
    got, want = snapshot(a), snapshot(clean)
    ids = [r[0] for r in got["rows"]]
    assert len(ids) == len(set(ids)), "duplicate chunks in the generation"
    assert sorted(got["rows"]) == sorted(want["rows"]), "chunks differ from a clean build"
    assert got["files"] == want["files"] and got["bm25_docs"] == want["bm25_docs"] == len(ids)
    # The vector store holds exactly the generation's chunks, with their metadata and the clean build's vectors.
    assert a.vectors.all_ids() == set(ids) and a.vectors.count() == len(ids)
    mine = a.vectors._collection().get(ids=sorted(ids), include=["metadatas", "embeddings"])
    theirs = clean.vectors._collection().get(ids=sorted(ids), include=["embeddings"])
    by_id = {c.chunk_id: c for c in a.generation().chunks}
    for cid, meta in zip(mine["ids"], mine["metadatas"], strict=True):
        assert meta == by_id[cid].metadata(), cid
    vec_a = dict(zip(mine["ids"], np.asarray(mine["embeddings"]), strict=True))
    vec_b = dict(zip(theirs["ids"], np.asarray(theirs["embeddings"]), strict=True))
    # Same text, same model; only batch composition differs between the two builds.
    assert all(float(vec_a[i] @ vec_b[i]) > 0.9999 for i in ids)
    gens = a.generations.gens
    current = a.generations.current_name()
    assert not [p.name for p in gens.iterdir() if p.name.endswith(".tmp")], "half-written generation left behind"
    assert not [p.name for p in gens.iterdir() if p.name > current], "unpublished generation left behind"
    assert len(list(gens.iterdir())) <= GenerationStore.KEEP


def ids_of(a: Assistant) -> set[str]:
    return set(a.generation().ids)


# -- 1. kill -9 of an ingest -------------------------------------------------------------------------------------
V0 = {i: 0 for i in range(20)}
# 36 documents: 4 rewritten, 4 removed, 20 new.
V1 = {**{i: 1 for i in range(4)}, **{i: 0 for i in range(4, 16)}, **{i: 0 for i in range(20, 40)}}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_ingest_killed_midway_keeps_serving_and_next_ingest_repairs(point, chroma, embedder, tmp_path):
    """SIGKILL at ``point`` (see tests/helpers_procs.py) while an API answers from the same index and store."""
    corpus, idx = tmp_path / "corpus", tmp_path / "index"
    # Killing *during* embedding needs embedding to take a while: that ingest gets a fresh cache, so every new
    # chunk is really embedded. The other points pause at an exact place and may reuse the shared test cache
    # (as do the reader and the clean build, in this process).
    cache = tmp_path / "fresh-cache.sqlite" if point == "embedded" else CACHE
    prefix = f"kill-{point}"
    write_corpus(corpus, V0)
    settings = Settings(index_dir=idx, corpus_dir=corpus, embedding_cache=CACHE, chroma_host="127.0.0.1",
                        chroma_port=chroma.port, collection_prefix=prefix, rate_limit_per_minute=0)
    reader = Assistant(settings, embedder=embedder)
    clean = None
    try:
        reader.ingest()
        g0, ids0 = reader.generation().name, ids_of(reader)
        rows0 = cache_rows(cache)
        write_corpus(corpus, V1)
        env = cli_env(idx, cache, CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma.port), KK_COLLECTION_PREFIX=prefix,
                      KK_CORPUS_DIR=str(corpus), KK_EMBED_BATCH_SIZE="2")
        log, marker = tmp_path / "ingest.log", tmp_path / "paused"
        with ServerThread(create_app(settings, assistant=reader)) as url, Poller(url) as poller:
            wait_until(lambda: poller.ok_count("before") >= 3, 60, what="first answers")
            poller.phase = "during"
            if point == "embedded":
                # The real CLI, killed by timing: as soon as the first embedded batch reaches the cache.
                proc = start_cli(["ingest", str(corpus)], env, log)
                wait_until(lambda: cache_rows(cache) > rows0 or proc.poll() is not None, 120, 0.01, "first batch")
            else:
                proc = start_paused_ingest(point, marker, ["ingest", str(corpus)], env, log)
                wait_until(lambda: marker.exists() or proc.poll() is not None, 180, what=f"pause at {point}")
            assert proc.poll() is None, log.read_text()[-3000:]
            # The state at the moment of the kill is the one this point is about.
            current = reader.generations.current_name()
            tmp_dirs = [p for p in reader.generations.gens.iterdir() if p.name.endswith(".tmp")]
            orphans = [p for p in reader.generations.gens.iterdir() if p.name > g0 and not p.name.endswith(".tmp")]
            in_chroma = reader.vectors.all_ids()
            assert kill9(proc) == -9
            if point == "switched":
                assert current != g0
            else:
                assert current == g0 and reader.generations.current_name() == g0
            if point == "embedded":
                assert in_chroma == ids0  # nothing upserted yet
            if point in ("upserted", "renamed"):
                assert in_chroma > ids0  # the killed ingest's vectors are in Chroma, invisible to readers
            if point == "written":
                assert tmp_dirs, "the half-published generation folder should exist at this point"
            if point == "renamed":
                assert orphans, "a finished but unpublished generation folder should exist at this point"

            # Readers keep answering (from the previous generation unless the pointer had already moved).
            seen = poller.ok_count("during")
            wait_until(lambda: poller.ok_count("during") >= seen + 3, 60, what="answers after the kill")
            poller.phase = "after"
            # The next ingest (with the shared cache: the fresh one only had to make the killed run slow).
            done = run_cli(["ingest", str(corpus), "--json"], {**env, "KK_EMBEDDING_CACHE": str(CACHE)})
            assert done.returncode == 0, done.stderr[-3000:]
            wait_until(lambda: poller.ok_count("after") >= 3, 60, what="answers after the repair")
        report = json.loads(done.stdout)
        assert report["documents"] == len(V1) and not report["skipped"]

        errors = [r for r in poller.records if r["status"] != 200]
        assert not errors, errors[:3]
        final_ids = ids_of(reader)
        allowed_during = ids0 | final_ids if point == "switched" else ids0
        leaked = {i for r in poller.records if r["phase"] in ("before", "during") for i in r["ids"]} - allowed_during
        assert not leaked, f"readers saw chunks of an unpublished generation: {sorted(leaked)[:3]}"
        assert {i for r in poller.records for i in r["ids"]} <= ids0 | final_ids

        # The repaired index is chunk for chunk what a clean build of the same corpus gives.
        clean = Assistant(Settings(index_dir=tmp_path / "clean", corpus_dir=corpus, embedding_cache=CACHE),
                          embedder=embedder)
        clean.ingest()
        assert_same_as_clean_build(reader, clean)
        ans = reader.ask("Kapan Festival Uji 33 pertama kali diadakan?", remember=False)
        assert "1983" in ans.answer and "festival-uji-33" in {c.doc_id for c in ans.citations}
    finally:
        for a in (reader, clean):
            if a is not None:
                a.feedback.close()
                a.conversations.close()


@pytest.mark.timeout(240)
def test_ingest_killed_after_upsert_with_embedded_chroma_recovers(embedder, tmp_path):
    """The default single-machine setup (embedded Chroma: SQLite + HNSW files under index/chroma): SIGKILL right
    after the upsert, before Chroma's own background flush and before publish. A restarted process still reads
    the previous generation, and the next ingest leaves a store equal to a clean build."""
    corpus, idx = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, V0)
    env = cli_env(idx, CACHE, KK_CORPUS_DIR=str(corpus))
    assert run_cli(["ingest"], env).returncode == 0
    settings = Settings(index_dir=idx, corpus_dir=corpus, embedding_cache=CACHE)
    write_corpus(corpus, V1)
    marker = tmp_path / "paused"
    proc = start_paused_ingest("upserted", marker, ["ingest", str(corpus)], env, tmp_path / "ingest.log")
    wait_until(lambda: marker.exists() or proc.poll() is not None, 180, what="pause after upsert")
    assert kill9(proc) == -9
    a = Assistant(settings, embedder=embedder)  # "restart"
    clean = None
    try:
        g0 = snapshot(a)
        assert len(g0["rows"]) and a.vectors.all_ids() > ids_of(a)  # ghosts of the killed ingest, invisible
        hits = a.search("Festival Uji 33 Jayapura perajin", k=10).results
        assert hits and all(h.chunk_id in ids_of(a) for h in hits)
        done = run_cli(["ingest", "--json"], env)
        assert done.returncode == 0, done.stderr[-2000:]
        clean = Assistant(Settings(index_dir=tmp_path / "clean", corpus_dir=corpus, embedding_cache=CACHE),
                          embedder=embedder)
        clean.ingest()
        # A fresh process view of the repaired store (this one's Chroma client predates the repair).
        fresh = Assistant(settings, embedder=embedder)
        try:
            assert_same_as_clean_build(fresh, clean)
        finally:
            fresh.feedback.close()
            fresh.conversations.close()
    finally:
        for x in (a, clean):
            if x is not None:
                x.feedback.close()
                x.conversations.close()


# -- 2. the chroma server goes away under a serving API, and comes back ------------------------------------------
@pytest.mark.timeout(240)
def test_chroma_server_down_gives_503_then_api_recovers_without_restart(tmp_path):
    from evals.load_test import ServeProcess

    chroma = ChromaServer(tmp_path / "chroma").start()
    idx = tmp_path / "index"
    store_env = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma.port)}
    server = None
    try:
        built = run_cli(["ingest", "--json"], cli_env(idx, CACHE, **store_env))
        assert built.returncode == 0, built.stderr[-2000:]
        server = ServeProcess(idx, CACHE, tmp_path / "serve.log",
                              extra_env={**store_env, "KK_API_KEYS": f"{ADMIN_KEY}:admin"}).start()
        with httpx.Client(base_url=server.url, timeout=60) as c:
            before = c.post("/v1/ask", json={"question": Q_2004})
            assert before.status_code == 200 and "2004" in before.json()["answer"]

            chroma.stop()
            for path, body in (("/v1/ask", {"question": Q_2004}), ("/v1/search", {"query": "UCCN", "k": 3})):
                r = c.post(path, json=body)
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5"
                err = r.json()["error"]
                assert err["code"] == "store_unavailable" and err["message"] == STORE_DOWN_MESSAGE
            stream = c.post("/v1/ask", json={"question": Q_2004, "stream": True})
            assert '"code": "store_unavailable"' in stream.text and "event: error" in stream.text
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
            assert "penyimpanan vektor tidak dapat dijangkau" in ready.json()["error"]["message"]
            assert c.get("/healthz").status_code == 200  # the process itself is fine: no restart needed
            # An upload while the store is down fails as a whole: 503, and the file is not kept for later.
            up = c.post("/v1/documents", files={"file": NEW_DOC}, headers=ADMIN)
            assert up.status_code == 503 and up.json()["error"]["code"] == "store_unavailable", up.text
            assert not (idx / "uploads" / "festival-fajar.md").exists()

            chroma.start()  # same port, same data path
            wait_until(lambda: c.get("/readyz").status_code == 200, 60, 0.2, "readiness after chroma restart")
            after = c.post("/v1/ask", json={"question": Q_2004})
            assert after.status_code == 200, after.text
            assert after.json()["answer"] == before.json()["answer"] and after.json()["citations"]
            assert c.post("/v1/search", json={"query": "UCCN", "k": 3}).status_code == 200
            assert "event: done" in c.post("/v1/ask", json={"question": Q_2004, "stream": True}).text
            assert c.post("/v1/documents", files={"file": NEW_DOC}, headers=ADMIN).status_code == 201
            assert "2031" in c.post("/v1/ask", json={"question": "Kapan Festival Fajar Biru diadakan?"}).text
    finally:
        if server is not None:
            server.stop()
        chroma.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "vector store unavailable" in log and "unhandled error" not in log


# -- 3. disk full / immutable index folder during ingest ----------------------------------------------------------
def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _fill(folder: Path, leave_bytes: int) -> None:
    """Take all free space of ``folder``'s file system but ``leave_bytes``."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "filler.bin", "wb") as fh:
        fh.truncate(0)
        remaining = free - leave_bytes
        block = b"\0" * (1 << 20)
        while remaining > 0:
            remaining -= fh.write(block[: min(len(block), remaining)])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", ["disk-full", "immutable"])
def test_unwritable_index_folder_fails_clearly_and_old_index_stays(fault, chroma, embedder, tmp_path):
    """Disk full: the index folder on a 16 MB tmpfs, filled up to the last 160 KB (``mount`` works as root here).
    Immutable: ``chattr +i`` on the generations folder — root ignores ``chmod``, not the immutable attribute."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    mnt = tmp_path / "mnt"
    if fault == "disk-full":
        if not _mount_tmpfs(mnt, "16m"):
            pytest.skip("cannot mount a size-limited tmpfs here (needs root with CAP_SYS_ADMIN)")
        idx = mnt / "index"
    else:
        idx = tmp_path / "index"
    prefix = f"unwritable-{fault}"
    store_env = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma.port), "KK_COLLECTION_PREFIX": prefix,
                 "KK_CORPUS_DIR": str(corpus)}
    # Secrets in the environment of the failing ingest: its error output must not show them.
    secrets = {"KK_API_KEYS": "rahasia-admin-0f9e8d7c:admin", "TELEGRAM_BOT_TOKEN": "123456:RAHASIA-bot-token-abcdef"}
    env = cli_env(idx, CACHE, **store_env, **secrets)
    settings = Settings(index_dir=idx, corpus_dir=corpus, embedding_cache=CACHE, chroma_host="127.0.0.1",
                        chroma_port=chroma.port, collection_prefix=prefix, api_keys=f"{ADMIN_KEY}:admin",
                        rate_limit_per_minute=0)
    reader = None
    gens = None
    try:
        assert run_cli(["ingest"], env).returncode == 0
        reader = Assistant(settings, embedder=embedder)
        old = snapshot(reader)
        before = reader.ask(Q_2004, remember=False)
        assert "2004" in before.answer
        glosarium = corpus / "glosarium.md"
        glosarium.write_text(glosarium.read_text() + "\n\nKota Lentera Ambon menjadi tuan rumah Festival Fajar "
                                                      "Biru pada tahun 2031.\n")
        gens = reader.generations.gens
        if fault == "disk-full":
            _fill(mnt, 160 * 1024)
        else:
            flipped = subprocess.run(["chattr", "+i", str(gens)], capture_output=True)
            if flipped.returncode != 0:
                pytest.skip(f"chattr +i not supported here: {flipped.stderr.decode()[:200]}")

        failed = run_cli(["ingest"], env)
        assert failed.returncode != 0
        out = " ".join((failed.stdout + failed.stderr).split())  # rich wraps long lines
        assert "Indeks baru tidak dapat ditulis" in out and "Indeks lama tetap dipakai" in out
        assert ("ruang disk penuh" if fault == "disk-full" else "tidak boleh diubah") in out
        assert not any(v in out for v in ("rahasia-admin-0f9e8d7c", "RAHASIA-bot-token-abcdef")), out[-2000:]

        # The old generation is untouched, nothing half-written is left, and it is still served.
        assert reader.generations.current_name() == old["name"]
        assert not [p for p in gens.iterdir() if p.name.endswith(".tmp")]
        assert snapshot(reader) == old
        assert reader.ask(Q_2004, remember=False).answer == before.answer
        restarted = Assistant(settings, embedder=embedder)
        try:
            assert snapshot(restarted) == old and restarted.ask(Q_2004, remember=False).answer == before.answer
        finally:
            restarted.feedback.close()
            restarted.conversations.close()
        with pytest.raises(IndexWriteError):  # the same failure in-process is a typed error, not a bare OSError
            reader.ingest([corpus])
        # Through the API: uploads and reindex fail with 503 (no server paths in the body), reading goes on.
        with ServerThread(create_app(settings, assistant=reader)) as url, httpx.Client(base_url=url, timeout=60) as c:
            for r in (c.post("/v1/documents", files={"file": NEW_DOC}, headers=ADMIN),
                      c.post("/v1/reindex", headers=ADMIN)):
                assert r.status_code == 503 and r.headers["retry-after"] == "60", r.text
                err = r.json()["error"]
                assert err["code"] == "index_unwritable" and "Indeks lama tetap dipakai" in err["message"]
                assert str(idx) not in r.text and "Errno" not in r.text
            assert not (idx / "uploads" / "festival-fajar.md").exists()
            assert c.post("/v1/ask", json={"question": Q_2004}).json()["answer"] == before.answer
            assert c.get("/readyz").json()["generation"] == old["name"]

        # Space / permission back: the next ingest completes and collects the vectors of the failed ones.
        if fault == "disk-full":
            (mnt / "filler.bin").unlink()
        else:
            subprocess.run(["chattr", "-i", str(gens)], check=True)
        assert run_cli(["ingest"], env).returncode == 0
        ans = reader.ask("Festival Fajar Biru diadakan tahun berapa?", remember=False)
        assert "2031" in ans.answer
        assert reader.vectors.all_ids() == set(reader.generation().ids)
    finally:
        if gens is not None and fault == "immutable":
            subprocess.run(["chattr", "-i", str(gens)], capture_output=True)
        if reader is not None:
            reader.feedback.close()
            reader.conversations.close()
        if fault == "disk-full":
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -- 4. SQLite stores: many writer processes, a killed one, a restart ----------------------------------------------
@pytest.mark.timeout(240)
def test_feedback_and_conversations_survive_concurrent_writers_kill_and_restart(tmp_path):
    from helpers_procs import PYTHON

    script = str(Path(__file__).with_name("helpers_procs.py"))
    workers, count = 4, 200
    procs = [subprocess.Popen([PYTHON, script, "sqlite-writer", str(tmp_path), str(w), str(count)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for w in range(workers)]
    # A fifth writer that never stops on its own: SIGKILLed mid-stream, possibly inside a transaction.
    victim = subprocess.Popen([PYTHON, script, "sqlite-writer", str(tmp_path), "9", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fb_path, conv_path = tmp_path / "feedback.sqlite", tmp_path / "conversations.sqlite"

    def victim_rows() -> int:
        try:
            with sqlite3.connect(fb_path, timeout=30) as db:
                return db.execute("SELECT COUNT(*) FROM feedback WHERE channel='proc-9'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    wait_until(lambda: victim_rows() >= 50, 120, 0.05, "victim writes")
    assert kill9(victim) == -9
    for p in procs:
        _, err = p.communicate(timeout=200)
        assert p.returncode == 0, err.decode()[-2000:]

    # "Restart": fresh connections, as a new process would open them.
    for path in (fb_path, conv_path):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path
    from assistant.conversation import ConversationStore
    from assistant.feedback import FeedbackStore

    fb = FeedbackStore(fb_path)
    conv = ConversationStore(conv_path, max_turns=100_000, ttl_seconds=10**9)
    try:
        rows = list(fb.iter_all())
        killed = [r for r in rows if r["channel"] == "proc-9"]
        assert len(killed) >= 50
        for w in range(workers):
            mine = [r for r in rows if r["channel"] == f"proc-{w}"]
            assert sorted(r["answer_id"] for r in mine) == [f"w{w}-{n:05d}" for n in range(count)]
            assert all(r["comment"] == f"komentar {r['answer_id']}" and r["question"].endswith(r["answer_id"])
                       for r in mine)
            assert all(fb.find_answer(f"w{w}-{n:05d}") is not None for n in range(0, count, 17))
            own = conv.history(f"milik-{w}")
            assert [t.answer_id for t in own] == [f"w{w}-{n:05d}" for n in range(count)]
        assert len({r["id"] for r in rows}) == len(rows) == workers * count + len(killed)
        shared = conv.history("bersama")
        # Every append of every process is there exactly once, each process's turns in its own order.
        assert len(shared) == len({t.answer_id for t in shared})
        for w in range(workers):
            assert [t.answer_id for t in shared if t.answer_id.startswith(f"w{w}-")] == \
                [f"w{w}-{n:05d}" for n in range(count)]
        # The killed writer: a gap-free prefix of what it wrote (it may have died between its two writes).
        victim_turns = [t.answer_id for t in shared if t.answer_id.startswith("w9-")]
        assert victim_turns == [f"w9-{n:05d}" for n in range(len(victim_turns))]
        assert len(killed) - 1 <= len(victim_turns) <= len(killed)
        with sqlite3.connect(conv_path) as db:
            seqs = [s for (s,) in db.execute("SELECT seq FROM turns WHERE conversation_id='bersama' ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        fb.close()
        conv.close()


# -- 5. load: concurrent mixed traffic, zero errors -----------------------------------------------------------------
@pytest.mark.timeout(240)
def test_concurrent_mixed_load_has_zero_errors(corpus_index, tmp_path):
    """The CI-sized version of ``evals/load_test.py``: 10 clients, 300 mixed requests, against ``kota-kreatif
    serve`` in its own process."""
    from evals.load_test import ServeProcess, run_round

    idx = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    with ServeProcess(idx, CACHE, tmp_path / "serve.log") as server:
        rss_before = server.rss_mb()
        result = asyncio.run(run_round(server.url, clients=10, requests=300, seed=7))
        rss_after = server.rss_mb()
    assert result.requests == 300 and set(result.by_kind) == {"ask", "search", "stream"}
    assert result.errors == 0, result.error_samples
    assert result.p99_ms < 30_000, result
    assert rss_before and rss_after, (rss_before, rss_after)
