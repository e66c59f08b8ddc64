"""``POST /v1/search``: the ranked chunks retrieval finds, with their scores (no answer composed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, get_metrics, require_reader
from assistant.api.metrics import ApiMetrics
from assistant.api.schemas import GUARDED_ERRORS, JSON_BODY_ERRORS, SearchRequest, error_responses
from assistant.assistant import Assistant
from assistant.models import SearchResponse

router = APIRouter(prefix="/v1", tags=["pencarian"], dependencies=[Depends(require_reader)])


@router.post("/search", response_model=SearchResponse, summary="Cari potongan dokumen",
             description="Potongan teks terindeks yang paling relevan, berurutan menurut skor gabungan "
                         "(dense + BM25).",
             responses=error_responses(*GUARDED_ERRORS, *JSON_BODY_ERRORS, 503))
async def search(body: SearchRequest, assistant: Assistant = Depends(get_assistant),
                 metrics: ApiMetrics = Depends(get_metrics)) -> SearchResponse:
    result = await run_in_threadpool(assistant.search, body.query, body.k, body.filters)
    metrics.observe_search(result.timings_ms)
    return result
