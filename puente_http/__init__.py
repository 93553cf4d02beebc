"""HTTP pieces the agent's and the hub's servers share (they may not import each other)."""
