"""Errors of provisioning: each has a machine code and a bilingual human reason."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base of the family; ``code`` is stable, ``reason`` is for people (English / Español)."""

    code = "provisioning_error"
    status = 400

    def __init__(
        self,
        reason: str,
        code: str | None = None,
        *,
        field: str = "",
        allowed: str = "",
        en: str = "",
        es: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        # Where the problem is and what is allowed; the message in one language each (the
        # console shows one, the CLI and the API's ``detail`` both, as ``reason``).
        self.field = field
        self.allowed = allowed
        self.en = en or reason
        self.es = es or reason

    def text(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


class InvalidRecord(ProvisioningError):
    """A unit, station or device that fails validation."""

    code = "invalid_record"
    status = 422


class NotRegistered(ProvisioningError):
    code = "not_registered"
    status = 404


class Duplicate(ProvisioningError):
    code = "duplicate"
    status = 409


class EnrollmentRefused(ProvisioningError):
    """Unknown, expired or used enrollment code, or a bad CSR."""

    code = "enrollment_refused"
    status = 403


class BadCsr(ProvisioningError):
    code = "bad_csr"
    status = 422


class ConfigRejected(ProvisioningError):
    """A station config that fails its signature or validation."""

    code = "config_rejected"
    status = 422
