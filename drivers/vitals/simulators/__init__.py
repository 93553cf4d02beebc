"""The device side of each vitals protocol: the bytes a monitor sends, for simulators and tests.

Kept out of the protocol modules, which only read; one module per protocol, same name.
"""
