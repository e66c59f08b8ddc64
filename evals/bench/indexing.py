"""Put a :class:`BenchCorpus` (chunks + precomputed vectors) into a real index, through the product's classes.

``publish_precomputed`` is ``Indexer._commit`` minus the embedding step: the vectors are upserted with
``VectorStore.upsert``, BM25 is built with ``BM25Index.build``, the generation is written with
``GenerationStore.publish`` under the writer lock, and stale ids are deleted. The files are written to disk and
the manifest entries come from ``load_file`` on them, exactly as ``Indexer.ingest`` records files, so a later
``ingest`` of the folder treats every file as unchanged. What the server and the retriever then read is the
same on-disk format a normal ingest produces.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from evals.bench.corpora import BenchCorpus

SPEC_FILE = "bench-spec.json"
# Code whose change makes a built bench index stale even when the chunks are the same: tokenisation (BM25), the
# store format and the chunk ids. A change re-publishes BM25 and the generation; vectors already in Chroma stay.
CODE_FILES = ("assistant/text.py", "assistant/store.py", "assistant/models.py")


def code_fingerprint() -> str:
    import hashlib

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for rel in CODE_FILES:
        p = root / rel
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()[:16]


def write_files(corpus: BenchCorpus, folder: Path) -> None:
    """Write the corpus' text files (skipping files whose content is already right)."""
    from evals.bench.corpora import file_text

    folder.mkdir(parents=True, exist_ok=True)
    wanted = {name for name, _ in corpus.files}
    for p in folder.glob("*.txt"):
        if p.name not in wanted:
            p.unlink()
    for name, idx in corpus.files:
        path = folder / name
        data = file_text(corpus, idx).encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def manifest_files(corpus: BenchCorpus, folder: Path, max_bytes: int) -> dict[str, Any]:
    """Manifest entries as ``Indexer.ingest`` writes them (same keys, values from ``load_file``)."""
    from assistant.documents import load_file

    out: dict[str, Any] = {}
    now = time.time()
    for name, idx in corpus.files:
        path = (folder / name).resolve()
        doc = load_file(path, max_bytes=max_bytes)
        out[str(path)] = {"hash": doc.file_hash, "doc_id": doc.doc_id, "title": doc.title, "topic": doc.topic,
                          "size": path.stat().st_size, "chunk_ids": [corpus.chunks[i].chunk_id for i in idx],
                          "indexed_at": now}
    return out


def is_current(a: Assistant, corpus: BenchCorpus) -> bool:
    """True when the index already holds exactly this corpus (same spec, same chunk ids, all vectors)."""
    spec_path = Path(a.settings.index_dir) / SPEC_FILE
    try:
        saved = json.loads(spec_path.read_text())
        if saved["fingerprint"] != corpus.fingerprint or saved.get("code") != code_fingerprint():
            return False
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return False
    gen = a.generation()
    want = {c.chunk_id for c in corpus.chunks}
    return set(gen.ids) == want and a.vectors.count() == len(want)


def publish_precomputed(a: Assistant, corpus: BenchCorpus, files_dir: Path) -> dict[str, Any]:
    """Index ``corpus`` into ``a``'s index (or reuse it when already current); returns timings."""
    from assistant.store import BM25Index

    if is_current(a, corpus):
        write_files(corpus, files_dir)  # cheap; makes sure the folder matches for the re-ingest figure
        return {"reused": True, "chunks": len(corpus.chunks)}
    t0 = time.perf_counter()
    write_files(corpus, files_dir)
    files = manifest_files(corpus, files_dir, a.settings.max_file_bytes)
    t_files = time.perf_counter() - t0
    ids = [c.chunk_id for c in corpus.chunks]
    with a.generations.writer_lock():
        t = time.perf_counter()
        in_store = a.vectors.existing(ids)
        todo = [i for i, cid in enumerate(ids) if cid not in in_store]
        if todo:
            a.vectors.upsert([corpus.chunks[i] for i in todo], corpus.vectors[todo])
        t_vectors = time.perf_counter() - t
        t = time.perf_counter()
        bm25 = BM25Index.build([c.embed_text for c in corpus.chunks])
        t_bm25 = time.perf_counter() - t
        t = time.perf_counter()
        manifest = {"files": files, "settings": a.indexer.chunk_settings(),
                    "embedding_model": a.embedder.model_name, "dim": a.embedder.dim}
        a.generations.publish(corpus.chunks, manifest, bm25, vectors=corpus.vectors)
        stale = a.vectors.all_ids() - set(ids)
        if stale:
            a.vectors.delete(sorted(stale))
        t_publish = time.perf_counter() - t
    a.generation()
    (Path(a.settings.index_dir) / SPEC_FILE).write_text(json.dumps(
        {"fingerprint": corpus.fingerprint, "code": code_fingerprint(), "spec": corpus.spec}, indent=2))
    return {"reused": False, "chunks": len(ids), "upserted": len(todo), "files_s": round(t_files, 2),
            "vectors_s": round(t_vectors, 2), "bm25_s": round(t_bm25, 2), "publish_s": round(t_publish, 2),
            "total_s": round(time.perf_counter() - t0, 2)}


def disk_usage(a: Assistant) -> dict[str, float]:
    """MB on disk of what serving needs: the Chroma folder and the *current* generation (older generations kept
    for readers still on them, the embedding cache and chat logs are not counted)."""
    def size(p: Path) -> float:
        if not p.exists():
            return 0.0
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        return sum(f.stat().st_size for f in files) / 1e6

    chroma = size(Path(a.settings.index_dir) / "chroma")
    state = size(a.generations.gens / a.generations.current_name()) if a.generations.current_name() else 0.0
    return {"chroma_mb": round(chroma, 1), "generation_mb": round(state, 1), "total_mb": round(chroma + state, 1)}
