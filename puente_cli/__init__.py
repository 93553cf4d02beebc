"""The ``puente`` command: hub, agent and the all-in-one demo."""
