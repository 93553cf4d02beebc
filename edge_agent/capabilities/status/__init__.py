"""The agent's own service (puente.v1.Agent): its status, and recording a caller's event."""
