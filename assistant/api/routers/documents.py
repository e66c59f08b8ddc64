"""Admin endpoints that change the index: upload, list, delete documents, and re-index.

Uploads are checked with the core loader (``load_bytes``) *before* anything touches the index, so a rejected
file leaves the index and the uploads folder as they were. The stored name is derived from the client's name
(slug + known suffix) and the file is written under ``index_dir/uploads`` only: no path from the client is used.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, File, UploadFile
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, get_settings, require_admin
from assistant.api.errors import ApiError
from assistant.api.schemas import GUARDED_ERRORS, DocumentChange, DocumentInfo, error_responses
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.documents import SUPPORTED_SUFFIXES, LoadError, load_bytes, slugify
from assistant.models import IngestReport

router = APIRouter(prefix="/v1", tags=["dokumen (admin)"], dependencies=[Depends(require_admin)],
                   responses=error_responses(*GUARDED_ERRORS, 403, 503))
# One index change at a time from this process (the core's writer lock also guards across processes); it makes
# "check the doc id is free, write the file, ingest" one step.
_write_lock = threading.Lock()


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.index_dir) / "uploads"


def safe_filename(client_name: str) -> str:
    """A harmless file name from whatever the client sent: slug of the last path part + its lower-case suffix."""
    last = PurePosixPath(client_name.replace("\\", "/")).name
    suffix = PurePosixPath(last).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,16}", suffix):  # ".\x00", ". md", ".ｍｄ": no usable suffix at all
        suffix = ""
    stem = slugify(last[: -len(suffix)] if suffix else last)[:80].strip("-") or "dokumen"
    return stem + suffix


def _is_upload(path: str, settings: Settings) -> bool:
    return Path(path).resolve().is_relative_to(uploads_dir(settings).resolve())


@router.post("/documents", status_code=201, response_model=DocumentChange, summary="Unggah dokumen",
             description="Unggah satu berkas md/txt/pdf/html/docx (≤ 20 MB); berkas diperiksa dulu, lalu "
                         "diindeks.",
             responses=error_responses(400, 409, 413, 415, 422))
async def upload_document(file: UploadFile = File(description="Berkas md/txt/pdf/html/docx"),
                          assistant: Assistant = Depends(get_assistant),
                          settings: Settings = Depends(get_settings)) -> DocumentChange:
    name = safe_filename(file.filename or "")
    suffix = PurePosixPath(name).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        raise ApiError(415, "unsupported_media_type",
                       f"Jenis berkas tidak didukung ({suffix or 'tanpa ekstensi'}); gunakan "
                       f"{', '.join(sorted(SUPPORTED_SUFFIXES))}.")
    limit = settings.max_file_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"Berkas terlalu besar (maksimum {limit // (1024 * 1024)} MB).")
    try:
        doc = await run_in_threadpool(load_bytes, data, name)
    except LoadError as exc:
        raise ApiError(422, "invalid_document", f"Berkas tidak dapat diindeks: {exc}.") from None
    report = await run_in_threadpool(_store_and_ingest, assistant, settings, name, data, doc.doc_id)
    return DocumentChange(doc_id=doc.doc_id, title=doc.title, filename=name, report=report)


def _store_and_ingest(assistant: Assistant, settings: Settings, name: str, data: bytes, doc_id: str) -> IngestReport:
    folder = uploads_dir(settings)
    target = folder / name
    with _write_lock:
        owner = next((d["path"] for d in assistant.documents() if d["doc_id"] == doc_id), None)
        if owner is not None and Path(owner).resolve() != target.resolve():
            raise ApiError(409, "conflict", f"Id dokumen '{doc_id}' sudah dipakai oleh dokumen lain; hapus dokumen "
                                            "itu dulu atau pakai id lain di front matter.")
        folder.mkdir(parents=True, exist_ok=True)
        previous = target.read_bytes() if target.exists() else None

        def put_back() -> None:
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                _write_atomic(target, previous)

        _write_atomic(target, data)
        try:
            report = assistant.ingest([folder])
        except BaseException:
            # Store down (503), index folder unwritable …: the client is told it failed, so the file must not
            # stay behind and be indexed silently by the next reindex.
            put_back()
            raise
        if any(Path(s.path).resolve() == target.resolve() for s in report.skipped):
            # The core refused what load_bytes accepted (should not happen): put things back as they were.
            put_back()
            assistant.ingest([folder])
            reason = next(s.reason for s in report.skipped if Path(s.path).resolve() == target.resolve())
            raise ApiError(422, "invalid_document", f"Berkas tidak dapat diindeks: {reason}.")
    return report


def _write_atomic(target: Path, data: bytes) -> None:
    # A dot-name is ignored by the core's file walker, so a concurrent ingest never reads a half-written file.
    tmp = target.with_name(f".{uuid.uuid4().hex}.part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


@router.get("/documents", response_model=list[DocumentInfo], summary="Daftar dokumen terindeks")
async def list_documents(assistant: Assistant = Depends(get_assistant),
                         settings: Settings = Depends(get_settings)) -> list[DocumentInfo]:
    docs = await run_in_threadpool(assistant.documents)
    return [DocumentInfo(**d, uploaded=_is_upload(d["path"], settings)) for d in docs]


@router.delete("/documents/{doc_id}", response_model=DocumentChange, summary="Hapus dokumen dari indeks",
               description="Menghapus dokumen dari indeks (dan berkas unggahannya, bila ada). Dokumen dari "
                           "corpus/ akan kembali pada reindex berikutnya.",
               responses=error_responses(404))
async def delete_document(doc_id: str, assistant: Assistant = Depends(get_assistant),
                          settings: Settings = Depends(get_settings)) -> DocumentChange:
    return await run_in_threadpool(_delete, assistant, settings, doc_id)


def _delete(assistant: Assistant, settings: Settings, doc_id: str) -> DocumentChange:
    with _write_lock:
        matches = [d for d in assistant.documents() if d["doc_id"] == doc_id]
        if not matches:
            raise ApiError(404, "not_found", f"Dokumen '{doc_id}' tidak ada di indeks.")
        report = assistant.remove_document(doc_id)
        for d in matches:
            if _is_upload(d["path"], settings):
                Path(d["path"]).unlink(missing_ok=True)
    return DocumentChange(doc_id=doc_id, title=matches[0].get("title", ""), report=report)


@router.post("/reindex", response_model=IngestReport, summary="Indeks ulang corpus dan unggahan")
async def reindex(assistant: Assistant = Depends(get_assistant),
                  settings: Settings = Depends(get_settings)) -> IngestReport:
    def run() -> IngestReport:
        with _write_lock:
            uploads_dir(settings).mkdir(parents=True, exist_ok=True)
            return assistant.ingest([Path(settings.corpus_dir), uploads_dir(settings)])

    return await run_in_threadpool(run)
