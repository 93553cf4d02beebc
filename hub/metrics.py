"""Prometheus metrics of the hub, in a registry of its own (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
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
