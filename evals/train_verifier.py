"""Train the answer verifier: a small cross-encoder that reads a question and one sentence together and says
whether the sentence holds the answer.

Why: the selector and the abstainer see features of a sentence (cosine, word overlap, value cues); a question the
passage does not answer ("Kapan organisasi itu dibubarkan?" against the paragraph on its founding) looks like an
answerable one through them (valid AUC ~0.77 with any mix of them, pooled vectors included). Reading the two texts
together is what tells "didirikan 1934" from "dibubarkan ?".

The model is the first ``--layers`` transformer layers of our converted multilingual-e5-small (``assistant.encoder``)
with a linear head over the mean of its last hidden states; word embeddings stay frozen. Data: the reader's training
groups (``evals/train_reader.py``: TyDi QA-id + FacQA-id train, IDK-MRC train, the project's train sets) as
(question, sentence) pairs — every sentence holding the answer, the selector's hardest other sentences, and the best
sentences of questions that have no answer.

    python -m evals.train_verifier --layers 4 --steps 0          # measure a step, then plan
    python -m evals.train_verifier --layers 4                    # one epoch, checkpoints in bench-out/verifier/
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench-out" / "verifier"
SEED = 0
MAX_TOKENS = 128


def pairs_from_groups(groups, score, hard: int = 3, rng: random.Random | None = None):
    """(question, sentence text, label, source) pairs: positives, the selector's ``hard`` best negatives and one
    random negative of answerable questions; the ``hard`` best sentences of unanswerable questions and of questions
    read without their gold passage."""
    rng = rng or random.Random(SEED)
    out = []
    for g in groups:
        if not len(g.labels) or g.texts is None:
            continue
        order = np.argsort(-score(g), kind="stable")
        pos = [i for i in order if g.labels[i] > 0]
        neg = [i for i in order if g.labels[i] <= 0]
        if g.kind == "answerable":
            if not pos:
                continue
            chosen = [(i, 1) for i in pos[:3]] + [(i, 0) for i in neg[:hard]]
            rest = neg[hard:]
            if rest:
                chosen.append((rng.choice(rest), 0))
        else:
            chosen = [(i, 0) for i in order[: (hard if g.kind == "unanswerable" else 2)]]
        out += [(g.question, g.texts[i], lab, g.bench) for i, lab in chosen]
    return out


class Verifier:
    """The first ``layers`` layers of the e5 folder + a linear head; ``logits(questions, sentences)``."""

    def __init__(self, folder: Path, layers: int, threads: int | None = None) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tok.enable_padding(pad_id=1, pad_token="<pad>")
        self.bert = BertModel.from_pretrained(str(folder), add_pooling_layer=False, num_hidden_layers=layers,
                                              attn_implementation="sdpa")
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.bias)
        self.bert.embeddings.word_embeddings.weight.requires_grad_(False)

    def params(self):
        return [p for p in list(self.bert.parameters()) + list(self.head.parameters()) if p.requires_grad]

    def logits(self, questions: list[str], sentences: list[str]):
        torch = self.torch
        enc = self.tok.encode_batch([(f"query: {q}", f"passage: {s}") for q, s in zip(questions, sentences,
                                                                                        strict=True)])
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
        return self.head(pooled).squeeze(-1)


def load_checkpoint(folder: Path, path: Path, threads: int | None = None) -> Verifier:
    import torch

    ckpt = torch.load(path, map_location="cpu")
    v = Verifier(folder, ckpt["layers"], threads)
    v.bert.load_state_dict(ckpt["bert"], strict=False)
    v.head.load_state_dict(ckpt["head"])
    v.bert.eval()
    return v


def evaluate(v: Verifier, groups, score, top: int = 3) -> dict:
    """On valid groups: how well the verifier's best probability over the selector's ``top`` sentences separates
    answerable from unanswerable questions (AUC; abstentions at 5 % false abstention per source), and how often
    its own choice among those sentences holds the answer."""
    import torch
    from sklearn.metrics import roc_auc_score

    rows = []
    with torch.inference_mode():
        for g in groups:
            if not len(g.labels):
                rows.append((g, None, None))
                continue
            order = np.argsort(-score(g), kind="stable")[:top]
            logit = v.logits([g.question] * len(order), [g.texts[i] for i in order]).numpy()
            rows.append((g, order, logit))
    out = {}
    for bench in sorted({g.bench for g in groups}):
        mine = [(g, o, lg) for g, o, lg in rows if g.bench == bench]
        pmax = {id(g): (float(lg.max()) if lg is not None else -99.0) for g, o, lg in mine}
        ans = [g for g, _, _ in mine if g.kind == "answerable"]
        una = [g for g, _, _ in mine if g.kind == "unanswerable"]
        t = np.quantile([pmax[id(g)] for g in ans], 0.05, method="lower")
        rec = {"n_answerable": len(ans), "n_unanswerable": len(una),
               "top1_selector": round(float(np.mean([bool(g.labels[o[0]] > 0) for g, o, _ in mine
                                                     if g.kind == "answerable" and o is not None])), 4),
               "top1_verifier": round(float(np.mean([bool(g.labels[o[int(np.argmax(lg))]] > 0) for g, o, lg in mine
                                                     if g.kind == "answerable" and o is not None])), 4)}
        if una:
            rec["auc"] = round(float(roc_auc_score([1] * len(ans) + [0] * len(una),
                                                   [pmax[id(g)] for g in ans + una])), 4)
            rec["abstained_at_fa5"] = round(float(np.mean([pmax[id(g)] < t for g in una])), 4)
            for kind in ("human", "model"):
                sel = [g for g in una if g.idk_kind == kind]
                if sel:
                    rec[f"abstained_at_fa5_{kind}"] = round(float(np.mean([pmax[id(g)] < t for g in sel])), 4)
        out[bench] = rec
    return out


def export(ckpt_path: Path, out_dir: Path, metrics: dict | None = None) -> Path:
    """The shipped verifier: the fine-tuned layers and head as fp16 safetensors, and a manifest beside them."""
    import hashlib

    import torch
    from safetensors.torch import save_file

    from assistant.encoder.convert import base_model_id

    ckpt = torch.load(ckpt_path, map_location="cpu")
    state = {f"bert.{k}": v.half().contiguous() for k, v in ckpt["bert"].items() if "word_embeddings" not in k}
    state.update({f"head.{k}": v.half().contiguous() for k, v in ckpt["head"].items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "verifier.safetensors"
    save_file(state, str(path))
    manifest = {"layers": ckpt["layers"], "steps": ckpt["step"], "base": base_model_id(),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "max_tokens": MAX_TOKENS, "seed": SEED,
                "command": "python -m evals.train_verifier --layers {} && python -m evals.train_verifier --export "
                           "bench-out/verifier/verifier-L{}.pt".format(ckpt["layers"], ckpt["layers"]),
                "data": "the reader's training groups (evals/train_reader.py: TyDi QA-id + FacQA-id train, IDK-MRC "
                        "train, the project's train sets); pairs_from_groups", "valid_metrics": metrics or {}}
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    import torch

    from evals.answer_bench import benchmarks_root
    from evals.train_reader import SELECTOR_PARAMS, bench_sources, fit_selector, load_data, project_sources

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", type=Path, help="the converted e5 folder (default: built by assistant.encoder)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--steps", type=int, default=-1, help="-1 = one epoch; 0 = time three steps and stop")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--evaluate", type=Path, help="a checkpoint: report on the valid groups instead of training")
    ap.add_argument("--export", type=Path, help="a checkpoint: evaluate it and write it to assistant/reading/model")
    args = ap.parse_args(argv)
    if args.folder is None:
        from assistant.encoder.convert import ensure_base_model

        args.folder = ensure_base_model()
    torch.manual_seed(SEED)
    random.seed(SEED)

    root = benchmarks_root()
    benches = [root / "tydiqa-id", root / "facqa-id"]
    sources = [s for b in benches for s in bench_sources(b)] + project_sources(REPO / "evals" / "datasets")
    groups = load_data(sources, {b.name: b for b in benches}, index_root=REPO / "bench-out" / "retrieval-index",
                       cache=REPO / "index" / "embedding-cache.sqlite")
    train = [g for g in groups if g.split == "train"]
    booster = fit_selector([g for g in train if g.kind == "answerable"], SELECTOR_PARAMS)

    def score(g):
        return booster.predict(g.feats, num_threads=2)

    if args.evaluate or args.export:
        valid = [g for g in groups if g.split == "valid"]
        metrics = evaluate(load_checkpoint(args.folder, args.evaluate or args.export, args.threads), valid, score)
        print(json.dumps(metrics, indent=1))
        if args.export:
            print(export(args.export, REPO / "assistant" / "reading" / "model", metrics))
        return
    pairs = pairs_from_groups(train, score)
    random.Random(SEED).shuffle(pairs)
    print(f"{len(pairs)} training pairs, {sum(p[2] for p in pairs)} positive", flush=True)
    model = Verifier(args.folder, args.layers, args.threads)
    params = model.params()
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    total = math.ceil(len(pairs) / args.batch) if args.steps < 0 else max(args.steps, 3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / total))
    args.out.mkdir(parents=True, exist_ok=True)
    log = open(args.out / "train-log.jsonl", "a")  # noqa: SIM115 - appended to for the whole run
    t0 = time.time()
    model.bert.train()
    for step in range(total):
        batch = pairs[step * args.batch: (step + 1) * args.batch]
        if not batch:
            break
        y = torch.tensor([float(p[2]) for p in batch])
        logit = model.logits([p[0] for p in batch], [p[1] for p in batch])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step < 3 or (step + 1) % 20 == 0:
            rec = {"step": step + 1, "of": total, "loss": round(float(loss), 4), "seconds": round(time.time() - t0, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, flush=True)
        if args.steps == 0 and step == 2:
            print(f"{(time.time() - t0) / 3:.1f} s per step of {args.batch}; one epoch = {total} steps")
            return
        if (step + 1) % 200 == 0 or step + 1 == total:
            state = {k: v for k, v in model.bert.state_dict().items() if "word_embeddings" not in k}
            torch.save({"step": step + 1, "layers": args.layers, "bert": state, "head": model.head.state_dict()},
                       args.out / f"verifier-L{args.layers}.pt")
    print(f"trained {total} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
