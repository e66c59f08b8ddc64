"""Integrity checks for corpus/ and evals/datasets/.

Uses only PyYAML and the standard library (no project imports).

Fact sheets are located via the env var KK_FACTS_DIR, defaulting to the first
`shared/facts` folder found by walking up from the repository root (normally
``<repo>/../shared/facts``). Checks that need the sheets are skipped, with a
reason, when the folder cannot be found.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path

import pytest
import yaml

# Minimum share of C2 fact rows (sections A-F of both sheets) that must be cited
# in some corpus document's `facts:` list. Set to the coverage measured on the
# complete corpus; raise it when coverage improves, never lower it silently.
C2_COVERAGE_THRESHOLD = 1.0

MIN_GOLD = 150
MIN_UNANSWERABLE = 25
MIN_KONFLIK = 10
MIN_CONVERSATIONS = 15
MIN_DRAFTING = 10
MIN_WORDS, MAX_WORDS = 400, 1500

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DATASETS = REPO / "evals" / "datasets"
FACT_SHEETS = ("uccn-and-policy-facts.md", "uccn-application-facts.md")

GOLD_CATEGORIES = {
    "sejarah-misi",
    "bidang-kreatif",
    "jumlah-anggota",
    "pendaftaran",
    "seleksi-nasional",
    "kewajiban",
    "konferensi",
    "anggota-indonesia",
    "arsitektur",
    "asta-cita",
    "kementerian",
    "subsektor",
    "regulasi",
    "data",
    "kata-kreatif",
    "iccn",
    "acara",
    "konflik",
    "tidak-terjawab",
    "di-luar-cakupan",
}
UNANSWERABLE_CATEGORIES = {"tidak-terjawab", "di-luar-cakupan"}


# --------------------------------------------------------------------------- helpers


def find_facts_dir() -> Path | None:
    env = os.environ.get("KK_FACTS_DIR")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    for base in (REPO, *REPO.parents):
        cand = base / "shared" / "facts"
        if cand.is_dir():
            return cand
    return None


FACTS_DIR = find_facts_dir()
_SKIP_FACTS = (
    f"fact sheets not found: KK_FACTS_DIR={os.environ['KK_FACTS_DIR']!r} is not a directory"
    if os.environ.get("KK_FACTS_DIR")
    else f"fact sheets not found: no shared/facts folder above {REPO} (set KK_FACTS_DIR)"
)

_ID_RE = re.compile(r"^[A-F]\d+[a-z]?$")
_RANGE_RE = re.compile(r"\*\*([A-F])(\d+)\s*[–-]\s*\1(\d+)\b")


def parse_fact_rows(text: str) -> dict[str, str]:
    """Return {row_id: confidence_cell} for one fact sheet.

    Rows look like ``| ID | fact | source(s) | date | confidence |`` (both sheets
    use five columns; the date header differs: "Date" vs "Source date").
    Continuation rows (empty first cell) are ignored. A bold block heading such
    as ``**C1–C8: ...** ... Confidence: **C2**`` also defines ids C1..C8.
    """
    rows: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not (s.startswith("|") and s.endswith("|")):
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if len(cells) < 5:
            continue
        rid = cells[0].strip("* ")
        if _ID_RE.match(rid):
            rows[rid] = cells[-1]
    for para in re.split(r"\n\s*\n", text):
        m = _RANGE_RE.search(para)
        if not m:
            continue
        letter, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
        conf = re.search(r"Confidence:\s*\*\*(C2|C1|X)\*\*", para)
        for n in range(lo, hi + 1):
            rows.setdefault(f"{letter}{n}", conf.group(1) if conf else "")
    return rows


def load_fact_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for name in FACT_SHEETS:
        rows.update(parse_fact_rows((FACTS_DIR / name).read_text(encoding="utf-8")))
    return rows


def is_c2(conf: str) -> bool:
    """A row is C2 when its confidence label starts with C2 (e.g. "C2", "C2 (date C1)")."""
    return conf.strip().strip("*").startswith("C2")


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.md") if p.name != "README.md")


def split_front_matter(text: str) -> tuple[dict | None, str]:
    m = re.match(r"^---\s*\n(.*?)\n---\s*\n(.*)$", text, re.S)
    if not m:
        return None, text
    return yaml.safe_load(m.group(1)), m.group(2)


def load_doc(path: Path) -> tuple[dict | None, str]:
    return split_front_matter(path.read_text(encoding="utf-8"))


def word_count(body: str) -> int:
    return sum(1 for tok in body.split() if re.search(r"\w", tok))


def headings(body: str) -> list[str]:
    return [re.sub(r"^#+\s*", "", ln).strip() for ln in body.splitlines() if re.match(r"^#{1,6}\s", ln)]


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().strip("#").strip()).casefold().rstrip("?.:")


def readme_topics() -> set[str]:
    text = (CORPUS / "README.md").read_text(encoding="utf-8")
    m = re.search(r"Topics:(.*?)(?:\n\s*\n|$)", text, re.S)
    assert m, "corpus/README.md has no 'Topics:' list"
    return set(re.findall(r"`([a-z0-9-]+)`", m.group(1)))


def read_jsonl(name: str) -> list[dict]:
    path = DATASETS / name
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:  # pragma: no cover - reported by assert
                    raise AssertionError(f"{name}:{n}: invalid JSON: {e}") from e
    return rows


def c2_coverage() -> tuple[int, int, list[str], list[str]]:
    """Return (covered, total, covered_ids, missing_ids) over C2 rows of both sheets."""
    rows = load_fact_rows()
    c2 = sorted((r for r, conf in rows.items() if is_c2(conf)), key=_id_key)
    cited: set[str] = set()
    for p in corpus_files():
        fm, _ = load_doc(p)
        if isinstance(fm, dict) and isinstance(fm.get("facts"), list):
            cited.update(str(f) for f in fm["facts"])
    covered = [r for r in c2 if r in cited]
    missing = [r for r in c2 if r not in cited]
    return len(covered), len(c2), covered, missing


def _id_key(rid: str):
    m = re.match(r"([A-F])(\d+)([a-z]?)", rid)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (rid, 0, "")


def _is_key_fact_list(kf) -> bool:
    if not isinstance(kf, list):
        return False
    for item in kf:
        if isinstance(item, str):
            if not item.strip():
                return False
        elif isinstance(item, list):
            if not item or not all(isinstance(a, str) and a.strip() for a in item):
                return False
        else:
            return False
    return True


def _check_gold_docs(gds, where: str, doc_ids: set[str], errors: list[str], allow_empty: bool):
    if not isinstance(gds, list) or (not gds and not allow_empty):
        errors.append(f"{where}: gold_docs must be a {'list' if allow_empty else 'non-empty list'}")
        return
    for g in gds:
        if not isinstance(g, dict) or not isinstance(g.get("doc"), str):
            errors.append(f"{where}: bad gold_docs entry {g!r}")
            continue
        if g["doc"] not in doc_ids:
            errors.append(f"{where}: unknown doc id {g['doc']!r}")
        if "section" in g and not isinstance(g["section"], str):
            errors.append(f"{where}: section must be a string")


# --------------------------------------------------------------------------- corpus

DOCS = corpus_files()


def test_corpus_not_empty():
    assert DOCS, "corpus/ has no documents"


@pytest.mark.parametrize("path", DOCS, ids=[p.stem for p in DOCS])
def test_front_matter(path: Path):
    fm, body = load_doc(path)
    assert isinstance(fm, dict), f"{path.name}: missing or invalid YAML front matter"
    errs = []
    if fm.get("id") != path.stem:
        errs.append(f"id {fm.get('id')!r} != file stem {path.stem!r}")
    if not (isinstance(fm.get("title"), str) and fm["title"].strip()):
        errs.append("title missing")
    if fm.get("language") != "id":
        errs.append(f"language {fm.get('language')!r} != 'id'")
    topics = readme_topics()
    if fm.get("topic") not in topics:
        errs.append(f"topic {fm.get('topic')!r} not in {sorted(topics)}")
    upd = fm.get("updated")
    if isinstance(upd, str):
        try:
            _dt.date.fromisoformat(upd)
        except ValueError:
            errs.append(f"updated {upd!r} is not a date")
    elif not isinstance(upd, _dt.date):
        errs.append(f"updated {upd!r} is not a date")
    src = fm.get("sources")
    if not (isinstance(src, list) and src):
        errs.append("sources must be a non-empty list")
    else:
        for i, s in enumerate(src):
            if not isinstance(s, dict):
                errs.append(f"sources[{i}] is not a mapping")
                continue
            for k in ("url", "title", "date"):
                v = s.get(k)
                if v is None or (isinstance(v, str) and not v.strip()):
                    errs.append(f"sources[{i}].{k} missing")
    facts = fm.get("facts")
    if not (isinstance(facts, list) and facts and all(isinstance(f, str) for f in facts)):
        errs.append("facts must be a non-empty list of ids")
    assert not errs, f"{path.name}: " + "; ".join(errs)


@pytest.mark.parametrize("path", DOCS, ids=[p.stem for p in DOCS])
def test_body_length(path: Path):
    _, body = load_doc(path)
    n = word_count(body)
    assert MIN_WORDS <= n <= MAX_WORDS, f"{path.name}: body has {n} words (want {MIN_WORDS}-{MAX_WORDS})"


@pytest.mark.skipif(FACTS_DIR is None, reason=_SKIP_FACTS)
@pytest.mark.parametrize("path", DOCS, ids=[p.stem for p in DOCS])
def test_fact_ids_exist(path: Path):
    known = load_fact_rows()
    fm, _ = load_doc(path)
    facts = (fm or {}).get("facts") or []
    unknown = [f for f in facts if str(f) not in known]
    assert not unknown, f"{path.name}: fact ids not in the fact sheets: {unknown}"


def test_fact_sheet_parser_sees_rows():
    if FACTS_DIR is None:
        pytest.skip(_SKIP_FACTS)
    rows = load_fact_rows()
    for rid in ("A1", "B8", "C0", "D12", "E1", "F1", "F64"):
        assert rid in rows, f"parser missed row {rid}"
    assert sum(is_c2(c) for c in rows.values()) > 50


def format_c2_coverage() -> str:
    n, total, _, missing = c2_coverage()
    ratio = n / total if total else 1.0
    return f"C2 fact coverage: {n}/{total} = {ratio:.1%}\nmissing C2 ids: {', '.join(missing) if missing else 'none'}"


def test_c2_fact_coverage(capsys):
    if FACTS_DIR is None:
        pytest.skip(_SKIP_FACTS)
    n, total, _, missing = c2_coverage()
    ratio = n / total if total else 1.0
    with capsys.disabled():
        print("\n" + format_c2_coverage())
    assert ratio >= C2_COVERAGE_THRESHOLD, (
        f"C2 coverage {n}/{total} = {ratio:.1%} < {C2_COVERAGE_THRESHOLD:.0%}; missing: {missing}"
    )


# --------------------------------------------------------------------------- datasets


def _doc_ids() -> set[str]:
    return {p.stem for p in DOCS}


def _doc_headings() -> dict[str, set[str]]:
    return {p.stem: {_norm(h) for h in headings(load_doc(p)[1])} for p in DOCS}


# The gold set; the focal-point dev set (fresh questions used to find answer failures, 2026-12-05); and three sets
# each written before the changes it judged and run once after them (README, "Quality").
QUESTION_SETS = ("gold.jsonl", "focal_dev.jsonl", "focal_holdout.jsonl", "focal_holdout2.jsonl",
                 "focal_holdout3.jsonl", "focal_holdout4.jsonl", "focal_holdout5.jsonl", "focal_holdout6.jsonl",
                 "focal_holdout7.jsonl", "focal_holdout8.jsonl", "focal_holdout9.jsonl")
CONVERSATION_SETS = ("conversations.jsonl", "conversations_holdout.jsonl", "conversations_holdout2.jsonl")


@pytest.mark.parametrize("name", QUESTION_SETS)
def test_gold_rows(name: str):
    rows = read_jsonl(name)
    ids, errs = set(), []
    doc_ids = _doc_ids()
    for r in rows:
        w = f"{name} {r.get('id')}"
        for k, t in (
            ("id", str),
            ("question", str),
            ("reference_answer", str),
            ("category", str),
            ("answerable", bool),
            ("key_facts", list),
            ("gold_docs", list),
        ):
            if not isinstance(r.get(k), t):
                errs.append(f"{w}: field {k!r} missing or not {t.__name__}")
        if r.get("id") in ids:
            errs.append(f"{w}: duplicate id")
        ids.add(r.get("id"))
        if r.get("category") not in GOLD_CATEGORIES:
            errs.append(f"{w}: unknown category {r.get('category')!r}")
        if not _is_key_fact_list(r.get("key_facts")):
            errs.append(f"{w}: bad key_facts")
        if r.get("answerable") is True and not r.get("key_facts"):
            errs.append(f"{w}: answerable row without key_facts")
        if r.get("answerable") is False and r.get("key_facts"):
            errs.append(f"{w}: unanswerable row must have key_facts []")
        if (r.get("category") in UNANSWERABLE_CATEGORIES) == bool(r.get("answerable")):
            errs.append(f"{w}: answerable must be false exactly for {sorted(UNANSWERABLE_CATEGORIES)}")
        _check_gold_docs(r.get("gold_docs"), w, doc_ids, errs, allow_empty=not r.get("answerable"))
    assert not errs, "\n".join(errs)


def test_gold_counts():
    rows = read_jsonl("gold.jsonl")
    unans = sum(1 for r in rows if r.get("answerable") is False)
    konflik = sum(1 for r in rows if r.get("category") == "konflik")
    assert len(rows) >= MIN_GOLD, f"{len(rows)} gold rows < {MIN_GOLD}"
    assert unans >= MIN_UNANSWERABLE, f"{unans} unanswerable < {MIN_UNANSWERABLE}"
    assert konflik >= MIN_KONFLIK, f"{konflik} konflik < {MIN_KONFLIK}"


@pytest.mark.parametrize("name", CONVERSATION_SETS)
def test_conversations(name: str):
    rows = read_jsonl(name)
    assert len(rows) >= MIN_CONVERSATIONS, f"{len(rows)} conversations < {MIN_CONVERSATIONS}"
    errs, doc_ids = [], _doc_ids()
    for r in rows:
        w = f"conversation {r.get('id')}"
        turns = r.get("turns")
        if not isinstance(r.get("id"), str) or not isinstance(turns, list) or not 2 <= len(turns) <= 4:
            errs.append(f"{w}: needs id and 2-4 turns")
            continue
        for i, t in enumerate(turns):
            wt = f"{w} turn {i + 1}"
            for k, ty in (
                ("question", str),
                ("standalone", str),
                ("key_facts", list),
                ("gold_docs", list),
                ("answerable", bool),
            ):
                if not isinstance(t.get(k), ty):
                    errs.append(f"{wt}: field {k!r} missing or not {ty.__name__}")
            if not _is_key_fact_list(t.get("key_facts")):
                errs.append(f"{wt}: bad key_facts")
            if t.get("answerable") is False and t.get("key_facts"):
                errs.append(f"{wt}: unanswerable turn must have key_facts []")
            _check_gold_docs(t.get("gold_docs"), wt, doc_ids, errs, allow_empty=not t.get("answerable"))
    assert not errs, "\n".join(errs)


def test_drafting():
    rows = read_jsonl("drafting.jsonl")
    assert len(rows) >= MIN_DRAFTING, f"{len(rows)} drafting items < {MIN_DRAFTING}"
    errs, doc_ids = [], _doc_ids()
    for r in rows:
        w = f"drafting {r.get('id')}"
        for k, ty in (("id", str), ("message", str), ("key_facts", list), ("unanswerable", list), ("gold_docs", list)):
            if not isinstance(r.get(k), ty):
                errs.append(f"{w}: field {k!r} missing or not {ty.__name__}")
        if not _is_key_fact_list(r.get("key_facts")):
            errs.append(f"{w}: bad key_facts")
        if not all(isinstance(u, str) and u.strip() for u in r.get("unanswerable") or []):
            errs.append(f"{w}: unanswerable must be a list of strings")
        _check_gold_docs(r.get("gold_docs"), w, doc_ids, errs, allow_empty=False)
    assert not errs, "\n".join(errs)


def test_support_labels():
    rows = read_jsonl("support_labels.jsonl")
    assert len(rows) >= 80, f"{len(rows)} support labels < 80"
    errs = [
        f"row {i}"
        for i, r in enumerate(rows, 1)
        if not (
            isinstance(r.get("sentence"), str)
            and r["sentence"].strip()
            and isinstance(r.get("passage"), str)
            and r["passage"].strip()
            and isinstance(r.get("supports"), bool)
        )
    ]
    assert not errs, "bad support_labels rows: " + ", ".join(errs)
    pos = sum(r["supports"] for r in rows)
    assert 0.35 <= pos / len(rows) <= 0.65, f"support labels unbalanced: {pos}/{len(rows)} positive"


def test_gold_doc_sections_are_headings():
    """A gold_docs `section`, when given, must be a heading of that document."""
    heads = _doc_headings()
    errs = []
    items = [(f"{name} {r.get('id')}", r.get("gold_docs") or []) for name in QUESTION_SETS for r in read_jsonl(name)]
    for c in (c for name in CONVERSATION_SETS for c in read_jsonl(name)):
        items += [
            (f"conversation {c.get('id')} turn {i + 1}", t.get("gold_docs") or [])
            for i, t in enumerate(c.get("turns") or [])
        ]
    items += [(f"drafting {d.get('id')}", d.get("gold_docs") or []) for d in read_jsonl("drafting.jsonl")]
    for where, gds in items:
        for g in gds:
            sec = g.get("section") if isinstance(g, dict) else None
            if sec and g.get("doc") in heads and _norm(sec) not in heads[g["doc"]]:
                errs.append(f"{where}: section {sec!r} is not a heading of {g['doc']}")
    assert not errs, "\n".join(errs)


if __name__ == "__main__":  # python tests/test_corpus_integrity.py -> coverage report
    print(format_c2_coverage() if FACTS_DIR else _SKIP_FACTS)
