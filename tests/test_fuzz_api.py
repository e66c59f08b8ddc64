"""Schemathesis over the *whole* OpenAPI document, admin operations included, for a fixed time budget.

Why beside ``test_api.py::test_openapi_contract_holds_under_fuzzing``: that contract run is small and leaves
out the operations that change the index. Here every operation is fuzzed with a valid admin key — uploads,
deletions, reindex — through all four schemathesis phases (examples, coverage, fuzzing, stateful sequences
that follow the API's links), against ``kota-kreatif serve`` in its own process with a private index copy.
What must hold: no 5xx, and responses (status, headers, bodies) as documented. The one excluded check,
``positive_data_acceptance``, would flag the deliberate 415 for a schema-valid upload without a file suffix
(a schema cannot say "a name ending in .md").

Budget: ``KK_FUZZ_SECONDS`` (default 60) of generation; ``KK_FUZZ_SEED`` to replay another seed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import CACHE

ADMIN_KEY = "fuzz-admin-6d1f9c0a7b"
READER_KEY = "fuzz-reader-3e8a2c51f4"


@pytest.mark.timeout(600)
def test_whole_api_survives_fuzzing_with_admin_key(corpus_index, tmp_path):
    from evals.load_test import ServeProcess

    st = Path(sys.executable).with_name("schemathesis")
    if not st.exists():
        pytest.skip("schemathesis CLI not installed")
    seconds = int(os.environ.get("KK_FUZZ_SECONDS", "60"))
    seed = os.environ.get("KK_FUZZ_SEED", "20261128")
    idx = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    env = {"KK_API_KEYS": f"{READER_KEY}:reader,{ADMIN_KEY}:admin", "KK_CORPUS_DIR": str(corpus_index.corpus_dir)}
    log = tmp_path / "serve.log"
    with ServeProcess(idx, CACHE, log, extra_env=env) as server:
        proc = subprocess.run(
            [str(st), "run", f"{server.url}/openapi.json", "--max-time", str(seconds), "--seed", seed,
             "--phases", "examples,coverage,fuzzing,stateful", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--generation-database", "none", "--workers", "1",
             "--request-timeout", "60", "-H", f"X-API-Key: {ADMIN_KEY}", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=seconds + 300)
        out = proc.stdout
        # The server is still healthy after the storm (the fuzzer may have deleted documents: that is its right).
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    generated = re.search(r"(\d+) generated", out)
    tested = re.search(r"Tested: (\d+)", out)
    selected = re.search(r"Selected: (\d+)/(\d+)", out)
    summary = (f"schemathesis: {generated.group(1) if generated else '?'} test cases generated, operations "
               f"tested {tested.group(1) if tested else '?'} of {selected.group(2) if selected else '?'}")
    print(summary)
    assert proc.returncode == 0, summary + "\n" + out[-6000:] + proc.stderr[-2000:]
    assert generated and int(generated.group(1)) >= 100, summary
    assert tested and selected and tested.group(1) == selected.group(2), summary  # every operation exercised
    text = log.read_text()
    assert "unhandled error" not in text and '"status": 500' not in text, "server errors in the log"
    assert ADMIN_KEY not in text and READER_KEY not in text
