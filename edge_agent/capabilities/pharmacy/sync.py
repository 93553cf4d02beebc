"""Keeping the station's catalogue in step with the hub: fetch at start, then every so often.

A failed fetch (hub unreachable, refused, a bad document) changes nothing:
the last copy stays in use and the failure is kept to be shown.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from edge_agent.capabilities.pharmacy.catalogue import Catalogue
from edge_agent.capabilities.pharmacy.errors import CatalogueUnavailable
from edge_agent.errors import AgentError
from edge_agent.hub_client import hub_client
from edge_agent.settings import AgentSettings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class CatalogueSync:
    def __init__(self, settings: AgentSettings, catalogue: Catalogue, refresh_s: float) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.refresh_s = refresh_s
        self.last_fetch_at: datetime | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _client(self) -> httpx.Client:
        return hub_client(self.settings)

    def refresh_now(self) -> int:
        if not self.settings.hub_url:
            raise CatalogueUnavailable(
                "no hub_url: the catalogue cannot be fetched / sin hub_url no se puede obtener "
                "el catálogo",
                code="no_hub",
            )
        import httpx

        try:
            with self._client() as client:
                count = self.catalogue.fetch(client)
        except (httpx.HTTPError, ValueError, AgentError) as exc:
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            self.last_error = reason
            log.warning("catalogue not refreshed (the last copy stays in use): %s", reason)
            raise CatalogueUnavailable(
                f"catalogue not refreshed, the last copy (version "
                f"{self.catalogue.version() or 'none'}) stays in use: {reason} / catálogo no "
                "actualizado, se sigue usando la última copia"
            ) from exc
        self.last_fetch_at = datetime.now(UTC)
        self.last_error = ""
        log.info("catalogue %s installed (%d items)", self.catalogue.version(), count)
        return count

    def start(self) -> None:
        """Keep the catalogue fresh at a pharmacy station (one with a barcode reader)."""
        if not self.settings.hub_url or not any(
            "barcode" in d.driver for d in self.settings.devices
        ):
            return
        self._thread = threading.Thread(target=self._run, name="catalogue-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(AgentError):  # logged; retried at the next period
                self.refresh_now()
            self._stop.wait(self.refresh_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
