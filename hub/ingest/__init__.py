"""Ingest: station events from MQTT, validated, stored exactly once, answered with receipts."""
