"""Vital-signs monitors: numerics as neutral readings (MDC code, value, UCUM unit, time)."""
