"""Storage of the hub: the `Store` interface and the implementation chosen by settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.settings import HubSettings
    from hub.storage.base import Store


def open_store(settings: HubSettings) -> Store:
    """The store named by settings.database_url: sqlite:///path (the default, data_dir/
    hub.sqlite3 when empty) or postgresql://user@host:port/db (the production store)."""
    url = settings.database_url
    if url.startswith(("postgresql://", "postgres://")):
        from hub.storage.postgres import PostgresStore  # psycopg only where it is used

        return PostgresStore(url)
    if url and not url.startswith("sqlite:///"):
        raise ValueError(
            f"unsupported database_url {url!r}: sqlite:///path or postgresql://... / "
            "database_url no soportada: sqlite:///ruta o postgresql://..."
        )
    from hub.storage.sqlite import SQLiteStore  # sqlite-utils only where a store is opened

    return SQLiteStore(settings.database_path)
