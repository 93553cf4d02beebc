"""Prometheus metrics of one agent, in a registry of its own (agents may share a process).

The values live in plain counters here; prometheus_client (≈ 2.7 MB resident, and its
import time before the local API answers) is imported when ``/metrics`` is first
scraped, and renders them through a collector of this agent's own registry. The text is
prometheus_client's exposition format, the same as when each metric was a
``prometheus_client`` object (``_total``/``_created`` samples for counters, ``_bucket``,
``_count``, ``_sum`` and ``_created`` for the histogram).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry


class _Value:
    """One labelled child: a number that only moves under the metric's lock."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        if amount < 0:
            raise ValueError("counters only go up / los contadores solo aumentan")
        with self._lock:
            self.value += amount

    def set(self, value: float) -> None:
        with self._lock:
            self.value = float(value)


class _Metric:
    kind = ""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], _Value] = {}
        if not labelnames:
            self._children[()] = _Value(self._lock)

    def labels(self, *values: str) -> _Value:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}")
        key = tuple(str(v) for v in values)
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = _Value(self._lock)
        return child

    @property
    def value(self) -> float:
        return self._children[()].value

    def samples(self) -> list[tuple[tuple[str, ...], float, float]]:
        with self._lock:
            return [(k, c.value, c.created) for k, c in self._children.items()]


class Counter(_Metric):
    kind = "counter"

    def inc(self, amount: float = 1) -> None:
        self._children[()].inc(amount)


class Gauge(_Metric):
    kind = "gauge"

    _function: Callable[[], float] | None = None

    def set(self, value: float) -> None:
        self._children[()].set(value)

    def set_function(self, function: Callable[[], float]) -> None:
        """The value is ``function()`` read at each scrape (as prometheus_client's)."""
        self._function = function

    @property
    def value(self) -> float:
        return float(self._function()) if self._function is not None else super().value

    def samples(self) -> list[tuple[tuple[str, ...], float, float]]:
        if self._function is None:
            return super().samples()
        return [((), float(self._function()), self._children[()].created)]


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name, self.documentation = name, documentation
        self.buckets = (*buckets, float("inf"))
        self._lock = threading.Lock()
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
                    break

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` buckets and the sum."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip(self.buckets, counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else _float(bound), running))
        return out, total


def _float(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


class AgentMetrics:
    def __init__(self) -> None:
        self.outbox_depth = Gauge("puente_agent_outbox_depth", "Events in the outbox.")
        self.outbox_bytes = Gauge(
            "puente_agent_outbox_bytes", "Bytes of event bodies in the outbox."
        )
        self.appends = Counter("puente_agent_outbox_appends", "Append requests.", ("result",))
        self.commit_batch = Histogram(
            "puente_agent_outbox_commit_batch_size",
            "Appends made durable by one commit (one fsync).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )
        self.published = Counter(
            "puente_agent_uplink_published_events", "Events published (first send)."
        )
        self.resent = Counter("puente_agent_uplink_resent_events", "Events published again.")
        self.receipted = Counter("puente_agent_uplink_receipts", "Receipts received.", ("status",))
        self.rejected = Counter(
            "puente_agent_uplink_rejected_events", "Events the hub rejected.", ("reason",)
        )
        self.link_connected = Gauge(
            "puente_agent_link_connected", "1 while connected to the broker."
        )
        self.reconnects = Counter("puente_agent_link_reconnects", "Reconnections to the broker.")
        self._all: tuple[_Metric | Histogram, ...] = (
            self.outbox_depth,
            self.outbox_bytes,
            self.appends,
            self.commit_batch,
            self.published,
            self.resent,
            self.receipted,
            self.rejected,
            self.link_connected,
            self.reconnects,
        )

    @cached_property
    def registry(self) -> CollectorRegistry:
        """This agent's registry, built (and prometheus_client imported) at the first scrape."""
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry(auto_describe=True)
        registry.register(_Collector(self._all))
        return registry


class _Collector:
    def __init__(self, metrics: tuple[_Metric | Histogram, ...]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        for m in self.metrics:
            if isinstance(m, Histogram):
                buckets, total = m.snapshot()
                family = HistogramMetricFamily(m.name, m.documentation)
                family.add_metric([], buckets, total)
                family.add_sample(m.name + "_created", {}, m.created)
                yield family
                continue
            labels = list(m.labelnames)
            if isinstance(m, Counter):
                counter = CounterMetricFamily(m.name, m.documentation, labels=labels)
                for key, value, created in m.samples():
                    counter.add_metric(list(key), value, created=created)
                yield counter
            else:
                gauge = GaugeMetricFamily(m.name, m.documentation, labels=labels)
                for key, value, _ in m.samples():
                    gauge.add_metric(list(key), value)
                yield gauge
