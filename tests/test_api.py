"""The HTTP API over real HTTP: uvicorn on a free loopback port, a real Assistant on a copy of the corpus index.

No part of the core is mocked; each server runs in a background thread and tests talk to it with httpx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from assistant.api.app import create_app
from assistant.api.deps import KeyRing
from assistant.api.logs import JsonFormatter
from assistant.api.ratelimit import TokenBucketLimiter
from assistant.api.routers.ask import answer_pieces
from assistant.api.routers.documents import safe_filename
from assistant.api.server import ServerThread, free_port
from assistant.assistant import Assistant

ADMIN_KEY = "uji-admin-7c1f0b"
READER_KEY = "uji-pembaca-52aa9d"
ADMIN = {"X-API-Key": ADMIN_KEY}
READER = {"X-API-Key": READER_KEY}
Q_2004 = "Kapan Jejaring Kota Kreatif UNESCO dibentuk?"
UNIQUE_DOC = """---
id: festival-lentera-biru
title: Festival Lentera Biru Ternate
topic: uji-unggah
updated: 2026-01-15
sources:
  - url: https://contoh.id/festival-lentera-biru
    title: Catatan panitia
---
# Festival Lentera Biru Ternate

Festival Lentera Biru diselenggarakan di Kota Ternate setiap tanggal 17 Juli sejak tahun 2019.
Festival ini digagas oleh Komunitas Perajin Lentera Halmahera dan menampilkan 3.400 lentera kertas biru
di sepanjang pantai Falajawa.
"""


def _index_copy(corpus_index, dest: Path) -> Path:
    shutil.copytree(corpus_index.index_dir, dest)
    return dest


@pytest.fixture(scope="module")
def live(corpus_index, embedder, tmp_path_factory):
    """The main server: open reading, generous rate limit, one reader and one admin key."""
    idx = _index_copy(corpus_index, tmp_path_factory.mktemp("api") / "index")
    settings = corpus_index.model_copy(update={
        "index_dir": idx, "api_keys": f"{READER_KEY}:reader,{ADMIN_KEY}:admin", "rate_limit_per_minute": 100_000})
    a = Assistant(settings, embedder=embedder)
    with ServerThread(create_app(settings, assistant=a)) as url:
        yield SimpleNamespace(url=url, assistant=a, settings=settings)
    a.feedback.close()
    a.conversations.close()


@pytest.fixture(scope="module")
def strict(corpus_index, embedder, tmp_path_factory):
    """A locked-down server: no open reading, a tiny rate limit, CORS for one origin (hashed key entry)."""
    idx = _index_copy(corpus_index, tmp_path_factory.mktemp("api-strict") / "index")
    reader_digest = hashlib.sha256(READER_KEY.encode()).hexdigest()
    settings = corpus_index.model_copy(update={
        "index_dir": idx, "api_keys": f"sha256:{reader_digest}:reader", "open_read": False,
        "rate_limit_per_minute": 6, "rate_limit_burst": 3, "cors_origins": "https://kota-kreatif.contoh.id"})
    a = Assistant(settings, embedder=embedder)
    with ServerThread(create_app(settings, assistant=a), ready_path="/healthz") as url:
        yield SimpleNamespace(url=url, assistant=a, settings=settings)
    a.feedback.close()
    a.conversations.close()


@pytest.fixture
def client(live):
    with httpx.Client(base_url=live.url, timeout=120) as c:
        yield c


def assert_envelope(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["code"] and err["message"], err
    assert err["request_id"] == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    if code:
        assert err["code"] == code, err
    return err


def read_sse(resp: httpx.Response) -> list[tuple[str, dict]]:
    events = []
    for frame in resp.text.replace("\r\n", "\n").split("\n\n"):
        if not frame.strip():
            continue
        fields = dict(line.split(": ", 1) for line in frame.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# --- probes -----------------------------------------------------------------------------------------------
def test_health_ready_and_request_id(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert len(r.headers["x-request-id"]) >= 16
    ready = client.get("/readyz", headers={"X-Request-ID": "uji-permintaan-001"})
    assert ready.status_code == 200
    assert ready.headers["x-request-id"] == "uji-permintaan-001"
    body = ready.json()
    assert body["status"] == "ok" and body["chunks"] > 0 and body["documents"] >= 10 and body["store"] == "ok"
    # A header that is not a sane id is replaced, not echoed.
    assert client.get("/healthz", headers={"X-Request-ID": "x" * 300}).headers["x-request-id"] != "x" * 300


# --- ask --------------------------------------------------------------------------------------------------
def test_ask_answers_with_citations(client):
    r = client.post("/v1/ask", json={"question": Q_2004})
    assert r.status_code == 200, r.text
    ans = r.json()
    assert "2004" in ans["answer"] and not ans["abstained"]
    assert ans["citations"] and all(c["title"] and c["quote"] and c["doc_id"] for c in ans["citations"])
    assert any("2004" in c["quote"] for c in ans["citations"])
    assert len(ans["answer_id"]) == 32 and ans["conversation_id"]
    assert {"retrieve", "answer", "total"} <= set(ans["timings_ms"])


def test_stream_events_in_order_and_equal_to_json_answer(client):
    plain = client.post("/v1/ask", json={"question": Q_2004}).json()
    r = client.post("/v1/ask", json={"question": Q_2004, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = read_sse(r)
    names = [e for e, _ in events]
    assert names[0] == "retrieval" and names[-2:] == ["citations", "done"], names
    assert set(names[1:-2]) == {"delta"} and len(names) > 4
    data = dict(events[0:1])["retrieval"]
    assert data["sources"] and data["sources"][0]["rank"] == 1 and data["sources"][0]["title"]
    text = "".join(d["text"] for e, d in events if e == "delta")
    assert text == plain["answer"]
    assert events[-2][1]["citations"] == plain["citations"]
    done = events[-1][1]
    assert len(done["answer_id"]) == 32 and done["answer_id"] != plain["answer_id"] and done["conversation_id"]
    assert done["timings_ms"]["total"] > 0


def test_stream_rejects_bad_question_before_streaming(client):
    r = client.post("/v1/ask", json={"question": "   ", "stream": True})
    assert_envelope(r, 422, "invalid_question")


def test_answer_pieces_concatenate_exactly():
    text = "Bandung adalah Kota Kreatif UNESCO bidang Desain sejak 2015. [1] Penetapan diumumkan di Paris. [2]"
    pieces = answer_pieces(text)
    assert "".join(pieces) == text and len(pieces) >= 2
    assert not any(p.startswith("[") for p in pieces)  # a sentence keeps its citation marker
    assert any(p.endswith("2015. [1] ") for p in pieces)
    for t in ("", "  spasi  ganda ", "satu", "[3]"):
        assert "".join(answer_pieces(t)) == t


def test_question_limits(client):
    err = assert_envelope(client.post("/v1/ask", json={"question": ""}), 422, "invalid_question")
    assert err["message"] == "Pertanyaan tidak boleh kosong."
    err = assert_envelope(client.post("/v1/ask", json={"question": "a" * 2001}), 422, "invalid_question")
    assert "terlalu panjang" in err["message"] and "2000" in err["message"]
    assert_envelope(client.post("/v1/search", json={"query": "b" * 2001}), 422, "invalid_question")


def test_follow_up_and_conversation_lifecycle(client):
    first = client.post("/v1/ask", json={"question": "Kota mana saja di Indonesia yang menjadi anggota UCCN?"}).json()
    cid = first["conversation_id"]
    follow = client.post("/v1/ask", json={"question": "Terus Bandung masuk bidang kreatif apa?",
                                          "conversation_id": cid}).json()
    assert follow["conversation_id"] == cid
    assert follow["standalone_question"] != follow["question"]
    assert "Desain" in follow["answer"]
    conv = client.get(f"/v1/conversations/{cid}")
    assert conv.status_code == 200
    turns = conv.json()["turns"]
    assert [t["question"] for t in turns] == [first["question"], follow["question"]]
    assert turns[1]["answer_id"] == follow["answer_id"] and turns[1]["citations"]
    assert client.delete(f"/v1/conversations/{cid}").status_code == 204
    assert_envelope(client.get(f"/v1/conversations/{cid}"), 404, "not_found")
    assert_envelope(client.delete(f"/v1/conversations/{cid}"), 404, "not_found")
    assert_envelope(client.get("/v1/conversations/bukan..id"), 422, "validation_error")


# --- search -----------------------------------------------------------------------------------------------
def test_search_ranked_chunks(client):
    r = client.post("/v1/search", json={"query": "kapan UCCN didirikan", "k": 4})
    assert r.status_code == 200
    hits = r.json()["results"]
    assert len(hits) == 4
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert {"chunk_id", "doc_id", "title", "text", "dense_score", "bm25_score"} <= set(hits[0])
    filtered = client.post("/v1/search", json={"query": "anggota", "k": 3, "filters": {"doc_id": "glosarium"}})
    assert {h["doc_id"] for h in filtered.json()["results"]} == {"glosarium"}
    for k in (0, 51):
        assert_envelope(client.post("/v1/search", json={"query": "UCCN", "k": k}), 422, "validation_error")


# --- feedback ---------------------------------------------------------------------------------------------
def test_feedback_stored_and_exported(client, live):
    ans = client.post("/v1/ask", json={"question": Q_2004}).json()
    r = client.post("/v1/feedback", json={"answer_id": ans["answer_id"], "rating": "down", "comment": "Kurang ringkas"})
    assert r.status_code == 201 and r.json()["feedback_id"]
    stored = [f for f in live.assistant.feedback.iter_all() if f["answer_id"] == ans["answer_id"]]
    assert len(stored) == 1 and stored[0]["rating"] == "down" and stored[0]["question"] == Q_2004
    assert stored[0]["channel"] == "api" and stored[0]["citations"]

    assert_envelope(client.post("/v1/feedback", json={"answer_id": "tidak-ada", "rating": "up"}), 404, "not_found")
    assert_envelope(client.post("/v1/feedback", json={"answer_id": ans["answer_id"], "rating": "meh"}), 422)

    export = client.get("/v1/feedback/export", headers=ADMIN)
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert any(row["answer_id"] == ans["answer_id"] and row["comment"] == "Kurang ringkas" for row in rows)
    only_up = client.get("/v1/feedback/export", params={"rating": "up"}, headers=ADMIN).text
    assert ans["answer_id"] not in only_up
    assert_envelope(client.get("/v1/feedback/export", headers=READER), 403, "forbidden")
    assert_envelope(client.get("/v1/feedback/export"), 401, "unauthorized")


# --- admin: documents -------------------------------------------------------------------------------------
def test_upload_answer_then_delete(client, live):
    uploads = Path(live.settings.index_dir) / "uploads"
    files = {"file": ("../../../tmp/Festival Lentera Biru.md", UNIQUE_DOC.encode(), "text/markdown")}
    r = client.post("/v1/documents", files=files, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["doc_id"] == "festival-lentera-biru" and body["filename"] == "festival-lentera-biru.md"
    assert body["report"]["documents"] >= 1 and not body["report"]["skipped"]
    assert [p.name for p in uploads.iterdir()] == ["festival-lentera-biru.md"]  # client path ignored

    docs = client.get("/v1/documents", headers=ADMIN).json()
    mine = [d for d in docs if d["doc_id"] == "festival-lentera-biru"]
    assert len(mine) == 1 and mine[0]["uploaded"] and mine[0]["chunks"] >= 1
    assert not [d for d in docs if d["doc_id"] == "uccn-profil"][0]["uploaded"]

    ans = client.post("/v1/ask", json={"question": "Kapan Festival Lentera Biru di Ternate diselenggarakan?"}).json()
    assert not ans["abstained"] and "17 Juli" in ans["answer"]
    assert "festival-lentera-biru" in {c["doc_id"] for c in ans["citations"]}

    # Same doc id from another file name: refused, nothing changes.
    clash = {"file": ("lain.md", UNIQUE_DOC.encode(), "text/markdown")}
    assert_envelope(client.post("/v1/documents", files=clash, headers=ADMIN), 409, "conflict")

    gone = client.delete("/v1/documents/festival-lentera-biru", headers=ADMIN)
    assert gone.status_code == 200 and gone.json()["report"]["chunks_removed"] >= 1
    assert not list(uploads.iterdir())
    assert "festival-lentera-biru" not in {d["doc_id"] for d in client.get("/v1/documents", headers=ADMIN).json()}
    hits = client.post("/v1/search", json={"query": "Festival Lentera Biru Ternate Falajawa", "k": 10}).json()
    assert "festival-lentera-biru" not in {h["doc_id"] for h in hits["results"]}
    after = client.post("/v1/ask", json={"question": "Kapan Festival Lentera Biru di Ternate diselenggarakan?"})
    assert "festival-lentera-biru" not in {c["doc_id"] for c in after.json()["citations"]}
    assert_envelope(client.delete("/v1/documents/festival-lentera-biru", headers=ADMIN), 404, "not_found")


def test_failed_uploads_leave_index_unchanged(client, live):
    before = client.get("/v1/documents", headers=ADMIN).json()
    generation = client.get("/readyz").json()["generation"]
    limit = live.settings.max_file_bytes
    cases = [
        (("besar.md", b"# Judul\n" + b"a" * limit, "text/markdown"), 413, "payload_too_large"),
        (("program.exe", b"MZ\x90\x00", "application/octet-stream"), 415, "unsupported_media_type"),
        (("tanpa-ekstensi", b"teks", "text/plain"), 415, "unsupported_media_type"),
        (("rusak.md", b"---\njudul: [tidak ditutup\n---\nIsi.", "text/markdown"), 422, "invalid_document"),
        (("palsu.pdf", b"ini bukan pdf", "application/pdf"), 422, "invalid_document"),
        (("kosong.txt", b"", "text/plain"), 422, "invalid_document"),
        (("biner.txt", b"\x00\x01\x02" * 10, "text/plain"), 422, "invalid_document"),
    ]
    for file, status, code in cases:
        err = assert_envelope(client.post("/v1/documents", files={"file": file}, headers=ADMIN), status, code)
        assert err["message"]
    # Far past the limit: refused by the body limit while reading, in the same envelope.
    huge = {"file": ("sangat-besar.txt", b"x" * (limit + 2 * 1024 * 1024), "text/plain")}
    assert_envelope(client.post("/v1/documents", files=huge, headers=ADMIN), 413, "payload_too_large")
    assert client.get("/v1/documents", headers=ADMIN).json() == before
    assert client.get("/readyz").json()["generation"] == generation
    uploads = Path(live.settings.index_dir) / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())


def test_reindex(client):
    r = client.post("/v1/reindex", headers=ADMIN)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["documents"] >= 10 and rep["embedded"] == 0 and not rep["skipped"]


def test_safe_filename_never_escapes():
    assert safe_filename("../../etc/passwd.md") == "passwd.md"
    assert safe_filename("..\\..\\Windows\\Laporan Akhir 2025.PDF") == "laporan-akhir-2025.pdf"
    assert safe_filename("") == "dokumen"
    assert safe_filename(".hidden") == "hidden"
    assert "/" not in safe_filename("a/b/../../c.txt") and safe_filename("a/b/../../c.txt") == "c.txt"


# --- auth, limits, errors ---------------------------------------------------------------------------------
def test_auth_failures(client):
    for method, path in [("GET", "/v1/documents"), ("POST", "/v1/reindex"), ("DELETE", "/v1/documents/glosarium")]:
        r = client.request(method, path)
        assert_envelope(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert_envelope(client.request(method, path, headers=READER), 403, "forbidden")
        assert_envelope(client.request(method, path, headers={"X-API-Key": "salah"}), 401, "unauthorized")
    # A wrong key is refused even on open reading endpoints; Bearer works like X-API-Key.
    assert_envelope(client.post("/v1/ask", json={"question": Q_2004}, headers={"X-API-Key": "salah"}), 401)
    ok = client.get("/v1/documents", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.status_code == 200 and len(ok.json()) >= 10


def test_closed_reading_rate_limit_and_cors(strict):
    with httpx.Client(base_url=strict.url, timeout=60) as c:
        assert_envelope(c.post("/v1/ask", json={"question": Q_2004}), 401, "unauthorized")
        assert c.get("/v1/conversations/tidak-ada", headers=READER).status_code == 404
        assert c.get("/v1/conversations/tidak-ada", headers=READER).status_code == 404
        assert c.get("/v1/conversations/tidak-ada", headers=READER).status_code == 404
        r = c.get("/v1/conversations/tidak-ada", headers=READER)
        err = assert_envelope(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1 and "detik" in err["message"]
        # CORS: the configured origin is allowed, others get no CORS headers.
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        good = c.options("/v1/ask", headers={"Origin": "https://kota-kreatif.contoh.id", **pre})
        assert good.headers.get("access-control-allow-origin") == "https://kota-kreatif.contoh.id"
        bad = c.options("/v1/ask", headers={"Origin": "https://jahat.contoh", **pre})
        assert "access-control-allow-origin" not in bad.headers


def test_cors_closed_by_default(client):
    r = client.options("/v1/ask", headers={"Origin": "https://jahat.contoh", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    r = client.post("/v1/search", json={"query": "UCCN", "k": 1}, headers={"Origin": "https://jahat.contoh"})
    assert "access-control-allow-origin" not in r.headers


def test_error_envelope_everywhere(client):
    assert_envelope(client.get("/v1/tidak-ada"), 404, "not_found")
    assert_envelope(client.get("/v1/ask"), 405, "method_not_allowed")
    bad_json = client.post("/v1/ask", content=b"{bukan json", headers={"Content-Type": "application/json"})
    assert_envelope(bad_json, 422, "validation_error")
    err = assert_envelope(client.post("/v1/ask", json={"pertanyaan": "x"}), 422, "validation_error")
    assert "question" in err["message"] and "wajib diisi" in err["message"]
    big = client.post("/v1/ask", json={"question": "x" * 300_000})
    assert_envelope(big, 413, "payload_too_large")

    def chunked():  # no Content-Length: counted while streaming, cut off at the limit
        yield b'{"question": "'
        for _ in range(40):
            yield b"y" * 10_000

    r = client.post("/v1/ask", content=chunked(), headers={"Content-Type": "application/json"})
    assert_envelope(r, 413, "payload_too_large")


def test_security_headers_on_page(client):
    page = client.get("/")
    assert page.status_code == 200 and "Asisten Kota Kreatif" in page.text and 'lang="id"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert "//" not in "".join(line.split("//", 1)[0] for line in page.text.splitlines() if "src=" in line)


def test_openapi_complete_with_indonesian_examples(client):
    spec = client.get("/openapi.json").json()
    for path in ["/v1/ask", "/v1/search", "/v1/conversations/{conversation_id}", "/v1/feedback",
                 "/v1/feedback/export", "/v1/documents", "/v1/documents/{doc_id}", "/v1/reindex", "/healthz",
                 "/readyz", "/metrics"]:
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert any("Jejaring Kota Kreatif" in json.dumps(e) for e in schemas["AskRequest"]["examples"])
    assert {"Answer", "Citation", "SearchResponse", "IngestReport", "ErrorResponse"} <= set(schemas)
    ask_422 = spec["paths"]["/v1/ask"]["post"]["responses"]["422"]
    assert ask_422["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "text/event-stream" in spec["paths"]["/v1/ask"]["post"]["responses"]["200"]["content"]


def test_metrics_exposed(client):
    client.post("/v1/ask", json={"question": "Bagaimana cara memasak rendang?"})  # off-topic: abstains
    client.post("/v1/search", json={"query": "UCCN", "k": 1})
    text = client.get("/metrics").text
    assert 'kk_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'route="/v1/conversations/{conversation_id}"' in text  # templates, not raw ids
    assert "kk_http_request_duration_seconds_bucket" in text
    assert 'kk_retrieval_seconds_count{endpoint="ask"}' in text and 'endpoint="search"' in text
    assert "kk_answer_seconds_count" in text
    abstained = float(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("kk_abstained_total")))
    assert abstained >= 1
    chunks = float(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("kk_index_chunks ")))
    assert chunks > 0
    assert "process_resident_memory_bytes" in text


def test_one_json_log_line_per_request_without_keys(client, caplog):
    with caplog.at_level(logging.INFO, logger="assistant.api.access"):
        client.get("/v1/documents", headers={**ADMIN, "X-Request-ID": "uji-log-42"})
        # The access line is written by the server thread after the response went out: wait for it briefly.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                getattr(r, "request_id", None) == "uji-log-42" for r in caplog.records):
            time.sleep(0.02)
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "uji-log-42"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    data = json.loads(line)
    assert {"method": "GET", "path": "/v1/documents", "status": 200, "request_id": "uji-log-42"}.items() <= data.items()
    assert data["ms"] >= 0 and ADMIN_KEY not in line


# --- store outage ----------------------------------------------------------------------------------------
def test_store_unavailable_is_503_with_retry_after(corpus_index, embedder, tmp_path):
    idx = _index_copy(corpus_index, tmp_path / "index")
    settings = corpus_index.model_copy(update={"index_dir": idx, "chroma_host": "127.0.0.1",
                                               "chroma_port": free_port()})
    a = Assistant(settings, embedder=embedder)
    try:
        with ServerThread(create_app(settings, assistant=a), ready_path="/healthz") as url, \
                httpx.Client(base_url=url, timeout=120) as c:
            r = c.post("/v1/ask", json={"question": Q_2004})
            assert_envelope(r, 503, "store_unavailable")
            assert r.headers["retry-after"] == "5"
            events = read_sse(c.post("/v1/ask", json={"question": Q_2004, "stream": True}))
            assert events[-1][0] == "error" and events[-1][1]["code"] == "store_unavailable"
            assert_envelope(c.get("/readyz"), 503, "not_ready")
    finally:
        a.feedback.close()
        a.conversations.close()


# --- small units ------------------------------------------------------------------------------------------
def test_token_bucket_refills_and_bounds_memory():
    now = [0.0]
    lim = TokenBucketLimiter(per_minute=60, burst=2, max_keys=3, clock=lambda: now[0])
    assert lim.acquire("a") == 0 and lim.acquire("a") == 0
    wait = lim.acquire("a")
    assert 0.9 < wait <= 1.0
    assert lim.acquire("b") == 0  # buckets are per key
    now[0] += 1.0
    assert lim.acquire("a") == 0 and lim.acquire("a") > 0
    for k in "cdef":
        lim.acquire(k)
    assert len(lim._buckets) == 3
    off = TokenBucketLimiter(per_minute=0)
    assert all(off.acquire("x") == 0 for _ in range(1000))


def test_keyring_hashes_and_roles():
    digest = hashlib.sha256(b"rahasia-admin").hexdigest()
    ring = KeyRing(f"baca-saja:reader, sha256:{digest}:admin")
    assert len(ring) == 2
    assert ring.lookup("baca-saja")[0] == "reader"
    assert ring.lookup("rahasia-admin")[0] == "admin"
    assert ring.lookup("baca") is None and ring.lookup("") is None
    with pytest.raises(ValueError) as exc:
        KeyRing("kunci-rahasia:superuser")
    assert "kunci-rahasia" not in str(exc.value)


# --- contract ---------------------------------------------------------------------------------------------
def test_openapi_contract_holds_under_fuzzing(live, tmp_path):
    """Schemathesis against the live server: no 5xx, statuses/headers/bodies as documented. Operations that
    change the index are left out (the module's other tests own it); rejecting a schema-valid upload without a
    file suffix (415) is by design, the schema cannot say "a name ending in .md"."""
    st = Path(sys.executable).with_name("schemathesis")
    if not st.exists():
        pytest.skip("schemathesis CLI not installed")
    proc = subprocess.run(
        [str(st), "run", f"{live.url}/openapi.json", "--max-examples", "15", "--seed", "20261128",
         "--generation-database", "none", "--exclude-checks", "positive_data_acceptance",
         "--exclude-path", "/v1/reindex", "--exclude-path", "/v1/documents", "--exclude-method", "DELETE",
         "-H", f"X-API-Key: {ADMIN_KEY}", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Tested:" in proc.stdout and "Tested: 0" not in proc.stdout  # operations were really exercised
