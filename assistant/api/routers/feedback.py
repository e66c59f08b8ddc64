"""``POST /v1/feedback`` (👍/👎 on an answer) and the admin's JSONL export of everything collected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, require_admin, require_reader
from assistant.api.errors import ApiError
from assistant.api.schemas import GUARDED_ERRORS, JSON_BODY_ERRORS, FeedbackCreated, FeedbackRequest, error_responses
from assistant.assistant import Assistant

router = APIRouter(prefix="/v1/feedback", tags=["umpan-balik"])


@router.post("", status_code=201, response_model=FeedbackCreated, summary="Beri umpan balik atas jawaban",
             dependencies=[Depends(require_reader)],
             responses=error_responses(*GUARDED_ERRORS, *JSON_BODY_ERRORS, 404))
async def add_feedback(body: FeedbackRequest, assistant: Assistant = Depends(get_assistant)) -> FeedbackCreated:
    try:
        fid = await run_in_threadpool(assistant.record_feedback, body.answer_id, body.rating, body.comment, "api")
    except KeyError:
        raise ApiError(404, "not_found", "Jawaban dengan id tersebut tidak ditemukan.") from None
    return FeedbackCreated(feedback_id=fid)


@router.get("/export", summary="Ekspor umpan balik (JSONL, admin)", dependencies=[Depends(require_admin)],
            response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                       **error_responses(*GUARDED_ERRORS, 403, 422)})
async def export_feedback(rating: Literal["up", "down"] | None = Query(default=None),
                          assistant: Assistant = Depends(get_assistant)) -> StreamingResponse:
    rows = await run_in_threadpool(assistant.export_feedback, rating)

    def lines() -> Iterator[str]:
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="umpan-balik.jsonl"'})
