"""The month's cycle in one Spark application: ingest, panel, score, monitor, export."""
