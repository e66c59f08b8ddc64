"""Run a dataset through the real :class:`~assistant.assistant.Assistant` and score every item.

Why through ``Assistant.ask`` and not the retriever/answerer directly: the eval must see exactly what the
API returns (question validation, follow-up rewriting, abstention, citations), otherwise a regression in
the glue would pass the gate. Retrieval metrics use a second ``retrieve(standalone, k=10)`` call on the same
assistant; its first ``top_k`` chunks are the ones ``ask`` answered from (checked and reported), and the
query vector comes from the embedder's in-memory cache, so it costs little.

Configurations are written ``mode[:key=value...]``: ``dense``, ``bm25``, ``hybrid:w=0.2``,
``hybrid:w=0.3:t=0.4``. Short keys: ``w`` bm25_weight, ``k`` top_k, ``t`` abstain_threshold, ``c``
candidates, ``s`` answer_max_sentences; any other ``Settings`` field may be named in full. All configurations
share one index (retrieval mode and fusion weight do not change what is indexed) and one embedder.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.support import SupportScorer
from evals import metrics as M
from evals.datasets import Conversation, Dataset, DraftingItem, GoldItem, load_dataset

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.config import Settings
    from assistant.embeddings import CachedEmbeddings
    from assistant.models import Answer, Chunk, ScoredChunk
    from evals.llm_eval import LLMTap

ItemProgress = Callable[[int, int], None]

_KEY_ALIASES = {"f": "fusion", "w": "bm25_weight", "k": "top_k", "t": "abstain_threshold", "c": "candidates",
                "s": "answer_max_sentences"}
MODES = ("hybrid", "dense", "bm25")
RETRIEVAL_DEPTH = 10
# Metrics reported in the summary table, in order (also the report's headline rows).
_UNKNOWN_MARKERS = re.compile(
    r"tidak (?:ada|memuat|menemukan|tersedia)|belum (?:ada|diketahui|diumumkan)|tidak diketahui|tidak dapat "
    r"(?:dipastikan|menjawab)|belum dapat dipastikan", re.I)


# --------------------------------------------------------------------------- configurations
@dataclass
class RunConfig:
    """A named set of ``Settings`` overrides (``retrieval_mode`` at least)."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_config(spec: str) -> RunConfig:
    """``hybrid:w=0.2`` → RunConfig("hybrid:w=0.2", {"retrieval_mode": "hybrid", "bm25_weight": 0.2})."""
    from pydantic import TypeAdapter

    from assistant.config import Settings

    parts = [p.strip() for p in spec.strip().split(":") if p.strip()]
    if not parts or parts[0] not in MODES:
        raise ValueError(f"configuration must start with one of {', '.join(MODES)}: {spec!r}")
    overrides: dict[str, Any] = {"retrieval_mode": parts[0]}
    fields = Settings.model_fields
    for p in parts[1:]:
        key, sep, raw = p.partition("=")
        key = _KEY_ALIASES.get(key.strip(), key.strip())
        if not sep or key not in fields:
            raise ValueError(f"unknown option {p!r} in {spec!r} (use f=, w=, k=, t=, c=, s= or a Settings field)")
        # The field's own type converts the text ("0.4" for a ``float | None`` field is 0.4, "true" a bool).
        overrides[key] = TypeAdapter(fields[key].annotation).validate_python(raw.strip())
    return RunConfig(spec.strip(), overrides)


def parse_configs(specs: str | Iterable[str]) -> list[RunConfig]:
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    return [parse_config(s) for s in items if s.strip()]


def config_slug(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z.]+", "-", name).strip("-")


# --------------------------------------------------------------------------- the evaluator
class Evaluator:
    """Owns the shared embedder and index; makes one ``Assistant`` per configuration."""

    def __init__(self, settings: Settings, embedder: CachedEmbeddings | None = None,
                 scorer: SupportScorer | None = None) -> None:
        from assistant.generators import build_embedder

        self.settings = settings
        self._own_embedder = embedder is None
        self.embedder = embedder or build_embedder(settings)
        self.scorer = scorer or SupportScorer()
        self._assistants: list[Assistant] = []

    def assistant(self, config: RunConfig | None = None) -> Assistant:
        from assistant.assistant import Assistant

        settings = self.settings.model_copy(update=config.overrides) if config else self.settings
        a = Assistant(settings, embedder=self.embedder)
        self._assistants.append(a)
        return a

    def ensure_index(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any] | None:
        """Build or refresh the index of ``corpus_dir`` when it is missing or stale; return the ingest report."""
        a = self.assistant()
        if not a.is_stale():
            return None
        report = a.ingest([Path(self.settings.corpus_dir)], progress)
        return report.model_dump()

    def close(self) -> None:
        for a in self._assistants:
            a.feedback.close()
            a.conversations.close()
        self._assistants.clear()
        if self._own_embedder:
            self.embedder.close()

    # ------------------------------------------------------------------------------------------------
    def run(self, dataset: Dataset | Path | str, config: RunConfig | None = None, *, limit: int | None = None,
            progress: ItemProgress | None = None, sample: str | None = None, seed: int = 23,
            record: Path | None = None, replay: Path | None = None,
            ids: list[str] | None = None) -> dict[str, Any]:
        """Every item of ``dataset`` through ``Assistant``; returns the results document (see ``results.json``).

        ``sample``/``seed``: a fixed subset (:func:`evals.datasets.sample_dataset`). With an LLM backend every model
        call and check is recorded per item (``item["llm"]``, ``summary["llm"]``) and, with ``record``, written as
        JSONL; ``replay`` answers from such a file instead of the server (:class:`evals.llm_eval.ReplayChatModel`).
        """
        from evals.datasets import sample_dataset
        from evals.llm_eval import LLMTap, ReplayChatModel

        ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
        if sample:
            ds = sample_dataset(ds, sample, seed)
        if ids:  # a re-run of chosen items (e.g. the ones a prompt change is meant to fix)
            ds = Dataset(ds.kind, ds.path, [it for it in ds.items if getattr(it, "id", None) in set(ids)])
        config = config or RunConfig(self.settings.retrieval_mode, {"retrieval_mode": self.settings.retrieval_mode})
        a = self.assistant(config)
        replayer = None
        if replay is not None:
            from assistant.generators import build_answerer, build_condenser

            replayer = ReplayChatModel.from_file(replay)
            s = a.settings.model_copy(update={"llm_backend": "openai", "llm_model": a.settings.llm_model or "replay"})
            a.answerer = build_answerer(s, chat_model=replayer)
            a._condenser = build_condenser(s, chat_model=replayer)
        tap = LLMTap(a, record if replay is None else None)
        # Query vectors are memoised in memory; a previous configuration's run would make this one's latency
        # look free, so each run starts cold (the on-disk passage cache is unaffected).
        qcache = getattr(self.embedder, "_qcache", None)
        if qcache is not None:
            qcache.clear()
        gen = a.generation()
        if not gen.chunks:
            raise RuntimeError(f"index in {a.settings.index_dir} is empty: run `kota-kreatif ingest` first")
        ctx = _Context(a, {c.chunk_id: c for c in gen.chunks}, self.scorer,
                       tap=tap if tap.active else None, tap_wait=a.settings.llm_timeout_seconds + 5)
        items_in = ds.items[:limit] if limit else ds.items
        t0 = time.perf_counter()
        notes: list[str] = []
        if ds.kind == "gold":
            items = _run_gold(ctx, items_in, progress)
        elif ds.kind == "conversations":
            items = _run_conversations(ctx, items_in, progress)
        elif ds.kind == "drafting":
            items, note = _run_drafting(ctx, items_in, progress)
            if note:
                notes.append(note)
        else:
            raise ValueError("support_labels.jsonl is scored by `kota-kreatif eval calibrate-support`, not `run`")
        seconds = time.perf_counter() - t0
        if tap.active and ds.kind == "drafting":
            notes.append("drafting letters are always answered extractively (assistant/drafting.py): the LLM "
                         "backend is not called for them")
        if record is not None and tap.active and replay is None:
            notes.append(f"{len(tap.calls)} LLM call(s) recorded in {record}")
        if replayer is not None:
            notes.append(f"replayed from {replay}: {len(replayer.recorded)} recorded prompt(s), "
                         f"{len(replayer.misses)} prompt(s) not found (answered as a model error), "
                         f"{len(replayer.system_changed)} matched on context and question only (the system "
                         f"prompt changed since the recording)")
        if ctx.prefix_mismatch:
            notes.append(f"{ctx.prefix_mismatch} item(s): ask() answered from chunks other than the top of "
                         f"retrieve(k={RETRIEVAL_DEPTH}); retrieval metrics may not match the answer context.")
        s = a.settings
        return {
            "meta": {
                "dataset": str(ds.path), "kind": ds.kind, "config": config.name, "n": len(items),
                "items_in_dataset": len(ds.items), "limit": limit,
                "settings": {k: _jsonable(getattr(s, k)) for k in (
                    "retrieval_mode", "bm25_weight", "top_k", "candidates", "abstain_threshold", "chunk_size",
                    "chunk_overlap", "answer_max_sentences", "answer_context_chunks", "index_dir", "corpus_dir")},
                "embedding_model": self.embedder.model_name, "generation": gen.name, "chunks": len(gen.chunks),
                "documents": len({c.doc_id for c in gen.chunks}), "support_threshold": self.scorer.threshold,
                "answerer": getattr(a.answerer, "name", type(a.answerer).__name__),
                "llm": _llm_meta(a.settings, replay) if tap.active else None,
                "sample": ({"spec": sample, "seed": seed, "only": ids, "ids": [_item_id(it) for it in ds.items]}
                           if sample or ids else None),
                "started_at": dt.datetime.now().isoformat(timespec="seconds"), "seconds": round(seconds, 2),
                "python": platform.python_version(),
            },
            "summary": summarize(items, ds.kind),
            "by_category": by_category(items, ds.kind),
            "notes": notes,
            "items": items,
        }


def _llm_meta(s: Settings, replay: Path | None) -> dict[str, Any]:
    return {"backend": s.llm_backend, "model": s.llm_model, "base_url": s.llm_base_url,
            "timeout_s": s.llm_timeout_seconds, "max_tokens": s.llm_max_tokens, "temperature": s.llm_temperature,
            "context_chunks": s.llm_context_chunks, "condense": s.llm_condense,
            "replay": str(replay) if replay else None}


def _item_id(item: Any) -> str:
    return getattr(item, "id", "")


@dataclass
class _Context:
    assistant: Assistant
    chunks: dict[str, Chunk]
    scorer: SupportScorer
    prefix_mismatch: int = 0
    tap: LLMTap | None = None
    tap_wait: float = 0.0

    def begin(self, item_id: str) -> None:
        if self.tap is not None:
            self.tap.start(item_id)

    def llm_record(self, item_id: str, record: dict[str, Any]) -> None:
        """Attach the item's LLM calls and check details (waits for a call abandoned on timeout to end)."""
        if self.tap is not None:
            record["llm"] = self.tap.take(item_id, self.tap_wait)


# --------------------------------------------------------------------------- per-item scoring
def _passage(chunk: Chunk) -> str:
    """What a cited chunk says, with its heading: the title/section often carry the subject of a sentence."""
    head = " — ".join(p for p in (chunk.title, chunk.section) if p)
    return f"{head}\n{chunk.text}" if head else chunk.text


def _retrieved_rows(hits: list[ScoredChunk]) -> list[dict[str, Any]]:
    return [{"chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "section": h.chunk.section,
             "score": round(h.score, 5), "dense": None if h.dense is None else round(h.dense, 5),
             "bm25": None if h.bm25 is None else round(h.bm25, 4), "text": h.chunk.text[:500]} for h in hits]


def score_answer(ctx: _Context, ans: Answer, hits: list[ScoredChunk], *, key_facts: list, gold_docs: list,
                 answerable: bool | None, reference: str = "") -> dict[str, Any]:
    """All metrics of one answered question (the shared core of gold, conversation and drafting items)."""
    ranked = [(h.chunk.doc_id, h.chunk.section) for h in hits]
    m: dict[str, Any] = {}
    if gold_docs:
        m.update(M.retrieval_scores(ranked, gold_docs))
    top = [h.chunk.chunk_id for h in hits[: len(ans.retrieved)]]
    if ans.retrieved and top != ans.retrieved:
        ctx.prefix_mismatch += 1
    kf = M.key_fact_scores(key_facts, ans.answer) if answerable is not False else M.key_fact_scores([], "")
    m["key_fact_coverage"], m["key_fact_all"], m["key_fact_any"] = kf["coverage"], kf["all"], kf["any"]
    m["key_fact_lead"] = M.key_fact_lead(key_facts, ans.answer) if answerable is not False else None
    if answerable and reference:
        m["token_f1"] = M.token_f1(ans.answer, reference)
        m["rouge_l"] = M.rouge_l(ans.answer, reference)
    passages: dict[int, str] = {}
    for c in ans.citations:
        chunk = ctx.chunks.get(c.chunk_id)
        passages[c.n] = _passage(chunk) if chunk is not None else c.quote
    cit = M.citation_scores(ans.answer, passages, ctx.scorer.supports)
    m["citation_precision"], m["citation_recall"] = cit["citation_precision"], cit["citation_recall"]
    if answerable is not None:
        m["abstain_correct"] = float(ans.abstained != answerable)
    record = {
        "question": ans.question, "standalone_question": ans.standalone_question, "answerable": answerable,
        "answer": ans.answer, "abstained": ans.abstained, "conflict": ans.conflict, "flags": list(ans.flags),
        "citations": [c.model_dump(include={"n", "doc_id", "section", "chunk_id", "quote"}) for c in ans.citations],
        "retrieved_ids": list(ans.retrieved),
        "retrieved_docs": [ctx.chunks[c].doc_id if c in ctx.chunks else None for c in ans.retrieved],
        "retrieved": _retrieved_rows(hits), "timings_ms": dict(ans.timings_ms), "key_facts": key_facts,
        "missing_facts": kf["missing"], "gold_docs": gold_docs, "unsupported_sentences": cit["unsupported"],
        "metrics": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()},
    }
    record["failures"], record["severity"] = classify(record)
    return record


def classify(record: dict[str, Any]) -> tuple[list[str], float]:
    """Failure tags of one item and a severity used to pick the report's worst cases.

    Tags: ``retrieval_miss`` (no gold document in the chunks the answer was built from), ``false_abstain``,
    ``missed_abstain``, ``missing_facts``, ``unsupported_citation``.
    """
    m = record["metrics"]
    tags: list[str] = []
    sev = 0.0
    if record.get("gold_docs") and m.get("recall@5", 1.0) == 0.0:
        tags.append("retrieval_miss")
        sev += 0.5
    ans = record.get("answerable")
    if ans is True and record["abstained"]:
        tags.append("false_abstain")
        sev += 1.0
    if ans is False and not record["abstained"]:
        tags.append("missed_abstain")
        sev += 1.0
    cov = m.get("key_fact_coverage")
    if ans and not record["abstained"] and cov is not None and cov < 1.0:
        tags.append("missing_facts")
        sev += 1.0 - cov
    cp, cr = m.get("citation_precision"), m.get("citation_recall")
    if (cp is not None and cp < 1.0) or (cr is not None and cr < 1.0):
        tags.append("unsupported_citation")
        sev += 0.25 * ((1 - (cp if cp is not None else 1)) + (1 - (cr if cr is not None else 1)))
    return tags, round(sev, 4)


def _run_gold(ctx: _Context, items: list[GoldItem], progress: ItemProgress | None) -> list[dict[str, Any]]:
    out = []
    a = ctx.assistant
    for i, it in enumerate(items, 1):
        ctx.begin(it.id)
        ans = a.ask(it.question, remember=False)
        hits = a.retrieve(ans.standalone_question, k=max(RETRIEVAL_DEPTH, a.settings.top_k))
        rec = score_answer(ctx, ans, hits, key_facts=it.key_facts, gold_docs=it.gold_docs,
                           answerable=it.answerable, reference=it.reference_answer)
        ctx.llm_record(it.id, rec)
        out.append({"id": it.id, "category": it.category, "reference_answer": it.reference_answer, **rec})
        if progress:
            progress(i, len(items))
    return out


def _run_conversations(ctx: _Context, convs: list[Conversation],
                       progress: ItemProgress | None) -> list[dict[str, Any]]:
    """Turns in order under one conversation id with ``remember=True``, as the chat/API does; the conversation
    is deleted afterwards so eval runs leave no memory behind."""
    out = []
    a = ctx.assistant
    for i, conv in enumerate(convs, 1):
        cid: str | None = None
        for t_i, turn in enumerate(conv.turns, 1):
            ctx.begin(f"{conv.id}#{t_i}")
            ans = a.ask(turn.question, conversation_id=cid, remember=True)
            cid = ans.conversation_id
            hits = a.retrieve(ans.standalone_question, k=max(RETRIEVAL_DEPTH, a.settings.top_k))
            rec = score_answer(ctx, ans, hits, key_facts=turn.key_facts, gold_docs=turn.gold_docs,
                               answerable=turn.answerable)
            rec["metrics"]["rewrite_f1"] = round(M.token_f1(ans.standalone_question, turn.standalone), 4)
            ctx.llm_record(f"{conv.id}#{t_i}", rec)
            out.append({"id": f"{conv.id}#{t_i}", "conversation": conv.id, "turn": t_i,
                        "category": "giliran-1" if t_i == 1 else "giliran-lanjutan",
                        "expected_standalone": turn.standalone, "reference_answer": "", **rec})
        if cid:
            a.conversations.delete(cid)
        if progress:
            progress(i, len(convs))
    return out


def _run_drafting(ctx: _Context, items: list[DraftingItem],
                  progress: ItemProgress | None) -> tuple[list[dict[str, Any]], str | None]:
    a = ctx.assistant
    draft = getattr(a, "draft", None)
    if not callable(draft):
        return [], ("drafting skipped: Assistant has no draft(message) method yet; the items were not run and "
                    "their metrics are absent (not zero).")
    out = []
    for i, it in enumerate(items, 1):
        t = time.perf_counter()
        res = draft(it.message)
        text = getattr(res, "answer", None) or getattr(res, "text", None) or str(res)
        citations = list(getattr(res, "citations", []) or [])
        passages = {}
        for c in citations:
            chunk = ctx.chunks.get(getattr(c, "chunk_id", ""))
            passages[c.n] = _passage(chunk) if chunk is not None else getattr(c, "quote", "")
        kf = M.key_fact_scores(it.key_facts, text)
        cit = M.citation_scores(text, passages, ctx.scorer.supports)
        retrieved = list(getattr(res, "retrieved", []) or [])
        ranked = [(ctx.chunks[c].doc_id, ctx.chunks[c].section) for c in retrieved if c in ctx.chunks]
        m: dict[str, Any] = {"key_fact_coverage": kf["coverage"], "key_fact_all": kf["all"], "key_fact_any": kf["any"],
                             "citation_precision": cit["citation_precision"],
                             "citation_recall": cit["citation_recall"]}
        if ranked and it.gold_docs:
            m.update(M.retrieval_scores(ranked, it.gold_docs))
        if it.unanswerable:
            m["unknown_flagged"] = float(bool(_UNKNOWN_MARKERS.search(text)))
        timings = dict(getattr(res, "timings_ms", {}) or {})
        timings.setdefault("total", round((time.perf_counter() - t) * 1000, 2))
        rec = {"id": it.id, "category": "drafting", "question": it.message, "answer": text, "abstained": False,
               "answerable": None, "citations": [c.model_dump() if hasattr(c, "model_dump") else dict(c.__dict__)
                                                 for c in citations],
               "retrieved_ids": retrieved, "retrieved": [], "key_facts": it.key_facts, "missing_facts": kf["missing"],
               "unanswerable": it.unanswerable, "gold_docs": it.gold_docs, "timings_ms": timings,
               "unsupported_sentences": cit["unsupported"], "reference_answer": "",
               "metrics": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}}
        rec["failures"], rec["severity"] = classify(rec)
        out.append(rec)
        if progress:
            progress(i, len(items))
    return out, None


# --------------------------------------------------------------------------- aggregation
def summarize(items: list[dict[str, Any]], kind: str = "gold") -> dict[str, Any]:
    """Means over the items where each metric applies, abstention rates and latency percentiles."""
    out: dict[str, Any] = {"n": len(items), "answerable": sum(1 for i in items if i.get("answerable") is True),
                           "unanswerable": sum(1 for i in items if i.get("answerable") is False)}
    keys: list[str] = []
    for it in items:
        for k in it["metrics"]:
            if k not in keys and k != "abstain_correct":
                keys.append(k)
    for k in keys:
        v = M.mean(it["metrics"].get(k) for it in items)
        out[k] = None if v is None else round(v, 4)
    out["retrieval_n"] = sum(1 for it in items if "recall@5" in it["metrics"])
    out["citation_n"] = sum(1 for it in items if it["metrics"].get("citation_recall") is not None)
    pairs = [(bool(it["answerable"]), bool(it["abstained"])) for it in items if it.get("answerable") is not None]
    out.update({k: None if v is None else round(v, 4) for k, v in M.abstention_scores(pairs).items()})
    totals = [it["timings_ms"].get("total") for it in items if it.get("timings_ms", {}).get("total") is not None]
    for q in (50, 95):
        p = M.percentile(totals, q)
        out[f"latency_ms_p{q}"] = None if p is None else round(p, 1)
    stages = sorted({k for it in items for k in it.get("timings_ms", {}) if k != "total"})
    for st in stages:
        vals = [it["timings_ms"][st] for it in items if st in it.get("timings_ms", {})]
        for q in (50, 95):
            p = M.percentile(vals, q)
            out[f"{st}_ms_p{q}"] = None if p is None else round(p, 1)
    out["failures"] = dict(Counter(t for it in items for t in it.get("failures", [])).most_common())
    from evals.llm_eval import summarize_llm

    llm = summarize_llm(items)
    if llm is not None:
        out["llm"] = llm
    if kind == "conversations":
        convs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for it in items:
            convs[it["conversation"]].append(it)
        ok = [all(_turn_ok(t) for t in turns) for turns in convs.values()]
        out["conversations"] = len(convs)
        out["conversation_success"] = round(sum(ok) / len(ok), 4) if ok else None
    return out


def _turn_ok(item: dict[str, Any]) -> bool:
    if item.get("answerable") is False:
        return bool(item["abstained"])
    cov = item["metrics"].get("key_fact_all")
    return not item["abstained"] and (cov is None or cov == 1.0)


def by_category(items: list[dict[str, Any]], kind: str = "gold") -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        groups[it.get("category") or "-"].append(it)
    out = {}
    for cat in sorted(groups):
        s = summarize(groups[cat], kind="gold")
        out[cat] = {k: s.get(k) for k in ["n", "recall@5", "mrr@10", "key_fact_coverage", "key_fact_all", "token_f1",
                                           "citation_precision", "citation_recall", "abstain_accuracy",
                                           "false_abstain_rate", "latency_ms_p50"]}
    return out


def _jsonable(v: Any) -> Any:
    return str(v) if isinstance(v, Path) else v


# --------------------------------------------------------------------------- files
def write_results(results: dict[str, Any], out_dir: Path, baseline: dict[str, Any] | None = None) -> Path:
    """``results.json`` and ``report.html`` in ``out_dir``; returns the JSON path."""
    from evals.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    if baseline is not None:
        baseline = align_baseline(results, baseline)
        results = {**results, "baseline": {"path": baseline.get("_path"), "meta": baseline.get("meta"),
                                           "summary": baseline.get("summary"),
                                           "aligned_on": baseline.get("aligned_on")}}
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    write_report(results, out_dir / "report.html", baseline=baseline)
    return path


def align_baseline(results: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """The baseline summarised over the same item ids as ``results`` (e.g. a ``--limit`` run against a full
    baseline), so deltas compare like with like; unchanged when the id sets already agree."""
    ids = {it["id"] for it in results.get("items", [])}
    base_items = baseline.get("items") or []
    if not ids or not base_items or {it["id"] for it in base_items} == ids:
        return baseline
    same = [it for it in base_items if it["id"] in ids]
    kind = (baseline.get("meta") or {}).get("kind", "gold")
    return {**baseline, "summary": summarize(same, kind), "by_category": by_category(same, kind),
            "aligned_on": len(same)}


def load_results(path: Path) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "summary" not in data:
        raise ValueError(f"{path} is not a results.json of `kota-kreatif eval run` (no summary)")
    data["_path"] = str(path)
    return data
