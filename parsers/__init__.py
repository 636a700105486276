"""Parsers of the raw source files: one module per source (see docs/sources in the README)."""
