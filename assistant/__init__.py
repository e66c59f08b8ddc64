"""Asisten Kota Kreatif: a cited, Indonesian retrieval-augmented assistant about UNESCO Creative Cities.

The data path reads top to bottom: documents → chunking → embeddings/store (index) → retrieval → answer,
wrapped by the :class:`assistant.assistant.Assistant` facade that the CLI, the API and the bot share.
Heavy libraries (torch, sentence-transformers, chromadb) are imported lazily so that importing this package
is cheap.
"""

__version__ = "0.1.0"
