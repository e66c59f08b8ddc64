"""Prometheus metrics of one app instance.

Each app gets its own registry (tests start several apps in one process; the global registry would refuse the
second set of names). Request metrics are labelled by the *route template* (``/v1/conversations/{id}``), never
by the raw path, so label cardinality stays bounded.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector

from assistant.models import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # RSS, CPU, open fds of this process
        r = self.registry
        self.requests = Counter("kk_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("kk_http_request_duration_seconds", "HTTP request latency by route",
                                 ["method", "route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.retrieval = Histogram("kk_retrieval_seconds", "Retrieval time of ask/search", ["endpoint"],
                                   buckets=_LATENCY_BUCKETS, registry=r)
        self.answering = Histogram("kk_answer_seconds", "Answer composition time of ask",
                                   buckets=_LATENCY_BUCKETS, registry=r)
        self.answers = Counter("kk_answers", "Answers given", registry=r)
        self.abstained = Counter("kk_abstained", "Answers where the assistant abstained", registry=r)
        self.index_chunks = Gauge("kk_index_chunks", "Chunks in the published index generation", registry=r)
        self.index_documents = Gauge("kk_index_documents", "Documents in the published index generation",
                                     registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, answer: Answer) -> None:
        t = answer.timings_ms
        if "retrieve" in t:
            self.retrieval.labels("ask").observe(t["retrieve"] / 1000)
        if "answer" in t:
            self.answering.observe(t["answer"] / 1000)
        self.answers.inc()
        if answer.abstained:
            self.abstained.inc()

    def observe_search(self, timings_ms: dict[str, float]) -> None:
        if "total" in timings_ms:
            self.retrieval.labels("search").observe(timings_ms["total"] / 1000)

    def set_index_size(self, chunks: int, documents: int) -> None:
        self.index_chunks.set(chunks)
        self.index_documents.set(documents)

    def render(self) -> bytes:
        return generate_latest(self.registry)
