"""``GET/DELETE /v1/conversations/{id}``: the history the assistant keeps for follow-up questions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import get_assistant, require_reader
from assistant.api.errors import ApiError
from assistant.api.schemas import GUARDED_ERRORS, Conversation, ConversationTurn, error_responses
from assistant.assistant import Assistant
from assistant.models import Citation

router = APIRouter(prefix="/v1/conversations", tags=["percakapan"], dependencies=[Depends(require_reader)],
                   responses=error_responses(*GUARDED_ERRORS, 404, 422))
ConversationPath = Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Id percakapan.")
_NOT_FOUND = "Percakapan tidak ditemukan (mungkin sudah dihapus atau kedaluwarsa)."


@router.get("/{conversation_id}", response_model=Conversation, summary="Riwayat percakapan")
async def get_conversation(conversation_id: str = ConversationPath,
                           assistant: Assistant = Depends(get_assistant)) -> Conversation:
    turns = await run_in_threadpool(assistant.history, conversation_id)
    if not turns:
        raise ApiError(404, "not_found", _NOT_FOUND)
    return Conversation(conversation_id=conversation_id, turns=[
        ConversationTurn(question=t.question, standalone_question=t.standalone, answer=t.answer,
                         answer_id=t.answer_id, citations=[Citation(**c) for c in t.citations], at=t.at)
        for t in turns])


@router.delete("/{conversation_id}", status_code=204, summary="Hapus percakapan")
async def delete_conversation(conversation_id: str = ConversationPath,
                              assistant: Assistant = Depends(get_assistant)) -> Response:
    if not await run_in_threadpool(assistant.forget, conversation_id):
        raise ApiError(404, "not_found", _NOT_FOUND)
    return Response(status_code=204)
