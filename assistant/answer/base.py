"""The answerer interface: retrieved chunks in, cited answer text out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.models import Citation, ScoredChunk

ABSTAIN_TEXT = (
    "Maaf, informasi tersebut tidak ada dalam dokumen yang saya miliki, sehingga saya tidak dapat menjawabnya "
    "dengan pasti."
)


@dataclass
class Draft:
    """An answer before the facade adds ids and timings."""

    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    conflict: bool = False
    flags: list[str] = field(default_factory=list)
    evidence: float = 0.0


class Answerer(ABC):
    """Base class: subclasses turn a question and ranked chunks into a :class:`Draft`."""

    name = "base"

    @abstractmethod
    def answer(self, question: str, hits: list[ScoredChunk], idf: Callable[[str], float] | None = None,
               terms: set[str] | None = None) -> Draft:
        """``idf`` gives the rarity of a (stemmed) term in the whole index, for judging evidence; ``terms`` are
        the question's content terms after typo correction."""
