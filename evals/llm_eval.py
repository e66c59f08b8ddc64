"""What an eval run needs to see of the LLM path: every model call (raw output, tokens, time), what the citation
check did to each answer, and why an answer fell back to the extractive one; and a way to replay the recorded
calls without the server.

Why: ``Assistant.ask`` returns only the checked answer and its flags. A real model's failures (a citation
format the parser misses, an English reply, a timeout mid-answer) are visible only in the raw output, and a
local model on 2 cores takes ~35 s per answer, so its outputs are recorded once (``llm_calls.jsonl``) and fixes
to parsing and checking are measured by replaying them (:class:`ReplayChatModel`), not by re-running the model.

Nothing here imports an LLM library: the recorder is a LangChain callback handler and the replay model a
LangChain chat model, both from ``langchain_core``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult

from evals import metrics as M

FALLBACK_REASONS = ("llm_timeout", "llm_error", "llm_ungrounded", "llm_abstained")


def prompt_key(messages: list[BaseMessage] | list[dict[str, str]]) -> str:
    """A stable key for one prompt (role + content of every message), used to match a replayed call."""
    h = hashlib.sha256()
    for m in messages:
        role, content = (m["role"], m["content"]) if isinstance(m, dict) else (m.type, str(m.content))
        h.update(f"{role}\x00{content}\x01".encode())
    return h.hexdigest()[:32]


class CallRecorder(BaseCallbackHandler):
    """Records every chat-model call: prompt, raw output, usage, wall time, time to first token, error.

    Attached to a model instance's ``callbacks``; ``role`` tells the answer model from the condense model.
    Calls are attributed to :attr:`item` as set when they *start* (an abandoned call after a timeout ends
    while the next item runs, and still belongs to the one that made it).
    """

    raise_error = False

    def __init__(self, calls: list[dict[str, Any]], lock: threading.Lock, role: str,
                 path: Path | None = None) -> None:
        self.calls = calls
        self.lock = lock
        self.role = role
        self.path = path  # appended to as each call ends: a crashed or stopped slow run keeps what it did
        self.item: str | None = None
        self._open: dict[Any, dict[str, Any]] = {}

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: Any,
                            **kwargs: Any) -> None:
        msgs = messages[0] if messages else []
        self._open[run_id] = {
            "item": self.item, "role": self.role, "key": prompt_key(msgs),
            "messages": [{"role": m.type, "content": str(m.content)} for m in msgs],
            "t0": time.perf_counter(), "started_at": time.time(), "first_token_ms": None, "chunks": 0, "output": "",
            "error": None, "prompt_tokens": None, "completion_tokens": None}

    def on_llm_new_token(self, token: str, *, run_id: Any, **kwargs: Any) -> None:
        rec = self._open.get(run_id)
        if rec is not None and token:
            rec["chunks"] += 1
            if rec["first_token_ms"] is None:
                rec["first_token_ms"] = round((time.perf_counter() - rec["t0"]) * 1000, 1)

    def on_llm_end(self, response: LLMResult, *, run_id: Any, **kwargs: Any) -> None:
        rec = self._open.pop(run_id, None)
        if rec is None:
            return
        text = ""
        usage: dict[str, Any] = {}
        if response.generations and response.generations[0]:
            gen = response.generations[0][0]
            text = gen.text
            msg = getattr(gen, "message", None)
            meta = getattr(msg, "usage_metadata", None) or {}
            usage = {"prompt_tokens": meta.get("input_tokens"), "completion_tokens": meta.get("output_tokens")}
        tu = (response.llm_output or {}).get("token_usage") or {}
        rec["prompt_tokens"] = usage.get("prompt_tokens") or tu.get("prompt_tokens")
        # A streamed call without usage data: the llama.cpp server sends one token per chunk.
        rec["completion_tokens"] = (usage.get("completion_tokens") or tu.get("completion_tokens")
                                    or rec["chunks"] or None)
        rec["output"] = text
        self._close(rec)

    def on_llm_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        rec = self._open.pop(run_id, None)
        if rec is None:
            return
        rec["error"] = f"{type(error).__name__}: {error}"[:500]
        partial = kwargs.get("response")
        if isinstance(partial, LLMResult) and partial.generations and partial.generations[0]:
            rec["output"] = partial.generations[0][0].text  # what the model wrote before it was stopped
        self._close(rec)

    def _close(self, rec: dict[str, Any]) -> None:
        rec["ms"] = round((time.perf_counter() - rec.pop("t0")) * 1000, 1)
        secs = rec["ms"] / 1000
        rec["completion_tokens_per_s"] = (round(rec["completion_tokens"] / secs, 2)
                                          if rec["completion_tokens"] and secs > 0 else None)
        # Generation speed proper: tokens after the first over the time after it (the prompt is processed
        # before the first token).
        gen_s = (rec["ms"] - rec["first_token_ms"]) / 1000 if rec["first_token_ms"] is not None else 0
        rec["decode_tokens_per_s"] = round((rec["chunks"] - 1) / gen_s, 2) if rec["chunks"] > 1 and gen_s > 0 else None
        with self.lock:
            self.calls.append(rec)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


class DraftTap:
    """Wraps an :class:`~assistant.answer.llm.LLMAnswerer` to keep the drafts it returns (raw text, removed
    sentences, citation fixes), which the public ``Answer`` does not carry. Everything else is delegated."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.drafts: list[Any] = []

    def answer(self, *args: Any, **kwargs: Any) -> Any:
        draft = self._inner.answer(*args, **kwargs)
        self.drafts.append(draft)
        return draft

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _chat_model_of(chain: Any) -> BaseChatModel | None:
    for step in getattr(chain, "steps", []) or []:
        if isinstance(step, BaseChatModel):
            return step
    return None


class LLMTap:
    """Installs a :class:`CallRecorder` on the assistant's answer and condense models and a :class:`DraftTap` on
    its answerer; :meth:`take` returns what one item produced."""

    def __init__(self, assistant: Any, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.recorders: list[CallRecorder] = []
        self.draft_tap: DraftTap | None = None
        answerer = assistant.answerer
        model = getattr(answerer, "chat_model", None)
        if isinstance(model, BaseChatModel):
            self._attach(model, "answer")
            self.draft_tap = DraftTap(answerer)
            assistant.answerer = self.draft_tap
        condenser = getattr(assistant, "_condenser", None)
        cmodel = getattr(condenser, "model", None) or _chat_model_of(getattr(condenser, "chain", None))
        if cmodel is not None:
            self._attach(cmodel, "condense")

    @property
    def active(self) -> bool:
        return bool(self.recorders)

    def _attach(self, model: BaseChatModel, role: str) -> None:
        rec = CallRecorder(self.calls, self._lock, role, self.path)
        model.callbacks = [*(model.callbacks or []), rec]  # type: ignore[list-item]
        self.recorders.append(rec)

    def start(self, item_id: str) -> None:
        for r in self.recorders:
            r.item = item_id
        if self.draft_tap is not None:
            self.draft_tap.drafts.clear()

    def take(self, item_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        """The item's calls and the last draft's check details (``wait_s``: how long to wait for a call that
        was abandoned on timeout to end, so its raw output is still recorded)."""
        deadline = time.monotonic() + wait_s
        while any(r._open for r in self.recorders) and time.monotonic() < deadline:
            time.sleep(0.2)
        with self._lock:
            mine = [c for c in self.calls if c["item"] == item_id]
        draft = self.draft_tap.drafts[-1] if self.draft_tap and self.draft_tap.drafts else None
        out: dict[str, Any] = {
            "calls": [{k: c.get(k) for k in ("role", "key", "ms", "first_token_ms", "prompt_tokens",
                                             "completion_tokens", "completion_tokens_per_s", "decode_tokens_per_s",
                                             "error")} for c in mine]}
        if draft is not None:
            out.update({"raw_text": getattr(draft, "raw_text", ""), "removed": getattr(draft, "removed", []),
                        "fixes": getattr(draft, "fixes", []), "draft_flags": list(draft.flags)})
        return out

    def write_calls(self, path: Path) -> int:
        """All recorded calls as JSONL (one call a line, prompt included): the replay input. (With ``path``
        given to the constructor the same lines were already appended there as the calls ended.)"""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            calls = list(self.calls)
        with open(path, "w", encoding="utf-8") as fh:
            for c in calls:
                fh.write(json.dumps(c, ensure_ascii=False) + "\n")
        return len(calls)


# --------------------------------------------------------------------------- replay
class ReplayChatModel(BaseChatModel):
    """Answers each prompt with the output recorded for the same prompt (``llm_calls.jsonl``); an unknown prompt
    (the prompt or retrieval changed since the recording) or a recorded error raises, so the answerer falls back
    exactly as it did, or as it would on a model error. Streams the recorded output word by word."""

    recorded: dict[str, dict[str, Any]]
    by_question: dict[str, dict[str, Any]] = {}
    misses: list[str] = []
    system_changed: list[str] = []

    @classmethod
    def from_file(cls, path: Path) -> ReplayChatModel:
        recorded: dict[str, dict[str, Any]] = {}
        by_question: dict[str, dict[str, Any]] = {}
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    c = json.loads(line)
                    recorded.setdefault(c["key"], c)
                    by_question.setdefault(prompt_key(c["messages"][-1:]), c)
        return cls(recorded=recorded, by_question=by_question, misses=[], system_changed=[])

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _lookup(self, messages: list[BaseMessage]) -> str:
        rec = self.recorded.get(prompt_key(messages))
        if rec is None:
            # Same context and question under another system prompt: still the model's answer to this context,
            # which is what a change to parsing or checking is measured on; counted so the report says so.
            rec = self.by_question.get(prompt_key(messages[-1:]))
            if rec is not None:
                self.system_changed.append(prompt_key(messages))
        if rec is None:
            self.misses.append(prompt_key(messages))
            raise LookupError("no recorded output for this prompt")
        if rec.get("error"):
            raise RuntimeError(f"recorded error: {rec['error']}")
        return rec.get("output") or ""

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._lookup(messages)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        import re

        for piece in re.split(r"(?<=\s)(?=\S)", self._lookup(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


# --------------------------------------------------------------------------- aggregation
def _mean(values: list[Any]) -> float | None:
    vals = [v for v in values if v]
    return round(sum(vals) / len(vals), 1) if vals else None


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def summarize_llm(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """LLM-path figures of a run: how answers were made (model / fallback and why / skipped), what the check
    removed or repaired, call latency and speed. None when no item went through an LLM answerer."""
    recs = [it for it in items if "llm" in it]
    if not recs:
        return None
    flags = [set(it.get("flags", [])) for it in recs]
    answered = sum(1 for f in flags if "llm" in f and "llm_fallback" not in f)
    fallback = Counter(r for f in flags if "llm_fallback" in f for r in FALLBACK_REASONS if r in f)
    removed = [r for it in recs for r in it["llm"].get("removed", [])]
    fixes = [x for it in recs for x in it["llm"].get("fixes", [])]
    calls = [c for it in recs for c in it["llm"].get("calls", [])]
    answer_calls = [c for c in calls if c["role"] == "answer"]
    ok = [c for c in answer_calls if not c.get("error")]
    tps = [c["completion_tokens_per_s"] for c in ok if c.get("completion_tokens_per_s")]
    dps = [c["decode_tokens_per_s"] for c in ok if c.get("decode_tokens_per_s")]
    ttft = [c["first_token_ms"] for c in ok if c.get("first_token_ms") is not None]

    def pct(vals: list[float], q: int) -> float | None:
        p = M.percentile(vals, q)
        return None if p is None else round(p, 1)

    return {
        "items": len(recs),
        "llm_answered": answered,  # answers the model made (its abstentions included), not the fallback's
        "llm_answered_with_content": sum(1 for f in flags if "llm" in f and "llm_fallback" not in f
                                         and "llm_abstained" not in f),
        "llm_abstained": sum(1 for f in flags if "llm_abstained" in f),
        "llm_skipped": sum(1 for f in flags if "llm_skipped" in f),
        "llm_fallback": sum(fallback.values()),
        "llm_fallback_reasons": dict(fallback),
        "llm_truncated": sum(1 for f in flags if "llm_truncated" in f),
        "sentences_removed": len(removed),
        "sentences_removed_by_reason": dict(Counter(r["reason"] for r in removed)),
        "items_with_removals": sum(1 for it in recs if it["llm"].get("removed")),
        "citation_fixes_by_reason": dict(Counter(x["reason"] for x in fixes)),
        "answer_calls": len(answer_calls),
        "condense_calls": sum(1 for c in calls if c["role"] == "condense"),
        "call_errors": sum(1 for c in calls if c.get("error")),
        "llm_call_ms_p50": pct([c["ms"] for c in ok], 50),
        "llm_call_ms_p95": pct([c["ms"] for c in ok], 95),
        "first_token_ms_p50": pct(ttft, 50),
        "completion_tokens_per_s_mean": round(sum(tps) / len(tps), 2) if tps else None,
        "decode_tokens_per_s_mean": round(sum(dps) / len(dps), 2) if dps else None,
        "prompt_tokens_mean": _mean([c.get("prompt_tokens") for c in ok]),  # None: a stream without usage data
        "completion_tokens_mean": _mean([c.get("completion_tokens") for c in ok]),
        "llm_answered_rate": _rate(answered, len(recs)),
    }
