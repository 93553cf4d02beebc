"""Provisioning: registry of units, stations and devices; enrollment, station PKI, ACLs, config.

The registry and enrollment arrive with the provisioning issue; until then
stations are registered at the hub with ``puente hub station add``.
"""
