"""What the staff tools (reply drafting, the readiness check) need from the index: settings, retrieval, the live
generation.

Why a protocol: the tools are composed by the :class:`~assistant.assistant.Assistant` facade, which passes itself;
typing them against this small interface instead of the facade keeps ``assistant.assistant`` → ``drafting`` one
way (no import circle) and lets a test hand them any object with these three members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.models import Filters, ScoredChunk
    from assistant.store import Generation


class Sources(Protocol):
    """Retrieval over the published index."""

    settings: Settings

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[ScoredChunk]:
        """The fused, de-duplicated top ``k`` chunks for ``query``."""
        ...

    def generation(self) -> Generation:
        """The current published generation (chunks, BM25 statistics)."""
        ...
