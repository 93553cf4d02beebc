"""The hub's HTTP API (FastAPI): cases, events, stations, tokens, health and metrics."""
