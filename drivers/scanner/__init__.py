"""Document scanners: the interface (base.py), SANE, eSCL over HTTP, and an eSCL simulator."""
