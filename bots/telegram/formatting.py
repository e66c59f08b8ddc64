"""Telegram HTML: escaping, answer and source rendering, and splitting into messages of at most 4,096.

Why the order *split plain text → escape/format each part*: a cut made in already-rendered HTML can land inside
a tag or an entity (``&am|p;``) and Telegram then rejects the whole message. So messages are built from
:class:`Span` blocks of plain text, blocks that do not fit are cut as plain text, and only then is every piece
escaped and wrapped in its tags. Lengths are checked on the *escaped* text in UTF-16 code units (how Telegram
counts; an emoji is 2), which over-estimates the limit Telegram applies after entity parsing: always safe.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.models import Answer, Citation

MAX_MESSAGE = 4096
# Separators tried in order when a text must be cut: paragraph, line, sentence end, any whitespace.
_CUTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"), re.compile(r"\n\s*"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))
_SAFE_URL = re.compile(r"^https?://[^\s<>\"]+$", re.I)


def escape(text: str) -> str:
    """Escape ``< > &`` (all Telegram's HTML mode needs in text); quotes only matter inside attributes."""
    return html.escape(text, quote=False)


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _escaped_cost(ch: str) -> int:
    return tg_len(escape(ch))


def split_plain(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut plain ``text`` into pieces whose *escaped* length is ≤ ``limit``, preferring paragraph, then line,
    sentence and word boundaries; only whitespace is dropped at a cut (and at both ends).

    A boundary is taken only if it keeps at least half of the room, so a stray early blank line does not
    produce a tiny message; a single word longer than ``limit`` is cut hard.
    """
    if limit < 8:
        raise ValueError("limit too small")
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if tg_len(escape(rest)) <= limit:
            pieces.append(rest)
            break
        room, used = 0, 0  # room = the longest prefix (in characters) that fits after escaping
        for ch in rest:
            used += _escaped_cost(ch)
            if used > limit:
                break
            room += 1
        cut = _best_cut(rest, room)
        head, rest = rest[:cut[0]].rstrip(), rest[cut[1]:].lstrip()
        if not head:  # cannot happen with limit ≥ 8, but never loop forever
            head, rest = rest[:room], rest[room:].lstrip()
        pieces.append(head)
    return pieces


def _best_cut(text: str, room: int) -> tuple[int, int]:
    """(end of head, start of rest) for the best boundary within the first ``room`` characters."""
    window = text[:room + 1]  # a separator starting right at ``room`` is still a clean cut
    fallback: tuple[int, int] | None = None
    for pattern in _CUTS:
        last = None
        for m in pattern.finditer(window):
            if 0 < m.start() <= room:
                last = m
        if last is None:
            continue
        if last.start() >= room // 2:
            return last.start(), last.end()
        if fallback is None or last.start() > fallback[0]:
            fallback = (last.start(), last.end())
    return fallback or (room, room)


@dataclass(frozen=True)
class Span:
    """A run of plain text with at most one style: "" (plain), "b", "i", "code" or "a" (with ``href``)."""

    text: str
    style: str = ""
    href: str = ""

    def render(self) -> str:
        body = escape(self.text)
        if not self.text or not self.style:
            return body
        if self.style == "a":
            if not _SAFE_URL.match(self.href):
                return body  # Telegram rejects odd schemes; show the text without a link
            return f'<a href="{html.escape(self.href, quote=True)}">{body}</a>'
        return f"<{self.style}>{body}</{self.style}>"


Block = Sequence[Span]


def plain(block: Block) -> str:
    return "".join(s.text for s in block)


def render(block: Block) -> str:
    return "".join(s.render() for s in block)


def pack(blocks: Iterable[Block], limit: int = MAX_MESSAGE, sep: str = "\n\n") -> list[str]:
    """Render blocks into as few HTML messages as fit in ``limit``, blocks joined by ``sep``.

    A block too long for one message is flattened to plain text (its styles dropped) and cut with
    :func:`split_plain`, so no tag ever spans two messages.
    """
    parts: list[str] = []
    current = ""
    for block in blocks:
        if not plain(block).strip():
            continue
        rendered = render(block)
        pieces = [rendered] if tg_len(rendered) <= limit else [escape(p) for p in split_plain(plain(block), limit)]
        for piece in pieces:
            if current and tg_len(current) + tg_len(sep) + tg_len(piece) <= limit:
                current += sep + piece
            else:
                if current:
                    parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


# -- answers ------------------------------------------------------------------------------------------------
def _short_section(section: str) -> str:
    """The last step of a heading path ("Dokumen > Bagian > Sub" → "Sub"): enough to find the place."""
    return section.split(" > ")[-1].strip()


def source_line(c: Citation) -> str:
    """``[n] title — section, date`` (the short list under an answer)."""
    head = c.title or c.doc_id
    section = _short_section(c.section)
    if section and section != head:
        head += f" — {section}"
    return f"[{c.n}] {head}" + (f", {c.date}" if c.date else "")


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer's paragraphs, then a short numbered source list (full details: /sumber)."""
    blocks: list[Block] = [[Span(p)] for p in re.split(r"\n\s*\n", answer.answer) if p.strip()]
    if answer.citations:
        spans = [Span("Sumber", "b"), Span(" (rincian: /sumber)")]
        for c in answer.citations:
            spans.append(Span("\n" + source_line(c)))
        blocks.append(spans)
    return blocks


def format_answer(answer: Answer, limit: int = MAX_MESSAGE) -> list[str]:
    return pack(answer_blocks(answer), limit)


def sources_blocks(citations: Iterable[Citation | dict[str, Any]]) -> list[Block]:
    """Every source in full: title, section path, date, link and the quoted sentence(s)."""
    blocks: list[Block] = []
    for raw in citations:
        c = raw if isinstance(raw, Citation) else Citation.model_validate(raw)
        spans = [Span(f"[{c.n}] "), Span(c.title or c.doc_id, "b")]
        if c.section:
            spans.append(Span(f"\nBagian: {c.section}"))
        if c.date:
            spans.append(Span(f"\nTanggal: {c.date}"))
        if c.url:
            spans += [Span("\nTautan: "), Span(c.url, "a", href=c.url)]
        if c.quote:
            spans += [Span("\nKutipan: "), Span(f"“{c.quote}”", "i")]
        blocks.append(spans)
    return blocks


def format_sources(citations: Iterable[Citation | dict[str, Any]], limit: int = MAX_MESSAGE) -> list[str]:
    return pack([[Span("Sumber jawaban terakhir", "b")], *sources_blocks(citations)], limit)


def format_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Any plain text (help, errors, drafts) as escaped, size-bounded messages."""
    return pack([[Span(p)] for p in re.split(r"\n\s*\n", text)], limit)
