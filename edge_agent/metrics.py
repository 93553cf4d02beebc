"""Prometheus metrics of one agent, in a registry of its own (agents may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.outbox_depth = Gauge("puente_agent_outbox_depth", "Events in the outbox.", registry=r)
        self.outbox_bytes = Gauge(
            "puente_agent_outbox_bytes", "Bytes of event bodies in the outbox.", registry=r
        )
        self.appends = Counter(
            "puente_agent_outbox_appends", "Append requests.", ["result"], registry=r
        )
        self.commit_batch = Histogram(
            "puente_agent_outbox_commit_batch_size",
            "Appends made durable by one commit (one fsync).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.published = Counter(
            "puente_agent_uplink_published_events", "Events published (first send).", registry=r
        )
        self.resent = Counter(
            "puente_agent_uplink_resent_events", "Events published again.", registry=r
        )
        self.receipted = Counter(
            "puente_agent_uplink_receipts", "Receipts received.", ["status"], registry=r
        )
        self.rejected = Counter(
            "puente_agent_uplink_rejected_events",
            "Events the hub rejected.",
            ["reason"],
            registry=r,
        )
        self.link_connected = Gauge(
            "puente_agent_link_connected", "1 while connected to the broker.", registry=r
        )
        self.reconnects = Counter(
            "puente_agent_link_reconnects", "Reconnections to the broker.", registry=r
        )
