"""The eval's view of the LLM path: fixed samples, per-call recording, replay of recorded outputs, LLM summary.

Why these matter: the real-model run takes ~35 s an answer, so it is run once on a fixed sample and its raw
outputs are replayed to measure fixes; a sample that changed between runs, a recording that lost the raw output,
or a replay that silently answered differently would make the before/after numbers meaningless.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from conftest import extractive
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answer.llm import LLMAnswerer
from assistant.models import Chunk, ScoredChunk
from evals.datasets import Dataset, GoldItem, sample_dataset
from evals.llm_eval import LLMTap, ReplayChatModel, summarize_llm

pytestmark = pytest.mark.usefixtures("real_reader")


def _gold(n: int, unanswerable_every: int = 4) -> Dataset:
    items = [GoldItem(f"x{i:03d}", f"Pertanyaan contoh {i}?", "", [], [], "contoh", i % unanswerable_every != 0)
             for i in range(n)]
    return Dataset("gold", __import__("pathlib").Path("contoh.jsonl"), items)


def test_sample_is_fixed_by_the_seed_and_keeps_dataset_order():
    ds = _gold(40)
    a, b = sample_dataset(ds, "6,3", 23), sample_dataset(ds, "6,3", 23)
    assert [i.id for i in a.items] == [i.id for i in b.items]
    assert sum(i.answerable for i in a.items) == 6 and sum(not i.answerable for i in a.items) == 3
    assert [i.id for i in a.items] == sorted(i.id for i in a.items)
    assert [i.id for i in sample_dataset(ds, "6,3", 24).items] != [i.id for i in a.items]
    with pytest.raises(ValueError):
        sample_dataset(ds, "6,30", 23)  # only 10 unanswerable items


HIT = ScoredChunk(Chunk(doc_id="contoh-profil", title="Profil Kota Contoh", section="Bidang apa?",
                        text="Kota Lembah Hijau adalah anggota jejaring kota kreatif di bidang Kerajinan sejak 2019.",
                        start=0, end=10, position=0), score=0.9, dense=0.9, bm25=5.0)
Q = "Kota Lembah Hijau anggota jejaring bidang apa?"
OUT = "Kota Lembah Hijau adalah anggota jejaring kota kreatif di bidang Kerajinan sejak 2019 [1]."


def _assistant(model) -> SimpleNamespace:
    return SimpleNamespace(answerer=LLMAnswerer(model, fallback=extractive(), timeout=10), _condenser=None)


def test_tap_records_the_raw_output_and_the_check(tmp_path):
    a = _assistant(FakeListChatModel(responses=[OUT + " Kota itu juga kota musik sejak 2001 [1]."]))
    tap = LLMTap(a)
    tap.start("x001")
    draft = a.answerer.answer(Q, [HIT])
    rec = tap.take("x001")
    assert rec["raw_text"].endswith("sejak 2001 [1].") and draft.text == OUT
    assert [r["reason"] for r in rec["removed"]] == ["unsupported"]
    assert len(rec["calls"]) == 1 and rec["calls"][0]["role"] == "answer" and rec["calls"][0]["ms"] >= 0
    assert tap.write_calls(tmp_path / "calls.jsonl") == 1
    line = json.loads((tmp_path / "calls.jsonl").read_text())
    assert line["output"] == rec["raw_text"] and line["messages"][0]["role"] == "system"
    # The replay answers the same prompt with the same output, and the check gives the same answer.
    replay = ReplayChatModel.from_file(tmp_path / "calls.jsonl")
    again = _assistant(replay).answerer.answer(Q, [HIT])
    assert again.text == draft.text and again.flags == draft.flags
    # The same context and question under a changed system prompt still replay (and are counted as such).
    from langchain_core.prompts import ChatPromptTemplate

    from assistant.answer.llm import HUMAN_TEMPLATE

    changed = _assistant(replay).answerer
    changed.prompt = ChatPromptTemplate.from_messages([("system", "Aturan lain."), ("human", HUMAN_TEMPLATE)])
    assert changed.answer(Q, [HIT]).text == draft.text and len(replay.system_changed) == 1
    # A prompt that was never recorded is a model error: the extractive answer, flagged.
    other = _assistant(replay).answerer.answer("Kota Lembah Hijau sejak kapan anggota jejaring?", [HIT])
    assert {"llm_fallback", "llm_error"} <= set(other.flags) and replay.misses


def test_llm_summary_counts_fallbacks_and_removals():
    items = [
        {"flags": ["llm"], "llm": {"calls": [{"role": "answer", "ms": 30000.0, "first_token_ms": None,
                                              "prompt_tokens": 900, "completion_tokens": 60,
                                              "completion_tokens_per_s": 2.0, "error": None}],
                                   "removed": [{"reason": "unsupported"}], "fixes": [{"reason": "repaired"}]}},
        {"flags": ["llm_fallback", "llm_timeout"], "llm": {"calls": [{"role": "answer", "ms": 60000.0,
                                                                      "error": "Timeout"}]}},
        {"flags": ["llm_skipped"], "llm": {"calls": []}},
    ]
    s = summarize_llm(items)
    assert s is not None
    assert (s["llm_answered"], s["llm_fallback"], s["llm_skipped"]) == (1, 1, 1)
    assert s["llm_answered_with_content"] == 1
    handed_over = summarize_llm([{"flags": ["llm_fallback", "llm_abstained"], "llm": {"calls": []}}])
    assert handed_over["llm_answered_with_content"] == 0 and handed_over["llm_fallback_reasons"] == {
        "llm_abstained": 1}
    assert s["llm_fallback_reasons"] == {"llm_timeout": 1} and s["sentences_removed"] == 1
    assert s["citation_fixes_by_reason"] == {"repaired": 1} and s["call_errors"] == 1
    assert s["llm_call_ms_p50"] == 30000.0 and s["completion_tokens_per_s_mean"] == 2.0
    assert summarize_llm([{"flags": []}]) is None
