"""Barcode readers: serial/USB-CDC and USB HID keyboard-wedge scanners, and a simulator."""
