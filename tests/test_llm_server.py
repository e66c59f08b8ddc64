"""Opt-in: the LLM path against a real OpenAI-compatible server (docs/llm.md, scripts/llm_server.sh).

Set ``KK_TEST_LLM_BASE_URL`` (e.g. ``http://127.0.0.1:8089/v1``) and optionally ``KK_TEST_LLM_MODEL`` to run it.
Why opt-in: a local 1.5B model took 2-10 minutes an answer on this project's 2 shared cores (docs/llm.md) and its
server is built from source (~27 min), far too slow for every CI run; without the variable every test here is
skipped with that reason.

What must hold with a real model, whatever it writes: no 5xx over HTTP, the stream's deltas add up to the final
answer, every kept citation is supported (citation precision 1.0 after the check), and every model error or
timeout ends in the extractive answer with ``llm_fallback``. ``KK_TEST_LLM_SAMPLE`` (default ``6,2``: the sample
docs/llm.md reports) and ``KK_TEST_LLM_SEED`` (default 23) choose the fixed gold sample; ``0`` runs only the HTTP
checks. ``KK_TEST_LLM_TIMEOUT`` (default 600 s) is the answerer's timeout.
"""

from __future__ import annotations

import json
import os
import shutil

import httpx
import pytest

BASE_URL = os.environ.get("KK_TEST_LLM_BASE_URL", "")
MODEL = os.environ.get("KK_TEST_LLM_MODEL", "qwen2.5-coder-1.5b")
SAMPLE = os.environ.get("KK_TEST_LLM_SAMPLE", "6,2")
SEED = int(os.environ.get("KK_TEST_LLM_SEED", "23"))
TIMEOUT = float(os.environ.get("KK_TEST_LLM_TIMEOUT", "600"))

pytestmark = pytest.mark.skipif(
    not BASE_URL, reason="KK_TEST_LLM_BASE_URL is not set: no real LLM server to test against "
                         "(scripts/llm_server.sh starts one; see docs/llm.md)")


@pytest.fixture(scope="module")
def llm_settings(corpus_index, tmp_path_factory):
    idx = tmp_path_factory.mktemp("llm-real") / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    return corpus_index.model_copy(update={
        "index_dir": idx, "llm_backend": "openai", "llm_base_url": BASE_URL, "llm_model": MODEL,
        "llm_timeout_seconds": TIMEOUT, "rate_limit_per_minute": 100_000})


def _events(resp: httpx.Response) -> list[tuple[str, dict]]:
    out = []
    for frame in resp.text.replace("\r\n", "\n").split("\n\n"):
        if frame.strip():
            fields = dict(line.split(": ", 1) for line in frame.split("\n"))
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_server_lists_the_model():
    r = httpx.get(f"{BASE_URL.rstrip('/')}/models", timeout=10)
    assert r.status_code == 200 and r.json()["data"], r.text


def test_ask_and_stream_over_http_with_the_real_model(llm_settings, embedder):
    """One question as JSON and as SSE through the real API: 200s, deltas add up, citations point at chunks."""
    from assistant.api.app import create_app
    from assistant.api.server import ServerThread
    from assistant.assistant import Assistant

    a = Assistant(llm_settings, embedder=embedder)
    q = "Kota Bandung menjadi anggota jejaring kota kreatif UNESCO di bidang apa?"
    try:
        with ServerThread(create_app(llm_settings, assistant=a)) as url:
            r = httpx.post(f"{url}/v1/ask", json={"question": q}, timeout=TIMEOUT + 60)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["answer"] and ("llm" in body["flags"] or "llm_fallback" in body["flags"]), body["flags"]
            s = httpx.post(f"{url}/v1/ask", json={"question": q, "stream": True}, timeout=TIMEOUT + 60)
            assert s.status_code == 200
            events = _events(s)
            names = [e for e, _ in events]
            assert names[0] == "retrieval" and names[-1] == "done" and "error" not in names, names
            text = "".join(d["text"] for e, d in events if e == "delta")
            cites = dict(events)["citations"]["citations"]
            assert text.strip() and all(1 <= int(n) <= len(cites) for n in __import__("re").findall(r"\[(\d+)\]",
                                                                                                    text))
    finally:
        a.close()


@pytest.mark.skipif(SAMPLE.strip() == "0", reason="KK_TEST_LLM_SAMPLE=0: sample run not asked for")
def test_fixed_sample_meets_the_targets(llm_settings, embedder, tmp_path):
    """The gold sample through ``Assistant.ask`` with the real model: citation precision 1.0 after the check,
    every fallback says why, and no item fails with an exception."""
    from evals.runner import Evaluator, RunConfig, write_results

    ev = Evaluator(llm_settings, embedder=embedder)
    try:
        res = ev.run(os.path.join(os.path.dirname(__file__), "..", "evals", "datasets", "gold.jsonl"),
                     RunConfig("llm", {"retrieval_mode": llm_settings.retrieval_mode}), sample=SAMPLE, seed=SEED,
                     record=tmp_path / "llm_calls.jsonl")
    finally:
        ev.close()
    write_results(res, tmp_path)
    s = res["summary"]
    print(json.dumps({"citation_precision": s.get("citation_precision"),
                      "key_fact_coverage": s.get("key_fact_coverage"), "llm": s.get("llm")}, ensure_ascii=False))
    assert s["citation_precision"] in (None, 1.0), [it["unsupported_sentences"] for it in res["items"]]
    for it in res["items"]:
        flags = set(it["flags"])
        if "llm_fallback" in flags:
            assert flags & {"llm_timeout", "llm_error", "llm_ungrounded"}, it["flags"]
        if any(c.get("error") for c in it["llm"]["calls"] if c["role"] == "answer"):
            assert "llm_fallback" in flags or "llm_truncated" in flags, it["flags"]
