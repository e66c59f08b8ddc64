"""Self-contained HTML reports for eval runs and configuration comparisons.

One file, no CDN, no JavaScript: plots are matplotlib PNGs (Agg backend) embedded as base64, and every
piece of text from the datasets, the corpus or the answers is HTML-escaped — questions and chunks can contain
``<`` and ``&``, and a report is often mailed around and opened offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.metrics import HEADLINE, LOWER_IS_BETTER

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;color:#222;
padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;max-width:700px}
.good{color:#17803d}.bad{color:#b42318}.muted{color:#777}
.fail{border:1px solid #ddd;border-radius:6px;padding:.75rem;margin:1rem 0}
.tag{display:inline-block;background:#fdecea;color:#b42318;border-radius:4px;padding:0 .4rem;margin-right:.3rem;
font-size:.8rem}
.chunk{font-size:.85rem;color:#444;border-left:3px solid #ccd;padding-left:.5rem;margin:.3rem 0}
.gold{border-left-color:#17803d}
img{max-width:100%}
code{background:#f4f4f4;padding:0 .2rem}
"""


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def fmt(v: Any, key: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.1f}" if "ms" in key else f"{v:.3f}"
    return str(v)


def _delta_cell(key: str, value: Any, base: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(base, int | float):
        return "<td class='muted'>–</td>"
    d = value - base
    if abs(d) < 1e-9:
        return "<td class='muted'>0</td>"
    better = d < 0 if key in LOWER_IS_BETTER else d > 0
    text = f"{d:+.1f}" if "ms" in key else f"{d:+.3f}"
    return f"<td class='{'good' if better else 'bad'}'>{text}</td>"


def headline_table(summary: dict[str, Any], baseline: dict[str, Any] | None = None,
                   keys: Sequence[str] = HEADLINE) -> str:
    """Metric | value [| baseline | Δ] — the table the report and the CLI agree on."""
    head = "<tr><th>metrik</th><th>nilai</th>" + ("<th>baseline</th><th>Δ</th>" if baseline else "") + "</tr>"
    rows = [head]
    for k in keys:
        if k not in summary and not (baseline and k in baseline):
            continue
        v = summary.get(k)
        row = f"<tr><td>{esc(k)}</td><td>{esc(fmt(v, k))}</td>"
        if baseline is not None:
            b = baseline.get(k)
            row += f"<td>{esc(fmt(b, k))}</td>{_delta_cell(k, v, b)}"
        rows.append(row + "</tr>")
    return "<table class='headline'>" + "".join(rows) + "</table>"


def category_table(by_cat: dict[str, dict[str, Any]]) -> str:
    if not by_cat:
        return "<p class='muted'>Tidak ada kategori.</p>"
    cols = list(next(iter(by_cat.values())).keys())
    rows = ["<tr><th>kategori</th>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>"]
    for cat, vals in by_cat.items():
        rows.append(f"<tr><td>{esc(cat)}</td>" + "".join(f"<td>{esc(fmt(vals.get(c), c))}</td>" for c in cols)
                    + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


# --------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{b64}'>"


def plot_categories(by_cat: dict[str, dict[str, Any]],
                    metrics: Sequence[str] = ("recall@5", "key_fact_coverage", "citation_precision",
                                              "abstain_accuracy")) -> str:
    plt = _plt()
    cats = list(by_cat)
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(cats) * len(metrics) / 2)))
    h = 0.8 / len(metrics)
    for j, m in enumerate(metrics):
        vals = [by_cat[c].get(m) or 0.0 for c in cats]
        ax.barh([i + j * h for i in range(len(cats))], vals, height=h, label=m)
    ax.set_yticks([i + 0.4 - h / 2 for i in range(len(cats))], cats)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Metrik per kategori")
    return _png(fig)


def plot_latency(items: list[dict[str, Any]]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    # Log-spaced bins: a few slow outliers (cold caches, a busy machine) would squash a linear histogram.
    every = [v for it in items for v in it.get("timings_ms", {}).values() if isinstance(v, int | float) and v > 0]
    lo, hi = (min(every), max(every)) if every else (0.1, 1.0)
    bins = [lo * (hi / lo) ** (i / 30) for i in range(31)] if hi > lo else 10
    for stage in ("total", "retrieve", "answer"):
        vals = [max(it["timings_ms"][stage], lo) for it in items if stage in it.get("timings_ms", {})]
        if vals:
            ax.hist(vals, bins=bins, alpha=0.5, label=stage)
    if hi > lo:
        ax.set_xscale("log")
    totals = sorted(it["timings_ms"]["total"] for it in items if "total" in it.get("timings_ms", {}))
    if totals:
        from evals.metrics import percentile

        for q, style in ((50, "--"), (95, ":")):
            p = percentile(totals, q)
            ax.axvline(p, color="k", linestyle=style, label=f"total p{q} = {p:.0f} ms")
    ax.set_xlabel("ms")
    ax.set_ylabel("pertanyaan")
    ax.legend(fontsize=8)
    ax.set_title("Distribusi latensi per tahap")
    return _png(fig)


def plot_scores(items: list[dict[str, Any]],
                metrics: Sequence[str] = ("key_fact_coverage", "token_f1", "rouge_l", "citation_precision",
                                          "citation_recall", "mrr@10")) -> str:
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(10, 5))
    for ax, m in zip(axes.flat, metrics, strict=False):
        vals = [it["metrics"][m] for it in items if it["metrics"].get(m) is not None]
        ax.hist(vals, bins=[i / 10 for i in range(11)], color="#4c72b0")
        ax.set_title(f"{m} (n={len(vals)})", fontsize=9)
        ax.set_xlim(0, 1)
    fig.tight_layout()
    return _png(fig)


def plot_compare(summaries: dict[str, dict[str, Any]],
                 metrics: Sequence[str] = ("recall@5", "mrr@10", "key_fact_coverage", "citation_precision",
                                           "abstain_accuracy")) -> str:
    plt = _plt()
    names = list(summaries)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    w = 0.8 / max(1, len(names))
    for j, n in enumerate(names):
        ax.bar([i + j * w for i in range(len(metrics))], [summaries[n].get(m) or 0 for m in metrics], width=w,
               label=n)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Perbandingan konfigurasi")
    return _png(fig)


# --------------------------------------------------------------------------- failures
def failure_html(item: dict[str, Any]) -> str:
    gold = {str(g["doc"]).lower() for g in item.get("gold_docs", [])}
    parts = [f"<div class='fail'><b>{esc(item['id'])}</b> <span class='muted'>{esc(item.get('category'))}, "
             f"severity {esc(item.get('severity'))}</span> "
             + "".join(f"<span class='tag'>{esc(t)}</span>" for t in item.get("failures", []))]
    parts.append(f"<p><b>Pertanyaan:</b> {esc(item.get('question'))}</p>")
    if item.get("standalone_question") and item.get("standalone_question") != item.get("question"):
        parts.append(f"<p class='muted'>dipahami sebagai: {esc(item['standalone_question'])}"
                     + (f" — diharapkan: {esc(item['expected_standalone'])}" if item.get("expected_standalone")
                        else "") + "</p>")
    parts.append(f"<p><b>Jawaban</b> ({'abstain' if item.get('abstained') else 'dijawab'}; seharusnya "
                 f"{'dijawab' if item.get('answerable') else 'abstain'}): {esc(item.get('answer'))}</p>")
    if item.get("key_facts"):
        facts = [f if isinstance(f, str) else " | ".join(f) for f in item["key_facts"]]
        missing = set(item.get("missing_facts", []))
        parts.append("<p><b>Fakta kunci:</b> " + ", ".join(
            f"<span class='{'bad' if f in missing else 'good'}'>{esc(f)}</span>" for f in facts) + "</p>")
    if item.get("reference_answer"):
        parts.append(f"<p class='muted'><b>Rujukan:</b> {esc(item['reference_answer'])}</p>")
    if item.get("unsupported_sentences"):
        parts.append("<p><b>Kalimat tanpa dukungan sitasi:</b> "
                     + " / ".join(esc(s) for s in item["unsupported_sentences"]) + "</p>")
    m = item.get("metrics", {})
    parts.append("<p class='muted'>" + ", ".join(f"{esc(k)} {esc(fmt(v, k))}" for k, v in m.items()
                                                 if k in ("recall@5", "mrr@10", "key_fact_coverage",
                                                          "citation_precision", "citation_recall")) + "</p>")
    parts.append(f"<p><b>Dokumen emas:</b> {esc(', '.join(sorted(gold)) or '–')}</p><p><b>Chunk terambil:</b></p>")
    for r in item.get("retrieved", [])[:5]:
        cls = "chunk gold" if str(r.get("doc_id", "")).lower() in gold else "chunk"
        parts.append(f"<div class='{cls}'><b>{esc(r.get('doc_id'))}</b> › {esc(r.get('section'))} "
                     f"<span class='muted'>(skor {esc(r.get('score'))})</span><br>{esc(r.get('text', '')[:300])}</div>")
    parts.append("</div>")
    return "".join(parts)


def _value(v: Any, key: str) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else fmt(v, key)


def llm_html(summary: dict[str, Any], items: list[dict[str, Any]], baseline: dict[str, Any] | None) -> str:
    """The LLM section: how answers were made and what the check did, then every item side by side (the
    baseline's answer, usually the extractive one, the model's raw output, the checked answer)."""
    llm = summary.get("llm") or {}
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_value(v, k))}</td></tr>" for k, v in llm.items())
    out = ["<h2>Jalur LLM</h2><table><tr><th>angka</th><th>nilai</th></tr>" + rows + "</table>"]
    base_items = {it["id"]: it for it in (baseline or {}).get("items") or []}
    head = ("<tr><th>item</th><th>pertanyaan</th><th>baseline</th><th>keluaran model (mentah)</th>"
            "<th>jawaban setelah cek</th><th>flag / dibuang</th></tr>")
    rows_html = []
    for it in items:
        rec = it.get("llm")
        if rec is None:
            continue
        b = base_items.get(it["id"])
        kf, bkf = it["metrics"].get("key_fact_coverage"), (b or {}).get("metrics", {}).get("key_fact_coverage")
        removed = "; ".join(f"{r['reason']}: {r['sentence']}" for r in rec.get("removed", []))
        calls = ", ".join(f"{c['role']} {c['ms'] / 1000:.1f}s" + (f" {c['error']}" if c.get("error") else "")
                          for c in rec.get("calls", []))
        rows_html.append(
            f"<tr><td>{esc(it['id'])}</td><td class='text'>{esc(it.get('question'))}</td>"
            f"<td class='text'>{esc((b or {}).get('answer', '–'))}<br><span class='muted'>fakta {esc(fmt(bkf))}"
            f"</span></td><td class='text'>{esc(rec.get('raw_text', ''))}</td>"
            f"<td class='text'>{esc(it.get('answer'))}<br><span class='muted'>fakta {esc(fmt(kf))}</span></td>"
            f"<td class='text'>{esc(', '.join(it.get('flags', [])))}<br>{esc(removed)}<br>"
            f"<span class='muted'>{esc(calls)}</span></td></tr>")
    out.append("<details open><summary>per item</summary><table>" + head + "".join(rows_html) + "</table></details>")
    return "".join(out)


def worst(items: list[dict[str, Any]], n: int = 20) -> list[dict[str, Any]]:
    bad = [it for it in items if it.get("severity", 0) > 0]
    return sorted(bad, key=lambda it: (-it["severity"], it["id"]))[:n]


# --------------------------------------------------------------------------- documents
def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='id'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>")


def render_report(results: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    meta = results.get("meta", {})
    summary = results.get("summary", {})
    items = results.get("items", [])
    base_summary = (baseline or {}).get("summary") if baseline else None
    title = f"Evaluasi {meta.get('kind', '')} — {meta.get('config', '')}"
    body = [f"<h1>{esc(title)}</h1>",
            f"<p class='muted'>dataset <code>{esc(meta.get('dataset'))}</code>, n={esc(meta.get('n'))}, "
            f"generasi {esc(meta.get('generation'))} ({esc(meta.get('chunks'))} chunk, "
            f"{esc(meta.get('documents'))} dokumen), model {esc(meta.get('embedding_model'))}, "
            f"{esc(meta.get('started_at'))}, {esc(meta.get('seconds'))} s</p>"]
    if baseline:
        bm = baseline.get("meta", {})
        body.append(f"<p class='muted'>baseline: <code>{esc(baseline.get('_path'))}</code> "
                    f"({esc(bm.get('config'))}, {esc(bm.get('started_at'))})</p>")
    for note in results.get("notes", []):
        body.append(f"<p class='bad'>{esc(note)}</p>")
    body.append("<h2>Metrik utama</h2>" + headline_table(summary, base_summary))
    extra = [k for k in summary if k not in HEADLINE and not isinstance(summary[k], dict)]
    if extra:
        body.append("<details><summary>semua metrik</summary>" + headline_table(summary, base_summary, extra)
                    + "</details>")
    if summary.get("failures"):
        body.append("<p><b>Pola kegagalan:</b> " + ", ".join(
            f"{esc(k)} ×{esc(v)}" for k, v in summary["failures"].items()) + "</p>")
    if summary.get("llm"):
        body.append(llm_html(summary, items, baseline))
    if items:
        by_cat = results.get("by_category", {})
        body.append("<h2>Per kategori</h2>" + category_table(by_cat))
        if by_cat:
            body.append(_img(plot_categories(by_cat), "metrik per kategori"))
        body.append("<h2>Latensi</h2>" + _img(plot_latency(items), "distribusi latensi"))
        body.append("<h2>Sebaran skor</h2>" + _img(plot_scores(items), "histogram skor"))
        w = worst(items)
        body.append(f"<h2>{len(w)} kegagalan terburuk</h2>" + "".join(failure_html(it) for it in w))
    return page(title, "".join(body))


def write_report(results: dict[str, Any], path: Path, baseline: dict[str, Any] | None = None) -> Path:
    path.write_text(render_report(results, baseline), encoding="utf-8")
    return path


def render_compare(comparison: dict[str, Any]) -> str:
    summaries: dict[str, dict[str, Any]] = comparison["summaries"]
    names = list(summaries)
    rows = ["<tr><th>metrik</th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"]
    for k in HEADLINE:
        vals = [summaries[n].get(k) for n in names]
        nums = [v for v in vals if isinstance(v, int | float)]
        best = (min(nums) if k in LOWER_IS_BETTER else max(nums)) if nums else None
        cells = "".join(f"<td{' class=good' if v == best and len(nums) > 1 else ''}>{esc(fmt(v, k))}</td>"
                        for v in vals)
        rows.append(f"<tr><td>{esc(k)}</td>{cells}</tr>")
    body = [f"<h1>Perbandingan konfigurasi — {esc(comparison.get('dataset'))}</h1>",
            f"<p class='muted'>n={esc(comparison.get('n'))}, {esc(comparison.get('started_at'))}; laporan per "
            f"konfigurasi ada di subfolder masing-masing.</p>",
            "<table class='headline'>" + "".join(rows) + "</table>", _img(plot_compare(summaries), "perbandingan")]
    cats = sorted({c for n in names for c in comparison.get("by_category", {}).get(n, {})})
    if cats:
        for metric in ("recall@5", "key_fact_coverage"):
            rows = ["<tr><th>kategori</th>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"]
            for c in cats:
                rows.append(f"<tr><td>{esc(c)}</td>" + "".join(
                    f"<td>{esc(fmt(comparison['by_category'][n].get(c, {}).get(metric), metric))}</td>"
                    for n in names) + "</tr>")
            body.append(f"<h2>{esc(metric)} per kategori</h2><table>" + "".join(rows) + "</table>")
    return page("Perbandingan konfigurasi", "".join(body))


def write_compare_report(comparison: dict[str, Any], path: Path) -> Path:
    path.write_text(render_compare(comparison), encoding="utf-8")
    return path
