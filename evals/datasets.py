"""Load and validate the evaluation datasets (``evals/datasets/*.jsonl``).

Validation is strict and reports file:line, because a silently skipped or mis-typed gold item changes a
headline metric without anyone noticing. The kind of a file is recognised from its fields, so
``kota-kreatif eval run --dataset X`` works for gold, conversation and drafting files alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Fact = str | list[str]
Kind = Literal["gold", "conversations", "drafting", "support"]


class DatasetError(ValueError):
    """A dataset line is malformed; the message names the file and line."""


@dataclass
class GoldItem:
    id: str
    question: str
    reference_answer: str
    key_facts: list[Fact]
    gold_docs: list[dict[str, Any]]
    category: str
    answerable: bool | None


@dataclass
class Turn:
    question: str
    standalone: str
    key_facts: list[Fact]
    gold_docs: list[dict[str, Any]]
    answerable: bool


@dataclass
class Conversation:
    id: str
    turns: list[Turn]


@dataclass
class DraftingItem:
    id: str
    message: str
    key_facts: list[Fact]
    unanswerable: list[str]
    gold_docs: list[dict[str, Any]]


@dataclass
class SupportLabel:
    sentence: str
    passage: str
    supports: bool


@dataclass
class Dataset:
    kind: Kind
    path: Path
    items: list[Any] = field(default_factory=list)


def _fail(path: Path, line: int, msg: str) -> DatasetError:
    return DatasetError(f"{path}:{line}: {msg}")


def _facts(path: Path, line: int, raw: Any) -> list[Fact]:
    if not isinstance(raw, list):
        raise _fail(path, line, "key_facts must be a list")
    out: list[Fact] = []
    for f in raw:
        if isinstance(f, str) and f.strip():
            out.append(f)
        elif isinstance(f, list) and f and all(isinstance(a, str) and a.strip() for a in f):
            out.append(list(f))
        else:
            raise _fail(path, line, f"key fact must be a non-empty string or list of strings: {f!r}")
    return out


def _gold_docs(path: Path, line: int, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(g, dict) and isinstance(g.get("doc"), str) for g in raw):
        raise _fail(path, line, "gold_docs must be a list of {doc, section?}")
    for g in raw:
        if "section" in g and not isinstance(g["section"], str):
            raise _fail(path, line, "gold_docs section must be a string")
    return [dict(g) for g in raw]


def _str(path: Path, line: int, d: dict, key: str, *, allow_empty: bool = False) -> str:
    v = d.get(key)
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        raise _fail(path, line, f"'{key}' must be a{'' if allow_empty else ' non-empty'} string")
    return v


def detect_kind(record: dict[str, Any]) -> Kind:
    if "turns" in record:
        return "conversations"
    if "message" in record:
        return "drafting"
    if "sentence" in record and "passage" in record:
        return "support"
    return "gold"


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _fail(path, n, f"invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise _fail(path, n, "each line must be a JSON object")
            out.append((n, rec))
    return out


def load_dataset(path: Path | str, *, allow_unreviewed: bool = False) -> Dataset:
    """Read and validate a dataset file of any kind; ids must be unique.

    ``allow_unreviewed`` accepts ``answerable: null`` (feedback-export items not yet reviewed).
    """
    path = Path(path)
    rows = read_jsonl(path)
    if not rows:
        raise DatasetError(f"{path}: empty dataset")
    kind = detect_kind(rows[0][1])
    ds = Dataset(kind, path)
    seen: set[str] = set()
    for n, d in rows:
        if detect_kind(d) != kind:
            raise _fail(path, n, f"record of a different kind than the first line ({kind})")
        if kind == "support":
            if not isinstance(d.get("supports"), bool):
                raise _fail(path, n, "'supports' must be true/false")
            ds.items.append(SupportLabel(_str(path, n, d, "sentence"), _str(path, n, d, "passage"), d["supports"]))
            continue
        ident = _str(path, n, d, "id")
        if ident in seen:
            raise _fail(path, n, f"duplicate id {ident}")
        seen.add(ident)
        if kind == "gold":
            ans = d.get("answerable")
            if not isinstance(ans, bool) and not (ans is None and allow_unreviewed):
                raise _fail(path, n, "'answerable' must be true/false")
            ds.items.append(GoldItem(ident, _str(path, n, d, "question"),
                                     _str(path, n, d, "reference_answer", allow_empty=True),
                                     _facts(path, n, d.get("key_facts", [])),
                                     _gold_docs(path, n, d.get("gold_docs", [])),
                                     _str(path, n, d, "category"), ans))
        elif kind == "conversations":
            turns_raw = d.get("turns")
            if not isinstance(turns_raw, list) or not turns_raw:
                raise _fail(path, n, "'turns' must be a non-empty list")
            turns = []
            for i, t in enumerate(turns_raw, 1):
                if not isinstance(t, dict) or not isinstance(t.get("answerable"), bool):
                    raise _fail(path, n, f"turn {i}: needs question, standalone, answerable")
                turns.append(Turn(_str(path, n, t, "question"), _str(path, n, t, "standalone"),
                                  _facts(path, n, t.get("key_facts", [])), _gold_docs(path, n, t.get("gold_docs", [])),
                                  t["answerable"]))
            ds.items.append(Conversation(ident, turns))
        else:
            unans = d.get("unanswerable", [])
            if not isinstance(unans, list) or not all(isinstance(u, str) for u in unans):
                raise _fail(path, n, "'unanswerable' must be a list of strings")
            ds.items.append(DraftingItem(ident, _str(path, n, d, "message"), _facts(path, n, d.get("key_facts", [])),
                                         list(unans), _gold_docs(path, n, d.get("gold_docs", []))))
    return ds


def sample_dataset(ds: Dataset, spec: str, seed: int) -> Dataset:
    """A fixed, reproducible subset of ``ds``: ``spec`` is ``N`` (N items) or, for gold sets, ``N,M`` (N answerable
    and M unanswerable items). Items are drawn with ``random.Random(seed)`` from the dataset's own order and kept in
    that order, so the same file, spec and seed always give the same items (slow runs, such as a local LLM at
    ~35 s per answer, are planned on such samples and compared item by item)."""
    import random

    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"sample must be N or N,M (answerable,unanswerable): {spec!r}")
    rng = random.Random(seed)
    if len(parts) == 2:
        if ds.kind != "gold":
            raise ValueError("N,M samples (answerable,unanswerable) apply to gold sets only")
        pools = [[i for i, it in enumerate(ds.items) if it.answerable is True],
                 [i for i, it in enumerate(ds.items) if it.answerable is False]]
        want = [int(parts[0]), int(parts[1])]
    else:
        pools = [list(range(len(ds.items)))]
        want = [int(parts[0])]
    chosen: set[int] = set()
    for pool, n in zip(pools, want, strict=True):
        if n > len(pool):
            raise ValueError(f"sample asks for {n} items but only {len(pool)} are available in {ds.path}")
        chosen.update(rng.sample(pool, n))
    return Dataset(ds.kind, ds.path, [it for i, it in enumerate(ds.items) if i in chosen])
