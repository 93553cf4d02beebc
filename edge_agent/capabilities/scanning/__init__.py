"""Scanning documents into a case: jobs with progress, blank-page dropping, one PDF per job."""
