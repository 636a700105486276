"""Run reports an operator opens in a closed network: one self-contained HTML file per run
(inline CSS, charts as inline SVG, no script, nothing fetched), written next to the run's
``report.json``. Counts and distributions only: never an identifier, a name or an amount."""
