"""Test helper: a gRPC channel of a local application paired with the agent (its credential)."""

from __future__ import annotations

from pathlib import Path

import grpc

from edge_agent.capabilities.pairing.service import PairingStore, app_key
from edge_agent.grpc_auth import AppCredential, authenticated_channel
from edge_agent.service import AgentService

TEST_APP = "tests"
OPERATOR_PIN = "246813"  # the station operator PIN the tests set where a person confirms


def app_channel(agent: AgentService, app_name: str = TEST_APP) -> grpc.Channel:
    """Issue a credential as ops would at the station and open a channel that sends it."""
    token = agent.pairings.issue(app_key(app_name))
    return authenticated_channel(agent.grpc_target, AppCredential(app_name, token))


def issue_in_data_dir(data_dir: Path, app_name: str = TEST_APP) -> AppCredential:
    """For an agent running in another process: what `puente agent app-credential` does."""
    store = PairingStore(data_dir / "pairings.sqlite3")
    try:
        return AppCredential(app_name, store.issue(app_key(app_name)))
    finally:
        store.close()
