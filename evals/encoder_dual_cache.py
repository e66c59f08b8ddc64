"""Fill an embedding cache with a base and a fine-tuned model's passage vectors in one pass over shared layers.

    python -m evals.encoder_dual_cache --tuned FOLDER --passages P.jsonl [--passages …] --cache C.sqlite

Why: the fine-tuned model differs from the base only in its top layers (``evals/train_encoder.py`` trains the top
6), so both models' hidden states are identical up to there. One base forward, captured at the first trained
layer, plus the tuned top layers gives both vectors for ~1.5 forwards instead of 2 — on this shared 2-core machine
that is the difference between measuring a checkpoint in one sitting or not. The vectors go into the cache under
each model's own key (exactly where ``CachedEmbeddings`` looks), so ``eval retrieval`` / ``tune_fusion`` then
only embed queries. A self-check compares a few dual vectors with the tuned model's own ``E5Encoder`` first.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from assistant.encoder.encoder import WINDOW, E5Encoder


class DualEncoder:
    """The base encoder, plus a tuned model's layers from ``first`` up, fed with the base's captured states."""

    def __init__(self, base: E5Encoder, tuned: E5Encoder, first: int) -> None:
        self.base, self.tuned, self.first = base, tuned, first
        self._captured: dict = {}
        layer = base.model.encoder.layer[first]
        layer.register_forward_pre_hook(self._capture, with_kwargs=True)

    def _capture(self, module, args, kwargs):
        self._captured["h"] = args[0] if args else kwargs["hidden_states"]
        self._captured["mask"] = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)

    def pool_both(self, batch: list[tuple[int, list[int]]]) -> tuple[np.ndarray, np.ndarray]:
        import torch
        base_vecs = self.base._pool(batch)  # runs the base; the hook keeps layer ``first``'s input
        h, mask4 = self._captured["h"], self._captured["mask"]
        for layer in self.tuned.model.encoder.layer[self.first :]:
            out = layer(h, attention_mask=mask4)
            h = out[0] if isinstance(out, tuple) else out
        length = max(len(seq) for _, seq in batch) + 2
        m = torch.zeros((len(batch), length, 1), dtype=h.dtype)
        for r, (_, seq) in enumerate(batch):
            m[r, : len(seq) + 2] = 1
        return base_vecs, ((h * m).sum(1) / m.sum(1)).double().numpy()

    def encode_both(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Both models' passage vectors, windowed exactly as :meth:`E5Encoder.encode`."""
        import torch
        ids = self.base.content_ids(texts, False)
        windows = [(i, seq[a : a + WINDOW]) for i, seq in enumerate(ids) for a in range(0, max(len(seq), 1), WINDOW)]
        sums = [np.zeros((len(texts), self.base.dim)), np.zeros((len(texts), self.base.dim))]
        weights = np.zeros(len(texts))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        with torch.inference_mode():
            for s in range(0, len(order), 16):
                batch = [windows[w] for w in order[s : s + 16]]
                for k, pooled in enumerate(self.pool_both(batch)):
                    for (i, seq), vec in zip(batch, pooled, strict=True):
                        sums[k][i] += max(len(seq), 1) * vec
                for i, seq in batch:
                    weights[i] += max(len(seq), 1)
        out = []
        for acc in sums:
            v = acc / weights[:, None]
            out.append((v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)).astype(np.float32))
        return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, default=None, help="default: the converted base")
    ap.add_argument("--tuned", type=Path, required=True)
    ap.add_argument("--first-layer", type=int, default=6, help="first layer the tuned model changed")
    ap.add_argument("--passages", type=Path, action="append", required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    from assistant.embeddings import CachedEmbeddings
    from assistant.encoder.convert import ensure_base_model

    base = E5Encoder(args.base or ensure_base_model(), threads=args.threads)
    tuned = E5Encoder(args.tuned, threads=args.threads)
    dual = DualEncoder(base, tuned, args.first_layer)
    caches = [CachedEmbeddings(SimpleNamespace(model_name=e.name, dim=e.dim), args.cache) for e in (base, tuned)]
    probe = ["Bandung ditetapkan sebagai Kota Kreatif UNESCO bidang desain.", "Siapa pendiri kota ini? " * 40]
    b, t = dual.encode_both(probe)
    check = [float(x) for x in np.concatenate([(b * base.encode(probe)).sum(1), (t * tuned.encode(probe)).sum(1)])]
    print("self-check cosines", check, flush=True)
    if min(check) < 0.9999:
        raise SystemExit("dual vectors differ from the models' own: not filling the cache")
    texts = [json.loads(x)["text"] for p in args.passages for x in p.read_text().splitlines() if x.strip()]
    texts = list(dict.fromkeys(texts))
    done = [set(c.lookup(texts)) for c in caches]
    both = sorted((i for i in range(len(texts)) if i not in done[0] and i not in done[1]), key=lambda i: len(texts[i]))
    # Base already cached: the tuned model alone (12 layers) is cheaper than both (12 + 6).
    only_tuned = sorted((i for i in range(len(texts)) if i in done[0] and i not in done[1]),
                        key=lambda i: len(texts[i]))
    print(f"{len(texts)} passages: {len(both)} for both models, {len(only_tuned)} for the tuned one", flush=True)
    t0 = time.time()
    for s in range(0, len(both), 32):
        part = [texts[i] for i in both[s : s + 32]]
        vb, vt = dual.encode_both(part)
        caches[0].store(part, vb)
        caches[1].store(part, vt)
        if (s // 32) % 10 == 0:
            print(f"both {s + len(part)}/{len(both)} in {time.time() - t0:.0f} s", flush=True)
    for s in range(0, len(only_tuned), 32):
        part = [texts[i] for i in only_tuned[s : s + 32]]
        caches[1].store(part, tuned.encode(part))
        if (s // 32) % 10 == 0:
            print(f"tuned {s + len(part)}/{len(only_tuned)} in {time.time() - t0:.0f} s", flush=True)
    todo = both + only_tuned
    print(f"done: {len(todo)} passages in {time.time() - t0:.0f} s ({base.name}, {tuned.name})", flush=True)


if __name__ == "__main__":
    main()
