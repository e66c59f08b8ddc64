"""Compile a per-code-point normalisation table into SentencePiece's ``precompiled_charsmap`` format.

Why: the engine normalises with its own table (4,837 code points: NFKC-style folds, deletions of control
characters, tab/newline to space); SentencePiece's stock ``nmt_nfkc`` map differs on 174 code points, so the
``tokenizers`` pipeline must use this very table. ``tokenizers.normalizers.Precompiled`` reads a compiled map:
a little-endian u32 byte size of a double-array trie, the trie's u32 units, then the replacement strings, each
NUL-terminated. The trie walk it performs (``spm_precompiled``, the darts-clone layout) is:

    pos = 0; pos ^= offset(unit[0]); for each byte c: pos ^= c; u = unit[pos]; label(u) must be c;
    pos ^= offset(u); if has_leaf(u): value(unit[pos]) is a match (an offset into the strings).

with ``label(u) = u & 0x800000FF``, ``has_leaf(u) = (u >> 8) & 1``, ``offset(u) = u >> 10`` (bit 9 clear),
``value(u) = u & 0x7FFFFFFF`` (leaf units carry bit 31, so they never match a label). Any array obeying that walk
works; this builder places each node's children by first fit, which is deterministic for a given table.
"""

from __future__ import annotations

import struct

_LEAF_BIT = 1 << 31


def _utf8(cps: tuple[int, ...] | list[int]) -> bytes:
    return "".join(chr(c) for c in cps).encode("utf-8")


def compile_charsmap(table: dict[int, tuple[int, ...]]) -> bytes:
    """The compiled map for ``table`` (code point -> replacement code points; empty = delete)."""
    # Replacement strings, NUL-terminated, shared when equal.
    strings = bytearray()
    where: dict[bytes, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(table):
        out = _utf8(table[cp])
        if out not in where:
            where[out] = len(strings)
            strings += out + b"\0"
        keys.append((_utf8([cp]), where[out]))

    # A byte trie: node = (children by byte, value or None).
    trie: list[tuple[dict[int, int], int | None]] = [({}, None)]
    for key, value in keys:
        node = 0
        for c in key:
            nxt = trie[node][0].get(c)
            if nxt is None:
                nxt = len(trie)
                trie.append(({}, None))
                trie[node][0][c] = nxt
            node = nxt
        trie[node] = (trie[node][0], value)

    units: dict[int, int] = {}
    used_bases: set[int] = set()
    position = {0: 0}  # trie node -> array slot of its unit (the root sits at 0)
    cursor = 1
    order = [0]
    for node in order:  # breadth first: a node's slot is fixed before its children are placed
        children, value = trie[node]
        labels = sorted(children)
        need = ([0] if value is not None else []) + labels
        base = cursor
        while True:
            if base not in used_bases and base != 0 and all((base ^ c) not in units and (base ^ c) != 0
                                                             for c in need):
                break
            base += 1
        used_bases.add(base)
        while cursor in units or cursor in used_bases:
            cursor += 1
        slot = position[node]
        offset = slot ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap too large for a plain offset")
        label = units.get(slot, 0) & 0xFF if node else 0
        units[slot] = (offset << 10) | ((1 << 8) if value is not None else 0) | label
        if value is not None:
            units[base] = _LEAF_BIT | value
        for c in labels:
            child = children[c]
            position[child] = base ^ c
            units[base ^ c] = c  # label now; offset and leaf bit when the child is visited
            order.append(child)

    size = max(units) + 1
    array = [0] * size
    for slot, unit in units.items():
        array[slot] = unit
    trie_bytes = struct.pack(f"<{size}I", *array)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)
