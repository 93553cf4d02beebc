"""The agent's capabilities, each in the same shape (see docs/architecture.md, "Capability shape").

``<name>/service.py`` holds the use cases over drivers, ``errors.py`` the capability's
errors and its table from driver errors, ``settings.py`` its pydantic settings,
``http.py`` its FastAPI router and ``grpc.py`` its gRPC servicer with
``register(server, services)``. The transports only translate; use cases import no
transport (import-linter contracts in pyproject.toml).
"""
