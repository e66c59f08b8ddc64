"""``POST /v1/ask``: one answer with citations, as JSON or as a Server-Sent Events stream.

The core's ``Assistant.ask`` does all the work (validate → rewrite follow-up → retrieve → answer → remember) in a
worker thread; this router only serialises. The stream announces the retrieved sources, then the answer text in
pieces (sentence or word groups of the extractive answer; concatenated they equal the JSON ``answer`` exactly),
then the citations, then ``done``. A failure after the stream started arrives as an ``error`` event.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.api.deps import get_assistant, get_metrics, require_reader
from assistant.api.errors import STORE_RETRY_AFTER
from assistant.api.metrics import ApiMetrics
from assistant.api.schemas import GUARDED_ERRORS, JSON_BODY_ERRORS, AskRequest, SourceRef, error_responses
from assistant.assistant import Assistant, StreamItem
from assistant.models import Answer, ScoredChunk
from assistant.store import StoreUnavailable

router = APIRouter(prefix="/v1", tags=["tanya-jawab"], dependencies=[Depends(require_reader)])
log = logging.getLogger("assistant.api")

_EXAMPLE_ANSWER = {
    "answer": "UCCN (UNESCO Creative Cities Network) atau Jejaring Kota Kreatif UNESCO dibentuk UNESCO pada 2004. [1]",
    "abstained": False,
    "citations": [{"n": 1, "doc_id": "glosarium", "title": "Glosarium istilah UCCN dan ekonomi kreatif",
                   "section": "Apa itu UCCN?", "url": "https://www.unesco.org/en/creative-cities", "date": "2025-11-01",
                   "quote": "UCCN (UNESCO Creative Cities Network) atau Jejaring Kota Kreatif UNESCO dibentuk UNESCO "
                            "pada 2004.", "chunk_id": "c31d1ca47b3b1ee3067f2980"}],
    "timings_ms": {"retrieve": 41.2, "answer": 3.1, "total": 45.0},
    "answer_id": "2afcfff9a3264717a2c3cd440f52737d",
    "conversation_id": "8d0e6a2b4c1f4e7a9b3c5d7e9f1a2b3c",
    "question": "Kapan Jejaring Kota Kreatif UNESCO dibentuk?",
    "standalone_question": "Kapan Jejaring Kota Kreatif UNESCO dibentuk?",
    "conflict": False, "flags": [], "retrieved": ["c31d1ca47b3b1ee3067f2980"],
}
_EXAMPLE_STREAM = (
    'event: retrieval\ndata: {"sources": [{"rank": 1, "chunk_id": "c31d…", "doc_id": "glosarium", ...}]}\n\n'
    'event: delta\ndata: {"text": "UCCN (UNESCO Creative Cities Network) atau Jejaring Kota Kreatif UNESCO "}\n\n'
    'event: delta\ndata: {"text": "dibentuk UNESCO pada 2004. [1]"}\n\n'
    'event: citations\ndata: {"citations": [{"n": 1, "doc_id": "glosarium", ...}]}\n\n'
    'event: done\ndata: {"answer_id": "2afc…", "conversation_id": "8d0e…", "abstained": false, ...}\n\n'
)

# One Server-Sent Event as clients parse it: the event name and its JSON data (one line).
_SSE_SCHEMA = {"type": "object", "required": ["event", "data"], "properties": {
    "event": {"type": "string", "enum": ["retrieval", "delta", "citations", "done", "error"]},
    "data": {"type": "string", "contentMediaType": "application/json"}}}


@router.post(
    "/ask", response_model=Answer, summary="Ajukan pertanyaan",
    description="Menjawab pertanyaan dari dokumen terindeks, dengan sitasi bernomor. `stream=true` mengalirkan "
                "jawaban sebagai Server-Sent Events: `retrieval`, `delta`…, `citations`, `done` (atau `error`).",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE_ANSWER},
                                 "text/event-stream": {"schema": _SSE_SCHEMA, "example": _EXAMPLE_STREAM}}},
               **error_responses(*GUARDED_ERRORS, *JSON_BODY_ERRORS, 503)},
)
async def ask(body: AskRequest, request: Request, assistant: Assistant = Depends(get_assistant),
              metrics: ApiMetrics = Depends(get_metrics)):
    if body.stream:
        # ask_stream checks the question at the call: a bad one is a 422, not an error event.
        events = assistant.ask_stream(body.question, body.conversation_id, body.filters)
        return StreamingResponse(
            _stream(events, metrics, request.state.request_id), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    answer = await run_in_threadpool(assistant.ask, body.question, body.conversation_id, body.filters)
    metrics.observe_answer(answer)
    return answer


def sse(event: str, data: dict) -> str:
    """One Server-Sent Event; the JSON is on one line, so a single ``data:`` field carries it."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


_SENTENCE_END = re.compile(r"[.!?…:][\"')\]]*\s*$")
_CITE = re.compile(r"^\[\d+\]\s*$")


def answer_pieces(text: str, max_words: int = 8) -> list[str]:
    """Split the answer into sentence or word-group pieces whose concatenation is exactly ``text``; a sentence
    keeps its citation marker ("… pada 2004. [2]")."""
    tokens = re.split(r"(?<=\s)(?=\S)", text)
    pieces: list[str] = []
    current = ""
    words = 0
    for i, token in enumerate(tokens):
        current += token
        words += 1
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        ends = _CITE.match(token) or (_SENTENCE_END.search(token) and not _CITE.match(nxt))
        if ends or (words >= max_words and not _CITE.match(nxt)):
            pieces.append(current)
            current, words = "", 0
    if current:
        pieces.append(current)
    return pieces


def _sources(hits: list[ScoredChunk]) -> list[dict]:
    return [SourceRef.of(h.chunk, rank=rank).model_dump() for rank, h in enumerate(hits, 1)]


async def _stream(events: Iterator[StreamItem], metrics: ApiMetrics, request_id: str) -> AsyncIterator[str]:
    """Relay :meth:`Assistant.ask_stream` as it runs (in a worker thread): sources as soon as retrieval is
    done, then the answer text, then citations and ``done``."""
    try:
        async for item in iterate_in_threadpool(events):
            if item.type == "retrieval":
                yield sse("retrieval", {"sources": _sources(item.hits),
                                        "standalone_question": item.standalone})
            elif item.type == "delta":
                for piece in answer_pieces(item.text):
                    yield sse("delta", {"text": piece})
            elif item.type == "done" and item.answer is not None:
                answer = item.answer
                metrics.observe_answer(answer)
                yield sse("citations", {"citations": [c.model_dump() for c in answer.citations]})
                yield sse("done", answer.model_dump(include={"answer_id", "conversation_id", "abstained", "conflict",
                                                             "flags", "timings_ms", "standalone_question"}))
    except StoreUnavailable:
        yield sse("error", {"code": "store_unavailable", "retry_after": STORE_RETRY_AFTER, "request_id": request_id,
                            "message": "Penyimpanan vektor sedang tidak dapat dijangkau. Silakan coba lagi sebentar "
                                       "lagi."})
    except Exception:
        log.exception("ask stream failed", extra={"request_id": request_id})
        yield sse("error", {"code": "internal_error", "request_id": request_id,
                            "message": "Terjadi kesalahan internal. Silakan coba lagi nanti."})
