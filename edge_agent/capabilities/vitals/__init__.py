"""Vital signs: spot readings, live streams, attribution of readings to patients, the inbox."""
