"""Count the hand rules left in the reading path: regex uses and word-list strings.

The reading path is ``assistant/`` without the adapters and the modules that do not read answers (``api/``,
``documents.py``, ``chunking.py``, ``conversation.py``, ``drafting.py``, ``application_check.py``), as issue 21
defines it. A regex use is a call of ``re.compile``, ``re.search``, ``re.sub`` … in the source.

    python scripts/count_reading_rules.py
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXCLUDED = {"documents.py", "chunking.py", "conversation.py", "drafting.py", "application_check.py"}
_CALL = re.compile(r"\bre\.(?:compile|search|sub|subn|match|fullmatch|findall|finditer|split)\(")


def reading_files() -> list[Path]:
    root = REPO / "assistant"
    return sorted(p for p in root.rglob("*.py") if "api" not in p.relative_to(root).parts and p.name not in EXCLUDED)


def word_strings(path: Path) -> int:
    """String constants inside set/frozenset/list/tuple/dict literals of two or more strings: word lists."""
    n = 0
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Set | ast.List | ast.Tuple):
            elts = node.elts
        elif isinstance(node, ast.Dict):
            elts = [*node.keys, *node.values]
        else:
            continue
        strs = [e for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(strs) >= 2 and len(strs) == len(elts):
            n += len(strs)
    return n


def main() -> None:
    total_re = total_words = 0
    for p in reading_files():
        r = len(_CALL.findall(p.read_text(encoding="utf-8")))
        w = word_strings(p)
        total_re += r
        total_words += w
        if r or w:
            print(f"{p.relative_to(REPO)}: {r} regex uses, {w} word-list strings")
    print(f"total: {total_re} regex uses, {total_words} word-list strings")
    sys.exit(0)


if __name__ == "__main__":
    main()
