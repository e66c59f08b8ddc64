"""The benchmark corpora: the project corpus, and TyDi/FacQA passages grown to ~10k and ~100k chunks.

How the larger corpora are made (deterministic; ``SPEC_VERSION`` changes when any of this changes):

* **Real part.** The 6,019 real passages of ``tydiqa-id`` (4,650) and ``facqa-id`` (1,369), each one chunk whose
  text is exactly the passage text, so its e5 vector comes from the embedding cache (keyed by sha256 of that
  text; :meth:`CachedEmbeddings.lookup`). Nothing is re-embedded when the cache is warm.
* **Variants** fill the rest (10k: 3,981 variants; 100k: 93,981). Variant *j* copies source passage
  ``j mod 6019`` (so every passage gets the same number of copies, ±1) and rewrites its text one of three ways,
  chosen at random: *shuffle* the sentence order, *truncate* to a prefix of 50–90 % of the sentences (of the
  words for a one-sentence passage), or *drop* one sentence in three at random. Its vector is the source's real
  vector plus Gaussian noise N(0, σ²) per dimension, σ = ``NOISE_SIGMA`` = 0.02, re-normalised to unit length:
  the expected cosine to its source is 1/sqrt(1 + 384σ²) ≈ 0.93 (measured mean reported in the results), a
  near-duplicate that still loses to its source for the source's questions most of the time.
  Variants therefore behave like near-duplicate documents for BM25 (same words), for HNSW (tight clusters of
  ~16 points at 100k) and for the de-duplication step; they do **not** grow the vocabulary the way 100k real
  passages would, so BM25 posting lists are denser and typo correction is cheaper than on real text.
* **Files.** The chunks are written as UTF-8 ``.txt`` files of ``FILE_CHUNKS`` chunks each (passages separated
  by a blank line), and the manifest records them exactly as the indexer would (``load_file`` of each file), so
  ``kota-kreatif ingest`` on that folder sees every file as unchanged: re-ingest is measured on the real path.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from assistant.embeddings import CachedEmbeddings
    from assistant.models import Chunk

BENCH_DIR = Path("/work/shared/benchmarks")
TYDI = BENCH_DIR / "tydiqa-id"
FACQA = BENCH_DIR / "facqa-id"
SPEC_VERSION = 1
NOISE_SIGMA = 0.02
FILE_CHUNKS = 20
SEED = 20251128
_SENT = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Passage:
    pid: str
    text: str
    source: str  # "tydi" | "facqa"


@dataclass
class BenchCorpus:
    """Chunks with their vectors and the file each belongs to, ready for :mod:`evals.bench.indexing`."""

    name: str
    chunks: list[Chunk]
    vectors: np.ndarray
    files: list[tuple[str, list[int]]]  # file name → indexes into ``chunks``
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:16]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Same reader as ``evals/retrieval_bench.py`` (re-exported so callers need one import)."""
    from evals.retrieval_bench import read_jsonl as _read

    return _read(path)


def load_passages(limit_pool: set[str] | None = None) -> list[Passage]:
    """TyDi then FacQA passages in file order (optionally only the ids in ``limit_pool``)."""
    out = []
    for folder, source in ((TYDI, "tydi"), (FACQA, "facqa")):
        for p in read_jsonl(folder / "passages.jsonl"):
            if limit_pool is None or p["id"] in limit_pool:
                out.append(Passage(str(p["id"]), p["text"], source))
    return out


def tydi_questions(split: str = "test") -> list[dict[str, Any]]:
    return [q for q in read_jsonl(TYDI / "questions.jsonl") if q.get("split") == split]


def real_vectors(passages: list[Passage], embedder: CachedEmbeddings) -> np.ndarray:
    """Cached e5 vectors of the passages; any missing one is embedded (and cached) through the same embedder."""
    texts = [p.text for p in passages]
    found = embedder.lookup(texts)
    missing = [i for i in range(len(texts)) if i not in found]
    if len(missing) > 200:
        raise RuntimeError(f"{len(missing)} benchmark passages are not in the embedding cache; embedding them "
                           f"would take ~{len(missing) / 7 / 60:.0f} min. Point --embedding-cache at the cache that "
                           "holds them (index/embedding-cache.sqlite) or run `kota-kreatif eval retrieval` first.")
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for i, v in found.items():
        out[i] = v
    if missing:
        out[missing] = embedder.embed_documents_np([texts[i] for i in missing])
    return out


def variant_text(text: str, kind: str, rng: np.random.Generator) -> str:
    """A rewritten copy of a passage (see the module docstring); never empty."""
    sents = [s for s in _SENT.split(text.strip()) if s]
    if len(sents) < 2:
        words = text.split()
        keep = max(1, int(len(words) * rng.uniform(0.5, 0.9)))
        return " ".join(words[:keep])
    if kind == "shuffle":
        order = rng.permutation(len(sents))
        if list(order) == list(range(len(sents))):
            order = order[::-1]
        return " ".join(sents[i] for i in order)
    if kind == "truncate":
        keep = min(len(sents) - 1, max(1, int(round(len(sents) * rng.uniform(0.5, 0.9)))))
        return " ".join(sents[:keep])
    kept = [s for s in sents if rng.random() >= 1 / 3] or sents[:1]
    return " ".join(kept) if len(kept) < len(sents) else " ".join(sents[:-1])


def build_tydi_corpus(name: str, n_chunks: int, embedder: CachedEmbeddings,
                      passages: list[Passage] | None = None) -> BenchCorpus:
    """``n_chunks`` chunks: all real passages (or the first ``n_chunks`` of them), then variants."""
    from assistant.models import Chunk

    passages = passages if passages is not None else load_passages()
    real = passages[: min(n_chunks, len(passages))]
    base = real_vectors(real, embedder)
    n_var = max(0, n_chunks - len(real))
    rng = np.random.default_rng(SEED + n_chunks)
    kinds = rng.choice(["shuffle", "truncate", "drop"], size=n_var)
    items: list[tuple[str, str, str]] = [(p.pid, p.text, p.source) for p in real]
    src_idx = np.arange(n_var) % len(real) if n_var else np.zeros(0, dtype=int)
    for j in range(n_var):
        p = real[int(src_idx[j])]
        items.append((f"{p.pid}~v{j}", variant_text(p.text, str(kinds[j]), rng), p.source))
    vectors = np.empty((len(items), embedder.dim), dtype=np.float32)
    vectors[: len(real)] = base
    if n_var:
        noise = rng.standard_normal((n_var, embedder.dim), dtype=np.float32) * np.float32(NOISE_SIGMA)
        v = base[src_idx] + noise
        vectors[len(real):] = v / np.linalg.norm(v, axis=1, keepdims=True)

    chunks: list[Chunk] = []
    files: list[tuple[str, list[int]]] = []
    for f, s in enumerate(range(0, len(items), FILE_CHUNKS)):
        idx = list(range(s, min(s + FILE_CHUNKS, len(items))))
        pos = 0
        for position, i in enumerate(idx):
            pid, text, source = items[i]
            chunks.append(Chunk(doc_id=pid, title="", section="", text=text, start=pos, end=pos + len(text),
                                position=position, topic=source))
            pos += len(text) + 2
        files.append((f"bench-{f:05d}.txt", idx))
    spec = {"version": SPEC_VERSION, "kind": "tydi+facqa", "chunks": len(items), "real": len(real),
            "variants": n_var, "sigma": NOISE_SIGMA, "seed": SEED + n_chunks, "file_chunks": FILE_CHUNKS,
            "model": embedder.model_name, "pool": hashlib.sha256("\n".join(p.pid for p in real).encode())
            .hexdigest()[:12]}
    return BenchCorpus(name, chunks, vectors, files, spec)


def file_text(corpus: BenchCorpus, idx: list[int]) -> str:
    """The file body whose passages sit at the chunks' recorded offsets."""
    return "\n\n".join(corpus.chunks[i].text for i in idx) + "\n"


def variant_cosines(corpus: BenchCorpus) -> dict[str, float] | None:
    """Mean/min cosine of variants to their source vector (documents what σ did)."""
    real = corpus.spec.get("real", 0)
    n_var = corpus.spec.get("variants", 0)
    if not n_var:
        return None
    src = np.arange(n_var) % real
    cos = np.einsum("ij,ij->i", corpus.vectors[real:], corpus.vectors[src])
    return {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)}


def parse_size(token: str) -> int | None:
    """``corpus`` → None; ``10k`` → 10000; ``2500`` → 2500."""
    t = token.strip().lower()
    if t == "corpus":
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k?)", t)
    if not m:
        raise ValueError(f"unknown size {token!r}: use corpus, 10k, 100k or a number of chunks")
    return int(float(m.group(1)) * (1000 if m.group(2) else 1))
