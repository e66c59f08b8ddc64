"""Candidate sentences: what the reader may quote, cut from the top retrieved chunks.

A chunk is Markdown prose (this corpus) or plain prose (external text). Its sentences become candidates, each with
the chunk it came from, its retrieval rank and its place in the chunk. Three kinds of text are no candidates:

* headings (a heading names a topic and answers nothing; the section path already reaches the features);
* sentences addressed to the assistant (``guard.instruction_flags``): retrieved text is data, never instructions;
* fragments of fewer than :data:`MIN_WORDS` words (a lone "Catatan:" or list number).

A list item keeps the lead-in sentence that introduces its list ("Lampiran wajib:"): an item ("formulir
aplikasi") means little alone, and the answer shows the lead-in once before the items.

The same function cuts the sentences at ingest (to embed them, cached by content) and at question time, so the
sentence vectors a question looks up are always the ones that were stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from assistant.guard import instruction_flags
from assistant.models import ScoredChunk
from assistant.text import split_sentences

MIN_WORDS = 4


@dataclass(frozen=True)
class Sentence:
    """One quotable sentence of a chunk, as cut by :func:`chunk_sentences`."""

    position: int  # index among the chunk's candidate sentences
    text: str  # the sentence without Markdown list/heading markers or emphasis
    lead: str = ""  # the lead-in of the list this item belongs to ("Lampiran wajib:"), else ""
    is_item: bool = False  # a Markdown list item
    first: bool = False  # the chunk's first sentence

    @property
    def embed_text(self) -> str:
        """What is embedded for this sentence: the item with its lead-in, so "formulir aplikasi" means "Lampiran
        wajib: formulir aplikasi"."""
        return f"{self.lead} {self.text}" if self.lead else self.text


@dataclass
class Candidate:
    """A sentence of a retrieved chunk, with where it came from."""

    sentence: Sentence
    hit: ScoredChunk
    rank: int  # retrieval rank of its chunk (0 = best)

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def lead(self) -> str:
        return self.sentence.lead

    @property
    def position(self) -> int:
        return self.sentence.position

    @property
    def chunk_id(self) -> str:
        return self.hit.chunk.chunk_id


def _strip_markup(line: str) -> tuple[str, bool, bool]:
    """``(text, is list item, is heading)`` of a raw sentence: Markdown markers and emphasis removed.

    Plain string tests instead of a pattern: a list marker is "-", "*", "+" or a number with "." or ")" followed
    by a space; a heading starts with "#"; a quote with ">".
    """
    s = line.lstrip()
    heading = s.startswith("#")
    item = False
    if s[:2] in ("- ", "* ", "+ "):
        s, item = s[2:], True
    elif heading:
        s = s.lstrip("#")
    elif s.startswith("> "):
        s = s[2:]
    else:
        digits = len(s) - len(s.lstrip("0123456789"))
        if 0 < digits <= 3 and s[digits:digits + 2] in (". ", ") "):
            s, item = s[digits + 2:], True
    s = s.replace("**", "").replace("__", "").replace("`", "")
    return " ".join(s.split()), item, heading


@lru_cache(maxsize=50_000)
def chunk_sentences(text: str) -> tuple[Sentence, ...]:
    """The candidate sentences of one chunk's text, in order (memoised: the same top chunks come back)."""
    spans = split_sentences(text)
    out: list[Sentence] = []
    lead = ""
    for (a, b), instruction in zip(spans, instruction_flags(text, spans), strict=True):
        clean, item, heading = _strip_markup(text[a:b])
        if heading or instruction or not clean:
            lead = "" if heading else lead
            continue
        if clean.endswith(":") and not item:
            lead = clean  # introduces the list that follows
            continue
        item_lead = lead if item else ""
        if not item:
            lead = ""
        if len(f"{item_lead} {clean}".split()) < MIN_WORDS:
            continue
        out.append(Sentence(len(out), clean, item_lead, item, not out))
    return tuple(out)


def candidates(hits: list[ScoredChunk], chunks: int) -> list[Candidate]:
    """Candidates from the first ``chunks`` hits, in retrieval then document order."""
    return [Candidate(s, h, rank) for rank, h in enumerate(hits[:chunks]) for s in chunk_sentences(h.chunk.text)]
