"""Storage of the hub: the `Store` interface and the implementation chosen by settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.settings import HubSettings
    from hub.storage.base import Store


def open_store(settings: HubSettings) -> Store:
    """The store named by settings.database_url (SQLite is the only one so far)."""
    if settings.database_url and not settings.database_url.startswith("sqlite:///"):
        raise ValueError(
            f"unsupported database_url {settings.database_url!r}: only sqlite:///path / "
            "database_url no soportada: solo sqlite:///ruta"
        )
    from hub.storage.sqlite import SQLiteStore  # sqlite-utils only where a store is opened

    return SQLiteStore(settings.database_path)
