"""Probes and metrics: ``/healthz`` (process alive), ``/readyz`` (index loaded and store reachable), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, get_metrics, require_reader
from assistant.api.errors import ApiError
from assistant.api.metrics import ApiMetrics
from assistant.api.schemas import GUARDED_ERRORS, Health, Readiness, error_responses
from assistant.assistant import Assistant

router = APIRouter(tags=["kesehatan"])


@router.get("/healthz", response_model=Health, summary="Proses hidup")
async def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Siap melayani",
            responses=error_responses(503))
async def readyz(assistant: Assistant = Depends(get_assistant),
                 metrics: ApiMetrics = Depends(get_metrics)) -> Readiness:
    def check() -> tuple[Readiness, bool]:
        st = assistant.status()
        metrics.set_index_size(st["chunks"], st["documents"])
        alive = assistant.store_alive()
        ok = alive and st["chunks"] > 0
        return Readiness(status="ok" if ok else "not_ready", chunks=st["chunks"], documents=st["documents"],
                         generation=st["generation"], store="ok" if alive else "unreachable"), ok

    state, ok = await run_in_threadpool(check)
    if not ok:
        reason = "penyimpanan vektor tidak dapat dijangkau" if state.store != "ok" else "indeks masih kosong"
        raise ApiError(503, "not_ready", f"Belum siap: {reason}.", {"Retry-After": "5"})
    return state


@router.get("/metrics", summary="Metrik Prometheus", response_class=Response, dependencies=[Depends(require_reader)],
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                       **error_responses(*GUARDED_ERRORS)})
async def metrics_endpoint(assistant: Assistant = Depends(get_assistant),
                           metrics: ApiMetrics = Depends(get_metrics)) -> Response:
    def render() -> bytes:
        st = assistant.status()
        metrics.set_index_size(st["chunks"], st["documents"])
        return metrics.render()

    return Response(await run_in_threadpool(render), media_type="text/plain; version=0.0.4; charset=utf-8")
