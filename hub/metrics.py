"""Prometheus metrics of the hub, in a registry of its own (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Commit times: fine enough between 1 and 100 ms for a p50/p99 read from the buckets.
_SECONDS = (
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.04,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    1.0,
    2.5,
)


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "puente_hub_events",
            "Events by ingest outcome (accepted, duplicate, rejected, held_out_of_order).",
            ["outcome"],
            registry=self.registry,
        )
        self.accepted = self.events.labels("accepted")
        self.duplicate = self.events.labels("duplicate")
        self.rejected = self.events.labels("rejected")
        self.held = self.events.labels("held_out_of_order")
        self.quarantined = Counter(
            "puente_hub_quarantined",
            "Rows written to quarantine (rejected events and undecodable batches).",
            registry=self.registry,
        )
        self.batch_commit_seconds = Histogram(
            "puente_hub_batch_commit_seconds",
            "Time to validate and commit one ingest batch.",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.store_commit_seconds = Histogram(
            "puente_hub_store_commit_seconds",
            "Time of the store's commit of one ingest batch (no decoding or checks), by stage: "
            "all, and on PostgreSQL encode (the rows as JSON), begin (a pooled connection), "
            "insert (the one statement; alone, its commit too), and with other projections or "
            "quarantine rows project and commit (the COMMIT: WAL flush).",
            ["stage"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.store_round_trips = Counter(
            "puente_hub_store_round_trips",
            "Round trips to the database server in the store's ingest commits (0 on SQLite; "
            'per commit: this over puente_hub_store_commit_seconds_count{stage="all"}).',
            registry=self.registry,
        )
        self.store_commit_cpu_seconds = Counter(
            "puente_hub_store_commit_cpu_seconds",
            "CPU time of the writer thread inside the store's commits, by stage (the rest of "
            "the stage's time is spent waiting: for the database server, the disk, the GIL).",
            ["stage"],
            registry=self.registry,
        )
        self.after_commit_seconds = Histogram(
            "puente_hub_after_commit_seconds",
            "Time of one commit's after-commit hooks in the writer thread (live view notice, "
            "signature validator wake-up), after the receipts were handed to paho.",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.batch_events = Histogram(
            "puente_hub_batch_events",
            "Events answered by one ingest commit (accepted, duplicate, rejected).",
            buckets=(1, 5, 10, 25, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000),
            registry=self.registry,
        )
        self.rendered = Counter(
            "puente_hub_payloads_rendered",
            "Stored events whose payload JSON this process rendered (when ingest was idle).",
            registry=self.registry,
        )
        self.held_retries = Counter(
            "puente_hub_held_retries",
            "Held-back messages taken for another try (each try of each message).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "puente_hub_ingest_queue_depth",
            "MQTT messages waiting for the ingest writer.",
            registry=self.registry,
        )
        self.mqtt_connected = Gauge(
            "puente_hub_mqtt_connected", "1 while connected to the broker.", registry=self.registry
        )

        self.db_writable = Gauge(
            "puente_hub_db_writable",
            "1 while the write probe and the last ingest commit succeed (see /healthz).",
            registry=self.registry,
        )
        self.db_writable.set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
