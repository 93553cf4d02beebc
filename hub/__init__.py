"""The hub: receives station events exactly once and serves cases, stations and exports."""

__version__ = "0.1.0"
