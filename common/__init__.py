"""Shared plumbing: configuration, the SparkSession builder, lake paths, Delta I/O, logging."""
