"""``POST /v1/draft`` and ``POST /v1/check-application`` over real HTTP (uvicorn on loopback, real index)."""

from __future__ import annotations

import io
import shutil

import httpx
import pytest

from assistant.api.app import create_app
from assistant.api.server import ServerThread
from assistant.assistant import Assistant


@pytest.fixture(scope="module")
def url(corpus_index, embedder, tmp_path_factory):
    idx = tmp_path_factory.mktemp("api-gen") / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    settings = corpus_index.model_copy(update={"index_dir": idx, "rate_limit_per_minute": 100_000})
    a = Assistant(settings, embedder=embedder)
    with ServerThread(create_app(settings, assistant=a)) as base:
        yield base
    a.feedback.close()
    a.conversations.close()


def test_draft_reply_letter(url):
    msg = ("Selamat pagi. Kami dari Pemkab Banyuwangi ingin bertanya: apakah kabupaten boleh mendaftar UCCN? "
           "Berapa biaya pendaftarannya?")
    r = httpx.post(f"{url}/v1/draft", json={"message": msg}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["draft"].startswith("Yth.") and "Hormat kami" in body["draft"]
    assert "Ponorogo" in body["draft"]  # regencies can be designated: the corpus's example
    assert body["citations"] and all(c["doc_id"] and c["title"] for c in body["citations"])
    assert any("biaya" in u.lower() for u in body["unanswered"])  # fees are not known: said so, not invented
    bad = httpx.post(f"{url}/v1/draft", json={"message": ""}, timeout=30)
    assert bad.status_code == 422 and bad.json()["error"]["code"]


def test_check_application_text_and_file(url):
    draft = ("Application of the City of Example to the UNESCO Creative Cities Network in the field of Music. "
             "The Mayor's letter of commitment is attached. The National Commission for UNESCO endorsement letter "
             "is attached. We propose an action plan for the next four years.")
    r = httpx.post(f"{url}/v1/check-application", data={"text": draft}, timeout=60)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) >= 6
    assert all(i["status"] in ("present", "unclear", "missing") for i in items)
    assert all(i["citation"] and i["citation"]["doc_id"] for i in items)
    statuses = {i["requirement"]: i["status"] for i in items}
    assert any(s == "present" for s in statuses.values()) and any(s == "missing" for s in statuses.values())
    f = httpx.post(f"{url}/v1/check-application", files={"file": ("draf.txt", io.BytesIO(draft.encode()))},
                   timeout=60)
    assert f.status_code == 200 and f.json()["items"] == items
    broken = httpx.post(f"{url}/v1/check-application", files={"file": ("draf.pdf", io.BytesIO(b"bukan pdf"))},
                        timeout=30)
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_document"
