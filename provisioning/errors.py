"""Errors of provisioning: each has a machine code and a bilingual human reason."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base of the family; ``code`` is stable, ``reason`` is for people (English / Español)."""

    code = "provisioning_error"
    status = 400

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


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
