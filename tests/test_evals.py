"""Unit tests for evals/: metrics on hand-computed cases, the support scorer, datasets, reports, the retrieval
bench on a tiny synthetic benchmark, the runner and the feedback export."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.support import SupportScorer, names, numbers
from evals import metrics as M
from evals.datasets import DatasetError, load_dataset
from evals.support import calibrate

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "evals" / "datasets"
EVAL_RUN = Path("/work/shared/benchmarks/eval_run.py")


# --------------------------------------------------------------------------- retrieval metrics
RANKED = [("a", "Intro"), ("b", "Sejarah > Pendirian"), ("a", "Lain"), ("c", ""), ("d", "")]


def test_recall_at_k_counts_gold_docs_found():
    gold = [{"doc": "b"}, {"doc": "c"}]
    assert M.recall_at_k(RANKED, gold, 1) == 0.0
    assert M.recall_at_k(RANKED, gold, 2) == 0.5
    assert M.recall_at_k(RANKED, gold, 4) == 1.0


def test_mrr_uses_first_relevant_rank():
    assert M.mrr_at_k(RANKED, [{"doc": "c"}, {"doc": "d"}]) == pytest.approx(1 / 4)
    assert M.mrr_at_k(RANKED, [{"doc": "zzz"}]) == 0.0
    assert M.mrr_at_k(RANKED, [{"doc": "d"}], k=4) == 0.0  # beyond k


def test_ndcg_credits_each_gold_doc_once():
    # gold a (rank 1) and c (rank 4); the second chunk of a at rank 3 earns nothing.
    dcg = 1 / math.log2(2) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert M.ndcg_at_k(RANKED, [{"doc": "a"}, {"doc": "c"}]) == pytest.approx(dcg / idcg)
    assert M.ndcg_at_k(RANKED, [{"doc": "a"}]) == pytest.approx(1.0)


def test_section_level_matching_is_case_insensitive_containment():
    gold = [{"doc": "b", "section": "pendirian"}]
    scores = M.retrieval_scores(RANKED, gold)
    assert scores["section_recall@3"] == 1.0 and scores["section_mrr@10"] == pytest.approx(0.5)
    assert M.recall_at_k(RANKED, [{"doc": "a", "section": "penutup"}], 5, section_level=True) == 0.0
    assert M.recall_at_k(RANKED, [{"doc": "a", "section": "penutup"}], 5) == 1.0  # doc level ignores it
    assert "section_recall@5" not in M.retrieval_scores(RANKED, [{"doc": "a"}])


# --------------------------------------------------------------------------- key facts and overlap
def test_key_facts_alternatives_accents_and_case():
    text = "Kota Montréal dan QUERETARO; kerjasama berkelanjutan sejak 2017."
    assert M.fact_present("montreal", text)
    assert M.fact_present("Querétaro", text)
    assert M.fact_present(["kerja sama", "kerjasama"], text)
    assert not M.fact_present("7", text)  # a number must stand alone, not inside 2017
    assert M.fact_present("2017", text)
    s = M.key_fact_scores(["2017", ["Bandung", "Solo"], "berkelanjutan"], text)
    assert s["coverage"] == pytest.approx(2 / 3) and s["all"] == 0.0 and s["any"] == 1.0
    assert s["missing"] == ["Bandung | Solo"]
    assert M.key_fact_scores([], text)["coverage"] is None


def test_key_fact_lead_looks_at_the_first_cited_sentence_only():
    answer = "UCCN adalah jejaring kota UNESCO. [1] UCCN dibentuk pada 2004. [2]"
    assert M.lead_sentence(answer) == "UCCN adalah jejaring kota UNESCO. [1]"
    assert M.key_fact_lead(["2004"], answer) == 0.0  # present in the answer, but not where a reader looks first
    assert M.key_fact_lead(["2004"], "UCCN dibentuk pada 2004. [1] UCCN adalah jejaring kota. [2]") == 1.0
    assert M.key_fact_lead([["jejaring", "network"], "2004"], answer) == 1.0  # any one fact leads
    assert M.lead_sentence("Tanpa sitasi. Kalimat kedua.") == "Tanpa sitasi."
    assert M.key_fact_lead([], answer) is None


def test_token_f1_hand_computed():
    # pred: a b c d, ref: a b e -> overlap 2, P = 2/4, R = 2/3, F1 = 4/7
    assert M.token_f1("a b c d", "A b e") == pytest.approx(4 / 7)
    assert M.token_f1("", "") == 1.0
    assert M.token_f1("x", "y") == 0.0


def test_rouge_l_hand_computed():
    # LCS("a b c d e", "a c e f") = a c e = 3; P = 3/5, R = 3/4 -> F = 2PR/(P+R) = 2/3
    assert M.rouge_l("a b c d e", "a c e f") == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    assert M.lcs_length(list("abcbdab"), list("bdcaba")) == 4


# --------------------------------------------------------------------------- citations
def test_parse_citations_both_marker_styles():
    extractive = M.parse_cited_sentences("UCCN dibentuk pada 2004. [1] Anggotanya 408 kota. [2][3]")
    llm = M.parse_cited_sentences("UCCN dibentuk pada 2004 [1]. Anggotanya 408 kota [2, 3].")
    for parsed in (extractive, llm):
        assert [s.citations for s in parsed] == [[1], [2, 3]]
        assert parsed[0].text == "UCCN dibentuk pada 2004."


def test_parse_citations_splits_clauses_and_marks_meta():
    parsed = M.parse_cited_sentences("Tujuan pertama; [1] tujuan kedua. [2] Catatan: sumber berbeda ([1] dan [2]).")
    assert [(s.text, s.citations, s.meta) for s in parsed] == [
        ("Tujuan pertama;", [1], False), ("tujuan kedua.", [2], False),
        ("Catatan: sumber berbeda ( dan ).", [1, 2], True)]
    assert M.parse_cited_sentences("Tanpa sitasi.")[0].citations == []
    # A reply letter speaks as "kami": its "documents do not say" preface is still not a claim.
    letter = M.parse_cited_sentences("Dokumen yang kami miliki tidak memuat informasi pasti tentang hal ini. "
                                     "Belum ada informasi resmi tentang biaya. [1]")
    assert [s.meta for s in letter] == [True, False]


def test_citation_scores_alce_rules():
    passages = {1: "alpha beta", 2: "gamma", 3: "unrelated"}

    def supports(sentence: str, passage: str) -> bool:
        return all(w in passage.split() for w in sentence.rstrip(".").split())

    ans = "alpha beta [1][3]. alpha gamma [1][2]. delta [2]. beta [9]."
    res = M.citation_scores(ans, passages, supports)
    # sentence recall: s1 yes, s2 yes (jointly), s3 no, s4 no (invalid citation) -> 2/4
    assert res["citation_recall"] == pytest.approx(0.5)
    # citations: s1 [1] ok, [3] not; s2 [1] ok (needed), [2] ok (needed); s3 [2] no; s4 [9] invalid -> 3/6
    assert res["citation_precision"] == pytest.approx(0.5)
    none = M.citation_scores("Maaf, informasi tersebut tidak ada.", passages, supports)
    assert none["citation_recall"] is None and none["citation_precision"] is None


# --------------------------------------------------------------------------- support scorer
PASSAGE = ("Konferensi Tahunan UCCN ke-16 berlangsung di Braga, Portugal, pada 1–5 Juli 2024. Sekitar 350 "
           "delegasi dari lebih dari 100 negara hadir. Hingga 2025 tercatat 86 kabupaten/kota mengikuti PMK3I; "
           "41 daerah ditetapkan.")


@pytest.mark.parametrize("sentence,expected", [
    ("Konferensi Tahunan UCCN ke-16 berlangsung di Braga, Portugal, pada 1–5 Juli 2024.", True),  # verbatim
    ("Sekitar 350 delegasi menghadiri konferensi di Braga.", True),
    ("Konferensi Braga dihadiri sekitar 550 delegasi.", False),  # wrong number
    ("Konferensi Tahunan UCCN ke-16 berlangsung di Braga pada Agustus 2024.", False),  # wrong month
    ("Konferensi Tahunan UCCN ke-16 berlangsung di Lisbon, Portugal.", False),  # wrong name
    ("Sebanyak 41 kabupaten/kota mengikuti PMK3I.", False),  # right number, wrong unit
    ("Kementerian Ekonomi Kreatif mengenal tujuh belas subsektor.", False),  # unrelated
])
def test_support_scorer_clear_cases(sentence, expected):
    assert SupportScorer(threshold=0.55).supports(sentence, PASSAGE) is expected


def test_support_helpers():
    assert numbers("tujuh anggota, dua puluh lima kota, bidang kedelapan, 1.500 orang, 26,47 juta") == {
        7.0, 25.0, 8.0, 1500.0, 26.47}
    assert numbers("salah satu tahap") == set()
    assert names("Creative Cities Connect dibuka Menteri di Thamrin Nine.") == {
        "cities", "connect", "menteri", "thamrin", "nine"}


def test_calibration_reports_table_and_writes_threshold(tmp_path):
    labels = tmp_path / "labels.jsonl"
    rows = [{"sentence": "UCCN didirikan UNESCO pada 2004.", "passage": "UCCN dibentuk UNESCO pada tahun 2004.",
             "supports": True},
            {"sentence": "UCCN didirikan UNESCO pada 2014.", "passage": "UCCN dibentuk UNESCO pada tahun 2004.",
             "supports": False}]
    labels.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "thresholds.json"
    out.write_text(json.dumps({"gate": {"recall@5": 0.9}}), encoding="utf-8")
    res = calibrate(labels, write=True, thresholds_path=out)
    assert res["accuracy"] == 1.0 and len(res["table"]) == 19
    data = json.loads(out.read_text())
    assert data["gate"] == {"recall@5": 0.9}  # other sections are kept
    assert data["support"]["threshold"] == res["threshold"] and "_note" in data["support"]


def test_stored_support_threshold_is_calibrated():
    data = json.loads((REPO / "assistant" / "support.json").read_text())
    assert 0 < data["support"]["threshold"] < 1 and data["support"]["accuracy"] >= 0.8


# --------------------------------------------------------------------------- datasets, configs, aggregation
def test_real_datasets_load():
    kinds = {f: load_dataset(DATASETS / f).kind for f in
             ("gold.jsonl", "conversations.jsonl", "drafting.jsonl", "support_labels.jsonl")}
    assert kinds == {"gold.jsonl": "gold", "conversations.jsonl": "conversations", "drafting.jsonl": "drafting",
                     "support_labels.jsonl": "support"}


def test_dataset_validation_names_the_line(tmp_path):
    good = {"id": "x1", "question": "Apa?", "reference_answer": "", "key_facts": ["a", ["b", "c"]],
            "gold_docs": [{"doc": "d"}], "category": "c", "answerable": True}
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "x2", "key_facts": [1]}) + "\n")
    with pytest.raises(DatasetError, match=r"g.jsonl:2"):
        load_dataset(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match="duplicate id"):
        load_dataset(p)


def test_parse_config():
    from evals.runner import parse_config

    c = parse_config("hybrid:w=0.2:t=0.4:k=8")
    assert c.overrides == {"retrieval_mode": "hybrid", "bm25_weight": 0.2, "abstain_threshold": 0.4, "top_k": 8}
    with pytest.raises(ValueError):
        parse_config("sparse")
    with pytest.raises(ValueError):
        parse_config("dense:nope=1")


def test_abstention_and_percentiles():
    s = M.abstention_scores([(True, False), (True, True), (False, True), (False, False), (True, False)])
    assert s["abstain_accuracy"] == pytest.approx(3 / 5)
    assert s["correct_abstain_rate"] == 0.5 and s["false_abstain_rate"] == pytest.approx(1 / 3)
    assert M.percentile([1, 2, 3, 4], 50) == 2.5 and M.percentile([5], 95) == 5.0 and M.percentile([], 50) is None


# --------------------------------------------------------------------------- report
def _fake_results() -> dict:
    items = []
    for i in range(6):
        items.append({
            "id": f"g{i}", "category": "pendaftaran" if i % 2 else "konflik", "question": f"Pertanyaan <{i}> & co?",
            "standalone_question": f"Pertanyaan <{i}> & co?", "answer": "<script>alert(1)</script> [1]",
            "abstained": i == 5, "answerable": i != 4, "key_facts": ["2004"], "missing_facts": ["2004"],
            "reference_answer": "UCCN dibentuk 2004.", "gold_docs": [{"doc": "uccn-profil"}],
            "retrieved": [{"doc_id": "uccn-profil", "section": "S", "score": 0.8, "text": "teks <b>"}],
            "timings_ms": {"retrieve": 10.0 + i, "answer": 2.0, "total": 13.0 + i}, "unsupported_sentences": [],
            "metrics": {"recall@5": 1.0, "key_fact_coverage": 0.0, "token_f1": 0.2, "rouge_l": 0.1,
                        "citation_precision": 1.0, "citation_recall": 1.0, "mrr@10": 0.5},
            "failures": ["missing_facts"], "severity": 1.0})
    from evals.runner import by_category, summarize

    return {"meta": {"kind": "gold", "config": "hybrid", "dataset": "gold.jsonl", "n": 6}, "items": items,
            "summary": summarize(items), "by_category": by_category(items), "notes": []}


def test_report_is_self_contained_and_escaped(tmp_path):
    from evals.report import write_report

    res = _fake_results()
    baseline = {"summary": {**res["summary"], "recall@5": 0.5}, "meta": {"config": "old"}, "_path": "b.json"}
    html = write_report(res, tmp_path / "report.html", baseline=baseline).read_text(encoding="utf-8")
    assert "<table class='headline'>" in html and "recall@5" in html and "baseline" in html
    assert "<img alt=" in html and "src='data:image/png;base64," in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # nothing fetched when opened offline


def test_compare_report(tmp_path):
    from evals.report import write_compare_report

    res = _fake_results()
    comp = {"dataset": "gold.jsonl", "n": 6, "summaries": {"dense": res["summary"], "bm25": res["summary"]},
            "by_category": {"dense": res["by_category"], "bm25": res["by_category"]}}
    html = write_compare_report(comp, tmp_path / "c.html").read_text(encoding="utf-8")
    assert "<th>dense</th>" in html and "data:image/png;base64," in html


# --------------------------------------------------------------------------- retrieval bench
BENCH_PASSAGES = [
    {"id": "p1", "title": "", "text": "Borobudur adalah candi Buddha terbesar, dibangun abad ke-9 di Magelang."},
    {"id": "p2", "title": "", "text": "Danau Toba di Sumatera Utara terbentuk dari letusan supervulkan."},
    {"id": "p3", "title": "", "text": "Rendang adalah masakan daging bersantan khas Minangkabau."},
    {"id": "p4", "title": "", "text": "  Komodo hidup di Pulau Komodo dan Rinca, Nusa Tenggara Timur.\n"},
    {"id": "p5", "title": "", "text": "Gamelan adalah ansambel musik tradisional Jawa dan Bali."},
]
BENCH_QUESTIONS = [
    {"id": "q1", "question": "Di mana candi Borobudur berada?", "answers": ["Magelang"], "gold_passage_ids": ["p1"],
     "split": "test"},
    {"id": "q2", "question": "Hewan komodo hidup di pulau apa?", "answers": ["Rinca"], "gold_passage_ids": ["p4"],
     "split": "test"},
    {"id": "q3", "question": "Rendang berasal dari mana?", "answers": ["Minangkabau"], "gold_passage_ids": ["p3"],
     "split": "test"},
    {"id": "q4", "question": "Apa itu gamelan?", "answers": ["musik"], "gold_passage_ids": ["p5"], "split": "train"},
]


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_retrieval_bench_tiny(tmp_path, embedder, make_settings, mode):
    from evals.retrieval_bench import passage_chunks, run_benchmark

    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "passages.jsonl").write_text("\n".join(json.dumps(p) for p in BENCH_PASSAGES), encoding="utf-8")
    (bench / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in BENCH_QUESTIONS), encoding="utf-8")
    # Each passage is exactly one chunk that embeds its untouched text (the shared cache is keyed on it).
    assert [c.embed_text for c in passage_chunks(BENCH_PASSAGES)] == [p["text"] for p in BENCH_PASSAGES]
    settings = make_settings(index_dir=tmp_path / "idx", retrieval_mode=mode, chunk_size=100_000, chunk_overlap=0)
    run_out = tmp_path / "run.jsonl"
    res = run_benchmark(bench / "passages.jsonl", bench / "questions.jsonl", run_out, settings=settings,
                        split="test", depth=20, embedder=embedder)
    assert res["n"] == 3 and res["index"]["chunks"] == 5 and not res["index"]["reused"]
    assert res["recall@5"] == 1.0 and res["recall@1"] >= 2 / 3 and res["mrr@10"] >= 2 / 3
    lines = [json.loads(x) for x in run_out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["q1", "q2", "q3"]
    # BM25 ranks only passages sharing a term with the question; dense ranks every passage.
    assert all(len(x["ranked"]) == 5 if mode == "hybrid" else 1 <= len(x["ranked"]) <= 5 for x in lines)
    again = run_benchmark(bench / "passages.jsonl", bench / "questions.jsonl", run_out, settings=settings,
                          split="test", depth=20, embedder=embedder)
    assert again["index"]["reused"] and again["recall@5"] == res["recall@5"]
    if EVAL_RUN.exists():  # the shared scorer must read our run file and agree with our numbers
        out = subprocess.run([sys.executable, str(EVAL_RUN), str(bench), str(run_out), "--split", "test"],
                             capture_output=True, text=True, check=True)
        theirs = json.loads(out.stdout)
        for k in ("recall@1", "recall@5", "recall@20", "mrr@10", "ans_hit@5"):
            assert theirs[k] == res[k], k


# --------------------------------------------------------------------------- runner
def test_runner_gold_conversation_and_drafting(tmp_path, corpus_index, embedder):
    from evals.runner import Evaluator, write_results

    idx = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"id": "t1", "question": "Kapan UCCN dibentuk?", "reference_answer": "UCCN dibentuk pada 2004.",
         "key_facts": ["2004"], "gold_docs": [{"doc": "uccn-profil"}], "category": "sejarah-misi",
         "answerable": True},
        {"id": "t2", "question": "Siapa pemenang Piala Dunia sepak bola 1986?", "reference_answer": "",
         "key_facts": [], "gold_docs": [], "category": "di-luar-cakupan", "answerable": False},
    ]), encoding="utf-8")
    ev = Evaluator(corpus_index.model_copy(update={"index_dir": idx}), embedder=embedder)
    try:
        res = ev.run(gold)
        conv = ev.run(DATASETS / "conversations.jsonl", limit=1)
        draft = ev.run(DATASETS / "drafting.jsonl", limit=2)
        a = ev.assistant()
        left = a.conversations.history(conv["items"][0]["conversation"]) if conv["items"] else []
    finally:
        ev.close()
    t1 = res["items"][0]
    assert t1["metrics"]["recall@10"] == 1.0 and "2004" in t1["answer"] and t1["retrieved"]
    assert len(t1["retrieved_ids"]) == corpus_index.top_k and t1["retrieved_docs"]
    for key in ("recall@5", "mrr@10", "key_fact_coverage", "citation_precision", "citation_recall",
                "abstain_accuracy", "false_abstain_rate", "latency_ms_p50", "latency_ms_p95"):
        assert key in res["summary"], key
    assert set(res["by_category"]) == {"sejarah-misi", "di-luar-cakupan"}
    assert conv["items"] and all(it["turn"] >= 1 for it in conv["items"]) and "rewrite_f1" in conv["summary"]
    assert left == []  # eval conversations are deleted afterwards
    assert len(draft["items"]) == 2  # Assistant.draft exists: drafting is scored, not skipped
    assert all(it["answer"].startswith("Yth.") and "key_fact_coverage" in it["metrics"] for it in draft["items"])
    path = write_results(res, tmp_path / "out")
    assert json.loads(path.read_text())["summary"]["n"] == 2 and (tmp_path / "out" / "report.html").exists()


# --------------------------------------------------------------------------- feedback export
def test_feedback_export(tmp_path):
    from assistant.feedback import FeedbackStore
    from evals.feedback_export import export_feedback

    store = FeedbackStore(tmp_path / "feedback.sqlite")
    cit = [{"n": 1, "doc_id": "uccn-profil", "title": "Profil", "quote": "…"}]
    store.add("a1", "down", question="Kapan UCCN dibentuk?", answer="2014 [1]", citations=cit, comment="salah")
    store.add("a2", "down", question="kapan  uccn DIBENTUK?", answer="2014 [1]", citations=cit)
    store.add("a3", "up", question="Apa itu ICCN?", answer="…")
    store.add("a4", "down", question="Berapa anggota UCCN?", answer="Maaf …")
    store.close()
    out = tmp_path / "review.jsonl"
    assert export_feedback(tmp_path, out) == 2
    items = [json.loads(x) for x in out.read_text().splitlines()]
    first = items[0]
    assert first["question"] == "Kapan UCCN dibentuk?" and first["review"]["votes"] == 2
    assert first["reference_answer"] == "" and first["key_facts"] == [] and first["category"] == "feedback"
    assert first["answerable"] is None and first["review"]["bad_answers"][0]["citations"][0]["doc_id"] == "uccn-profil"
    assert load_dataset(out, allow_unreviewed=True).kind == "gold"
    assert export_feedback(tmp_path / "nothing-here", tmp_path / "empty.jsonl") == 0
    assert not (tmp_path / "nothing-here" / "feedback.sqlite").exists()


# --------------------------------------------------------------------------- CLI
def test_cli_is_attached_and_cheap_to_import():
    code = ("import sys, evals.cli; heavy = [m for m in ('numpy', 'matplotlib', 'chromadb', 'assistant.assistant') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
    from typer.testing import CliRunner

    from assistant.cli import app

    res = CliRunner().invoke(app, ["eval", "--help"])
    assert res.exit_code == 0 and "retrieval" in res.output and "feedback-export" in res.output


def test_retrieval_misses_tell_a_subject_the_gold_passage_never_names_from_one_it_does():
    from evals.retrieval_misses import misses, names

    assert names("tahun berapakah The Greatest Showman dirilis?") == ["The Greatest Showman"]
    assert names("Apakah nama tempat wisata yang terkenal di Jepang ?") == ["Jepang"]
    passages = {"p1": "Film ini dirilis pada 20 Desember 2017.", "p2": "Mary Celeste ditemukan pada 1872.",
                "p3": "The Greatest Showman adalah film musikal."}
    questions = [{"id": "q1", "question": "Kapan The Greatest Showman dirilis?", "gold_passage_ids": ["p1"]},
                 {"id": "q2", "question": "Kapan Mary Celeste ditemukan?", "gold_passage_ids": ["p2"]},
                 {"id": "q3", "question": "Apa itu The Greatest Showman?", "gold_passage_ids": ["p3"]}]
    run = {"q1": ["p3", "p2", "p1"], "q2": ["p1", "p3", "p2"], "q3": ["p3"]}
    rows = {r["id"]: r for r in misses(run, passages, questions, k=1)}
    assert set(rows) == {"q1", "q2"}  # q3 is found at rank 1
    assert rows["q1"]["rank"] == 3 and rows["q1"]["in_gold"] == [] and rows["q1"]["in_pool"] == ["The Greatest Showman"]
    assert rows["q2"]["in_gold"] == ["Mary Celeste"]
