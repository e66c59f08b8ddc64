"""``kota-kreatif bench``: the corpus recipe is deterministic and as documented, and a ``--quick`` run on a tiny
corpus finishes, prints the tables and writes results.json + report.md.

The run goes through the real console script in a subprocess: the bench releases Chroma's process-wide client
cache between phases, which must not happen inside the pytest process where other tests hold clients.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KK_TEST_EMBEDDING_CACHE", REPO / ".cache" / "test-embeddings.sqlite"))
BENCH = Path("/work/shared/benchmarks/tydiqa-id/passages.jsonl")


class FakeCache:
    """Stands in for ``CachedEmbeddings.lookup``: a random unit vector per text, no model."""

    model_name = "fake"
    dim = 384

    def lookup(self, texts: list[str]) -> dict[int, np.ndarray]:
        rng = np.random.default_rng(0)
        v = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return dict(enumerate(v))


def test_variant_corpus_recipe():
    from evals.bench.corpora import FILE_CHUNKS, Passage, build_tydi_corpus, parse_size, variant_cosines

    passages = [Passage(f"p{i}", f"Kalimat satu nomor {i}. Kalimat dua di sini. Kalimat tiga terakhir.", "tydi")
                for i in range(30)]
    a = build_tydi_corpus("100", 100, FakeCache(), passages)
    b = build_tydi_corpus("100", 100, FakeCache(), passages)
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]  # deterministic
    assert np.array_equal(a.vectors, b.vectors)
    assert len(a.chunks) == 100 and len({c.chunk_id for c in a.chunks}) == 100
    assert a.spec["real"] == 30 and a.spec["variants"] == 70
    assert [c.text for c in a.chunks[:30]] == [p.text for p in passages]  # real passages untouched
    assert all(c.text and c.text != passages[i % 30].text for i, c in enumerate(a.chunks[30:]))
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-4)
    cos = variant_cosines(a)
    assert 0.9 < cos["mean"] < 0.96  # σ = 0.02 per dimension → ≈ 0.93
    assert len(a.files) == -(-100 // FILE_CHUNKS)
    assert parse_size("10k") == 10_000 and parse_size("corpus") is None and parse_size("2500") == 2500


@pytest.mark.skipif(not BENCH.exists(), reason="shared TyDi benchmark not available")
def test_ingest_sample_is_topped_up_with_new_passage_files(tmp_path):
    from assistant.chunking import Chunker
    from assistant.config import Settings
    from assistant.documents import load_file
    from evals.bench.ingest import sample_files

    settings = Settings(index_dir=tmp_path / "index")
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)

    def count(files: list[Path]) -> int:
        return sum(len(chunker.split(load_file(p, max_bytes=settings.max_file_bytes))) for p in files)

    corpus = sample_files(REPO / "corpus", None, settings)
    assert not any(p.name.startswith("sampel-ingest") for p in corpus)
    want = count(corpus) + 150
    files = sample_files(REPO / "corpus", want, settings, tmp_path / "extra")
    extra = [p for p in files if p.parent == tmp_path / "extra"]
    assert files[: len(corpus)] == corpus and extra and len(files) == len(corpus) + len(extra)
    assert want <= count(files) < want + 10  # stops at the first passage file that reaches the size
    assert len({p.name for p in files}) == len(files)  # copied side by side into one sample folder


@pytest.mark.skipif(not BENCH.exists(), reason="shared TyDi benchmark not available")
def test_quick_bench_writes_table(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPO / "corpus" / "konferensi-tahunan-uccn.md", corpus)
    out = tmp_path / "out"
    exe = Path(sys.executable).parent / "kota-kreatif"
    proc = subprocess.run(
        [str(exe), "bench", "--quick", "--sizes", "corpus,120", "--store", "embedded,http", "--out", str(out),
         "--corpus-dir", str(corpus), "--embedding-cache", str(CACHE)],
        capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## Server over HTTP" in proc.stdout and "## Targets" in proc.stdout
    assert (out / "report.md").read_text().startswith("# kota-kreatif bench")
    res = json.loads((out / "results.json").read_text())
    assert set(res["sizes"]) == {"corpus", "120"}
    for size in ("corpus", "120"):
        s = res["sizes"][size]
        assert s["reingest"]["embedded"] == 0 and not s["reingest"]["republished"]
        assert s["ingest"]["chunks"] > 0 and s["ingest"]["bare_encoder_per_s"] > 0
        for store in ("embedded", "http"):
            lat = s["http"][store]["latency"]
            for ep in ("/v1/search", "/v1/ask"):
                assert lat[ep]["1"]["ok"] == lat[ep]["1"]["requests"] > 0
                assert lat[ep]["10"]["ok"] == lat[ep]["10"]["requests"] > 0
            assert s["http"][store]["ready_s"][0] > 0 and s["http"][store]["rss_peak_mb"][0] > 50
    assert res["sizes"]["120"]["ann"]["recall@10"] > 0.5
    assert res["quality"]["ours"]["n"] > 0 and "gain_r5_points" in res["quality"]
    assert any(t["target"].startswith("ingest") for t in res["targets"])
