"""Shared fixtures: real embedder, real Chroma, real corpus.

One embedding cache (``.cache/test-embeddings.sqlite`` in the repo, git-ignored) is shared by every scratch
index, so the corpus is embedded once per machine and each test still builds its own real index.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KK_TEST_EMBEDDING_CACHE", REPO / ".cache" / "test-embeddings.sqlite"))


@pytest.fixture(scope="session")
def embedder():
    """The default engine (what ``kota-kreatif up`` serves with), behind the shared test cache."""
    from assistant.config import Settings
    from assistant.embeddings import CachedEmbeddings
    from assistant.generators import build_engine

    emb = CachedEmbeddings(build_engine(Settings(_env_file=None)), CACHE)
    yield emb
    emb.close()


_READER: list = []


@pytest.fixture(scope="session")
def real_reader(embedder):
    """The trained reader over the real embedding model, for tests that build answerers by hand (through
    :func:`extractive`): without sentence vectors it sees none of the cosines it was trained on and abstains."""
    from assistant.reading.reader import Reader

    _READER[:] = [Reader(embedder)]
    yield _READER[0]
    _READER.clear()


def extractive():
    """The extractive answerer over :func:`real_reader` (request that fixture, e.g. with ``usefixtures``)."""
    from assistant.answer import ExtractiveAnswerer

    return ExtractiveAnswerer(_READER[0])


@pytest.fixture
def make_settings(tmp_path):
    from assistant.config import Settings

    def make(**kw):
        kw.setdefault("index_dir", tmp_path / "index")
        kw.setdefault("corpus_dir", REPO / "corpus")
        kw.setdefault("embedding_cache", CACHE)
        return Settings(**kw)

    return make


@pytest.fixture
def make_assistant(make_settings, embedder):
    from assistant.assistant import Assistant

    made = []

    def make(**kw):
        a = Assistant(make_settings(**kw), embedder=embedder)
        made.append(a)
        return a

    yield make
    for a in made:
        a.feedback.close()
        a.conversations.close()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """A real index of the project corpus, built once per test session; returns its Settings."""
    from assistant.assistant import Assistant
    from assistant.config import Settings

    root = tmp_path_factory.mktemp("corpus-index")
    settings = Settings(index_dir=root / "index", corpus_dir=REPO / "corpus", embedding_cache=CACHE)
    a = Assistant(settings, embedder=embedder)
    report = a.ingest()
    assert report.documents >= 10, report
    a.feedback.close()
    a.conversations.close()
    return settings


@pytest.fixture
def corpus_assistant(corpus_index, embedder, tmp_path):
    """An Assistant on a private copy of the session corpus index (tests may write conversations)."""
    from assistant.assistant import Assistant

    idx = tmp_path / "index"
    shutil.copytree(corpus_index.index_dir, idx)
    a = Assistant(corpus_index.model_copy(update={"index_dir": idx}), embedder=embedder)
    yield a
    a.feedback.close()
    a.conversations.close()
