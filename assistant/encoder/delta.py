"""Ship a fine-tuned encoder as a small int8 delta over the converted base, and rebuild it from that delta.

Why a delta: the fine-tuned model is 470 MB in fp32, but training changes only the top encoder layers (word
embeddings frozen). Their change from the base is small and smooth, so per-row symmetric int8 of the *difference*
loses far less than int8 of the weights themselves; 1-D tensors (biases, LayerNorms) keep an fp32 delta. The
artifact (``<name>.npz``, ~11 MB for six layers) and its manifest (``<name>.json``: sha256, base, data, command,
seed, metrics) live in ``assistant/encoder/models``; the full folder is rebuilt into the encoder cache on first
use, named after the artifact's hash, so a new artifact never reuses an old folder (nor an old embedding cache
entry or Chroma collection: both key on the model name, which carries that hash).

    python -m assistant.encoder.delta make --weights bench-out/encoder-ft/best.safetensors --name e5s-ft-tydi-facqa \
        --manifest-extra bench-out/encoder-ft/ship.json
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from assistant.encoder.convert import encoder_cache_dir, ensure_base_model, file_sha256

MODELS_DIR = Path(__file__).with_name("models")


def _quantize_rows(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(d).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(d / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def make_delta(base_folder: Path, tuned: dict[str, np.ndarray]) -> bytes:
    """The npz bytes of ``tuned - base`` (int8 rows for matrices, fp32 for vectors); deterministic for its input."""
    from safetensors.numpy import load_file

    base = load_file(str(base_folder / "model.safetensors"))
    arrays: dict[str, np.ndarray] = {}
    for name in sorted(tuned):
        d = np.asarray(tuned[name], dtype=np.float32) - base[name]
        if d.ndim == 2:
            q, scale = _quantize_rows(d)
            arrays[name + "::q"] = q
            arrays[name + "::scale"] = scale
        else:
            arrays[name + "::d"] = d.astype(np.float32)
    # np.savez stamps each member with the current time; fixed stamps make the same weights give the same bytes
    # (and so the same sha256, model name, cache keys and collection).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def apply_delta(base: dict[str, np.ndarray], delta_path: Path) -> dict[str, np.ndarray]:
    """``base`` with the artifact's deltas added (a new dict; untouched tensors are shared)."""
    out = dict(base)
    with np.load(delta_path) as z:
        for key in z.files:
            name, kind = key.split("::")
            if kind == "q":
                out[name] = base[name] + z[key].astype(np.float32) * z[name + "::scale"][:, None]
            elif kind == "d":
                out[name] = base[name] + z[key]
    return out


def load_manifest(artifact: Path) -> dict:
    return json.loads(artifact.with_suffix(".json").read_text(encoding="utf-8"))


def resolve_artifact(name_or_path: str) -> Path:
    """A shipped artifact by name (``assistant/encoder/models/<name>.npz``) or an explicit ``.npz`` path."""
    p = Path(name_or_path)
    if p.suffix == ".npz" and p.exists():
        return p
    cand = MODELS_DIR / f"{name_or_path}.npz"
    if cand.exists():
        return cand
    raise FileNotFoundError(f"no encoder artifact {name_or_path!r} (looked in {MODELS_DIR})")


def ensure_tuned_model(artifact: Path, cache_dir: Path | None = None) -> Path:
    """The full folder of a fine-tuned model, rebuilt from the base and the artifact if not cached."""
    from safetensors.numpy import load_file, save_file

    manifest = load_manifest(artifact)
    sha = file_sha256(artifact)
    if manifest.get("sha256") != sha:
        raise ValueError(f"{artifact}: sha256 {sha[:12]} does not match its manifest ({manifest.get('sha256')})")
    base_folder = ensure_base_model(cache_dir)
    base_meta = json.loads((base_folder / "kk_encoder.json").read_text())
    if manifest.get("base") != base_meta["name"]:
        raise ValueError(f"{artifact} was trained on {manifest.get('base')}, the installed base is {base_meta['name']}")
    cache_dir = cache_dir or encoder_cache_dir()
    out = cache_dir / f"e5s-ft-{sha[:12]}"
    if (out / "kk_encoder.json").exists():
        return out
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    try:
        for item in base_folder.iterdir():
            if item.name in ("model.safetensors", "kk_encoder.json"):
                continue
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
        tensors = apply_delta(load_file(str(base_folder / "model.safetensors")), artifact)
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp / "model.safetensors"),
                  metadata={"format": "pt"})
        meta = {**base_meta, "name": f"e5s-ft-{sha[:12]}", "base": base_meta["name"], "artifact": artifact.name,
                "artifact_sha256": sha}
        (tmp / "kk_encoder.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        tmp.chmod(0o755)
        try:
            tmp.rename(out)
        except OSError:
            if not (out / "kk_encoder.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_artifact(weights: Path, name: str, out_dir: Path, extra: dict) -> Path:
    """Turn trained weights (safetensors of the changed tensors) into ``out_dir/<name>.npz`` + manifest."""
    from safetensors.numpy import load_file

    base_folder = ensure_base_model()
    base_meta = json.loads((base_folder / "kk_encoder.json").read_text())
    blob = make_delta(base_folder, load_file(str(weights)))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.npz"
    path.write_bytes(blob)
    manifest = {"name": name, "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob),
                "base": base_meta["name"], "base_source_sha256": base_meta["source_sha256"],
                "format": "int8 per-row delta for matrices, fp32 delta for vectors, over the base's tensors",
                **extra}
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make", help="write an artifact + manifest from trained weights")
    mk.add_argument("--weights", type=Path, required=True)
    mk.add_argument("--name", required=True)
    mk.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    mk.add_argument("--manifest-extra", type=Path, help="JSON merged into the manifest (data, command, seed …)")
    bd = sub.add_parser("build", help="rebuild a model folder from an artifact (prints its path)")
    bd.add_argument("artifact")
    args = ap.parse_args(argv)
    if args.cmd == "make":
        extra = json.loads(args.manifest_extra.read_text()) if args.manifest_extra else {}
        path = write_artifact(args.weights, args.name, args.out_dir, extra)
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    else:
        print(ensure_tuned_model(resolve_artifact(args.artifact)))


if __name__ == "__main__":
    main()
