"""Ingest: a delivery of raw files into validated bronze Delta tables, nothing lost,
nothing duplicated (see jobs/ingest.py and the README)."""
