"""Ingest: files → documents → chunks → (cached) embeddings → Chroma + BM25 → a new published generation.

Incremental by construction: chunk ids are content hashes, so only chunks whose id is not yet in Chroma are
embedded (and the embedding cache makes even those free if the text was ever embedded before). Files whose
bytes did not change are not even re-chunked. Chunks of removed or changed files leave the new generation and
are deleted from Chroma after the switch. Ingest is scoped to the given roots: files ingested from *other*
folders (e.g. uploads) are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import CHUNKER_VERSION, Chunker
from assistant.documents import LOADER_VERSION, LoadError, iter_source_files, load_file
from assistant.embeddings import CachedEmbeddings
from assistant.models import Chunk, IngestReport, SkippedFile
from assistant.store import BM25Index, Generation, GenerationStore, PreparedGeneration, VectorStore
from assistant.text import TOKENIZER_VERSION

ProgressFn = Callable[[str, int, int], None]


class Indexer:
    """Keeps the vector store and the generation folder in step with the source files."""

    def __init__(self, embedder: CachedEmbeddings, vectors: VectorStore, generations: GenerationStore,
                 chunker: Chunker, max_file_bytes: int, embed_sentences: bool = True) -> None:
        self.embedder = embedder
        # The reader compares each candidate sentence with the question in the embedding space; embedding the
        # sentences here (into the content-hash cache) keeps that off the question's path. See assistant/reading.
        self.embed_sentences = embed_sentences
        self.vectors = vectors
        self.generations = generations
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes

    def chunk_settings(self) -> dict[str, Any]:
        sp = self.chunker.splitter
        # The tokenizer too: its output (BM25 tokens, the stem table) is versioned, and a reader of a generation
        # built by another version would fall back to a stale vocabulary with an empty stem table.
        return {"chunk_size": sp._chunk_size, "chunk_overlap": sp._chunk_overlap, "loader": LOADER_VERSION,
                "chunker": CHUNKER_VERSION, "tokenizer": TOKENIZER_VERSION}

    def ingest(self, roots: Iterable[Path], progress: ProgressFn | None = None, *,
               remove_missing: bool = True) -> IngestReport:
        """Sync the index with the files under ``roots``; return what changed and what was skipped."""
        t0 = time.perf_counter()
        roots = [Path(r).resolve() for r in roots]
        report = IngestReport()
        with self.generations.writer_lock():
            old = self.generations.load()
            old_files: dict[str, Any] = old.manifest.get("files", {})
            same_settings = old.manifest.get("settings") == self.chunk_settings()
            by_id_old = {c.chunk_id: c for c in old.chunks}

            new_files: dict[str, Any] = {}
            new_chunks: list[Chunk] = []
            seen_docs: dict[str, str] = {}
            paths = list(iter_source_files(roots))
            for i, path in enumerate(paths, 1):
                key = str(path.resolve())
                report.files += 1
                if progress:
                    progress("files", i, len(paths))
                try:
                    doc = load_file(path, max_bytes=self.max_file_bytes)
                except LoadError as exc:
                    report.skipped.append(SkippedFile(path=str(path), reason=str(exc)))
                    continue
                if doc.doc_id in seen_docs:
                    report.skipped.append(SkippedFile(
                        path=str(path), reason=f"id dokumen '{doc.doc_id}' sudah dipakai oleh {seen_docs[doc.doc_id]}"))
                    continue
                seen_docs[doc.doc_id] = str(path)
                prev = old_files.get(key)
                if prev and same_settings and prev["hash"] == doc.file_hash and all(
                        cid in by_id_old for cid in prev["chunk_ids"]):
                    chunks = [by_id_old[cid] for cid in prev["chunk_ids"]]
                else:
                    chunks = self.chunker.split(doc)
                if not chunks:
                    report.skipped.append(SkippedFile(path=str(path), reason="tidak ada teks yang dapat diindeks"))
                    continue
                report.documents += 1
                entry = {"hash": doc.file_hash, "doc_id": doc.doc_id, "title": doc.title, "topic": doc.topic,
                         "size": path.stat().st_size, "chunk_ids": [c.chunk_id for c in chunks]}
                same = prev and all(prev.get(k) == v for k, v in entry.items())
                new_files[key] = prev if same else {**entry, "indexed_at": time.time()}
                new_chunks.extend(chunks)

            # Files outside the given roots stay as they are (they came from another folder or an upload).
            for key, entry in old_files.items():
                inside = any(_is_under(Path(key), r) for r in roots)
                if key in new_files or (inside and remove_missing):
                    continue
                if entry["doc_id"] in seen_docs:
                    continue
                kept = [by_id_old[c] for c in entry["chunk_ids"] if c in by_id_old]
                new_files[key] = entry
                new_chunks.extend(kept)

            return self._commit(old, new_files, new_chunks, report, t0, progress)

    def remove_documents(self, doc_ids: set[str]) -> IngestReport:
        """Drop whole documents (e.g. ``DELETE /v1/documents/{id}``) and publish the result."""
        t0 = time.perf_counter()
        report = IngestReport()
        with self.generations.writer_lock():
            old = self.generations.load()
            by_id_old = {c.chunk_id: c for c in old.chunks}
            new_files = {k: v for k, v in old.manifest.get("files", {}).items() if v["doc_id"] not in doc_ids}
            new_chunks = [by_id_old[c] for v in new_files.values() for c in v["chunk_ids"] if c in by_id_old]
            return self._commit(old, new_files, new_chunks, report, t0, None)

    def publish_chunks(self, chunks: list[Chunk], settings: dict[str, Any],
                       progress: ProgressFn | None = None) -> IngestReport:
        """Make exactly ``chunks`` the index (no files, no chunker): for external benchmarks whose passages must
        stay one chunk each. Same path as an ingest: cached embedding, upsert, BM25, atomic publish, clean-up."""
        t0 = time.perf_counter()
        with self.generations.writer_lock():
            old = self.generations.load()
            return self._commit(old, {}, chunks, IngestReport(), t0, progress, settings)

    def _commit(self, old: Generation, new_files: dict[str, Any], new_chunks: list[Chunk], report: IngestReport,
                t0: float, progress: ProgressFn | None, settings: dict[str, Any] | None = None) -> IngestReport:
        # De-duplicate identical chunk ids (the same text at the same place cannot occur twice in one doc).
        uniq: dict[str, Chunk] = {}
        for c in new_chunks:
            uniq.setdefault(c.chunk_id, c)
        new_chunks = list(uniq.values())
        old_ids = set(old.ids)
        new_ids = set(uniq)
        old_doc_ids = {c.doc_id for c in old.chunks}
        for c in new_chunks:
            if c.chunk_id in old_ids:
                report.chunks_unchanged += 1
            elif c.doc_id in old_doc_ids:
                report.chunks_updated += 1
            else:
                report.chunks_added += 1
        report.chunks_removed = len(old_ids - new_ids)

        # Vectors: only ids Chroma does not hold yet need (cached) embedding.
        in_store = self.vectors.existing(sorted(new_ids - old_ids)) | (old_ids & new_ids)
        missing = [c for c in new_chunks if c.chunk_id not in in_store]
        settings = settings if settings is not None else self.chunk_settings()
        # A generation written before generations kept their vectors is re-published once to gain them.
        changed = (new_ids != old_ids or not old.name or old.manifest.get("files") != new_files
                   or old.manifest.get("settings") != settings or (old.vectors is None and bool(new_ids)))
        manifest = {"files": new_files, "settings": settings,
                    "embedding_model": self.embedder.model_name, "dim": self.embedder.dim}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kk-generation") as pool:
            # BM25 and the generation folder need the chunks, not their vectors: they are built on a second core
            # while the new chunks embed (at 100k chunks that is ~10 s the ingest no longer adds to embedding).
            building = pool.submit(self._prepare, old, new_chunks, manifest) if changed else None
            try:
                fresh: dict[str, np.ndarray] = {}
                if missing:
                    report.embedded, report.sentences_embedded, fresh = self._embed_and_upsert(missing, progress)
                if progress and building is not None:
                    progress("bm25", 0, 1)
                prepared = building.result() if building is not None else None
                if prepared is not None:
                    self.generations.add_vectors(prepared, self._vector_rows(old, new_chunks, fresh))
            except BaseException:
                if building is not None and building.exception() is None:  # waits for the build to end
                    self.generations.discard(building.result())  # embedding failed: the folder is never committed
                raise
        report.generation = self.generations.commit(prepared) if prepared is not None else old.name
        # Garbage: vectors the published generation does not use. The replaced chunks are known; anything else
        # (vectors upserted by an ingest killed before it published) shows as a count above the generation's,
        # and only then is every id listed (a 100k-id scan costs seconds, a count nothing).
        gone = sorted(old_ids - new_ids)
        if gone:
            self.vectors.delete(gone)
        if self.vectors.count() != len(new_ids):
            stale = self.vectors.all_ids() - new_ids
            if stale:
                self.vectors.delete(sorted(stale))
        if report.generation == old.name:
            # Nothing published (publish prunes by itself): still clear what a killed ingest left in the
            # generations folder (a half-written ``.tmp`` folder, a finished folder never pointed to).
            self.generations.prune()
        report.seconds = round(time.perf_counter() - t0, 3)
        return report


    def _embed_and_upsert(self, missing: list[Chunk], progress: ProgressFn | None
                          ) -> tuple[int, int, dict[str, np.ndarray]]:
        """Embed (cache first) and upsert the chunks Chroma lacks, then cache their sentences' vectors; returns how
        many chunk and sentence vectors were really computed, and the chunk vectors by chunk id."""
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress:
                progress("embed", done[0], len(missing))

        before = self.embedder.misses
        vecs = self.embedder.embed_documents_np([c.embed_text for c in missing], progress=step)
        self.vectors.upsert(missing, vecs)
        chunks_embedded = self.embedder.misses - before
        if self.embed_sentences:
            self._embed_sentences(missing, progress)
        sentences_embedded = self.embedder.misses - before - chunks_embedded
        return chunks_embedded, sentences_embedded, {c.chunk_id: v for c, v in zip(missing, vecs, strict=True)}

    def _embed_sentences(self, chunks: list[Chunk], progress: ProgressFn | None) -> None:
        """Put the candidate sentences of ``chunks`` into the embedding cache (the reader looks them up there);
        sentences already cached, from this or any earlier index, cost a lookup."""
        from assistant.reading.candidates import chunk_sentences

        texts = list(dict.fromkeys(s.embed_text for c in chunks for s in chunk_sentences(c.text)))
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress:
                progress("sentences", done[0], len(texts))

        self.embedder.embed_documents_np(texts, progress=step)

    def _vector_rows(self, old: Generation, new_chunks: list[Chunk], fresh: dict[str, np.ndarray]) -> np.ndarray:
        """The new generation's vector copy, row i for ``new_chunks[i]``: just embedded, else the old
        generation's row, else (an old generation without a copy, or vectors a killed ingest upserted) Chroma's."""
        rows = np.empty((len(new_chunks), self.embedder.dim), dtype=np.float32)
        from_old, old_rows, need = [], [], []
        for r, c in enumerate(new_chunks):
            if c.chunk_id in fresh:
                rows[r] = fresh[c.chunk_id]
            elif old.vectors is not None and c.chunk_id in old.ids:
                from_old.append(r)
                old_rows.append(old.ids[c.chunk_id])
            else:
                need.append(r)
        if from_old:
            rows[from_old] = old.vectors[np.asarray(old_rows, dtype=np.int64)]
        if need:
            stored = self.vectors.vectors_of([new_chunks[r].chunk_id for r in need])
            lost = [new_chunks[r].chunk_id for r in need if new_chunks[r].chunk_id not in stored]
            if lost:
                raise RuntimeError(f"{len(lost)} chunks have no vector in the store (e.g. {lost[0]})")
            for r in need:
                rows[r] = stored[new_chunks[r].chunk_id]
        return rows

    def _prepare(self, old: Generation, new_chunks: list[Chunk], manifest: dict[str, Any]) -> PreparedGeneration:
        """BM25 over the new chunk set (tokens and stems of unchanged chunks reused) and the generation folder,
        unpublished.

        Runs beside the embedding, so the encoder's batches leave this thread a core meanwhile.
        """
        with self.embedder.sharing_cores(1):
            cached = self.generations.load_tokens(old) if old.name else {}
            bm25 = BM25Index.build([c.embed_text for c in new_chunks], [cached.get(c.chunk_id) for c in new_chunks],
                                   old.bm25.stems if cached else None)
            return self.generations.prepare(new_chunks, manifest, bm25)


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return path == root
