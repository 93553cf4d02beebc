"""The edge agent: devices of one station as a local API, every fact an event, sent to the hub."""

__version__ = "0.1.0"
