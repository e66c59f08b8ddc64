"""``POST /v1/draft`` (reply letter to a focal point's message) and ``POST /v1/check-application`` (readiness
checklist of a draft UCCN application). Both run the core in a worker thread; this router only serialises."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, get_settings, require_reader
from assistant.api.errors import ApiError
from assistant.api.schemas import GUARDED_ERRORS, JSON_BODY_ERRORS, error_responses
from assistant.application_check import CheckResult
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.documents import LoadError
from assistant.drafting import DraftReply

router = APIRouter(prefix="/v1", tags=["tanya-jawab"], dependencies=[Depends(require_reader)])


class DraftRequest(BaseModel):
    message: str = Field(min_length=1, max_length=8000, description="Pesan atau surat dari focal point")


@router.post("/draft", response_model=DraftReply, summary="Draf surat balasan",
             description="Memecah pesan menjadi pertanyaan, menjawab tiap pertanyaan dari dokumen, dan menyusun "
                         "surat balasan resmi dengan sitasi bernomor; yang tidak diketahui disebut beserta pihak "
                         "yang dapat ditanya.",
             responses=error_responses(*GUARDED_ERRORS, *JSON_BODY_ERRORS, 503))
async def draft(body: DraftRequest, assistant: Assistant = Depends(get_assistant)) -> DraftReply:
    return await run_in_threadpool(assistant.draft, body.message)


@router.post("/check-application", response_model=CheckResult, summary="Periksa kesiapan draf aplikasi UCCN",
             description="Kirim berkas draf (txt/md/docx/pdf) di field `file`, atau teksnya di field `text` "
                         "(multipart/form-data). Setiap syarat diberi status present/unclear/missing, kutipan bukti "
                         "dari draf, dan sitasi dokumen yang memuat syarat itu.",
             responses=error_responses(*GUARDED_ERRORS, 400, 413, 415, 422, 503))
async def check_application(file: UploadFile | None = File(None, description="Draf: txt/md/docx/pdf"),
                            text: str | None = Form(None, description="Atau: teks draf"),
                            assistant: Assistant = Depends(get_assistant),
                            settings: Settings = Depends(get_settings)) -> CheckResult:
    if file is None and not (text or "").strip():
        raise ApiError(422, "validation_error", "Kirim berkas draf (field 'file') atau teksnya (field 'text').")
    if file is None:
        return await run_in_threadpool(assistant.check_application, text)
    data = await file.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise ApiError(413, "payload_too_large",
                       f"Berkas terlalu besar (maksimum {settings.max_file_bytes // (1024 * 1024)} MB).")
    try:
        return await run_in_threadpool(assistant.check_application, data, file.filename or "draf.txt")
    except LoadError as exc:
        raise ApiError(422, "invalid_document", f"Berkas tidak dapat dibaca: {exc}.") from None
