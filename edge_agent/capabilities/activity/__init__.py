"""The station's actions board: what callers are doing now, and refusing it at the station."""
