"""The same pipeline against a real ``chroma run`` server (HttpClient), as used when API, bot and CLI run as
separate processes. ``scripts/test.sh`` starts the server and exports its port; run alone, the fixture starts
one itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    host, port = os.environ.get("KK_TEST_CHROMA_HOST"), os.environ.get("KK_TEST_CHROMA_PORT")
    if host and port:
        yield host, int(port)
        return
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(free)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{free}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield "127.0.0.1", free
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ingest_and_ask_over_chroma_server(make_assistant, chroma_server, tmp_path):
    host, port = chroma_server
    a = make_assistant(chroma_host=host, chroma_port=port, collection_prefix=f"t{os.getpid()}-{tmp_path.name[-6:]}")
    assert a.vectors.heartbeat()
    report = a.ingest()
    assert report.documents >= 10 and not report.skipped
    assert a.vectors.count() == len(a.generation().chunks)
    ans = a.ask("Kapan Jejaring Kota Kreatif UNESCO dibentuk?")
    assert "2004" in ans.answer and ans.citations
    assert a.status()["store"] == "http"
    # A second process-like reader (another Assistant on the same server and state folder) sees the same index.
    b = make_assistant(chroma_host=host, chroma_port=port, collection_prefix=a.settings.collection_prefix,
                       index_dir=a.settings.index_dir)
    assert b.search("Kota Kreatif UNESCO dibentuk", k=1).results[0].chunk_id in {c.chunk_id for c in
                                                                                 a.generation().chunks}
    assert b.ingest().embedded == 0
