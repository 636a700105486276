"""Where each table lives: ``<lake>/bronze/<source>``, ``<lake>/silver/<name>``,
``<lake>/gold/<name>`` and ``<lake>/ops/<name>`` (operational tables)."""

from __future__ import annotations

from dataclasses import dataclass

from common.config import Settings, TableSettings


@dataclass(frozen=True)
class Lake:
    root: str
    tables: TableSettings

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(settings.lake.root, settings.tables)

    def _path(self, layer: str, name: str) -> str:
        return f"{self.root.rstrip('/')}/{layer}/{name}"

    def bronze(self, source: str) -> str:
        return self._path("bronze", source)

    def silver(self, name: str) -> str:
        return self._path("silver", name)

    def gold(self, name: str) -> str:
        return self._path("gold", name)

    def ops(self, name: str) -> str:
        return self._path("ops", name)

    @property
    def panel(self) -> str:
        return self.gold(self.tables.panel)

    @property
    def scores(self) -> str:
        return self.gold(self.tables.scores)

    @property
    def quarantine(self) -> str:
        return self.ops(self.tables.quarantine)

    @property
    def ingest_runs(self) -> str:
        return self.ops(self.tables.ingest_runs)

    @property
    def dq_results(self) -> str:
        return self.ops(self.tables.dq_results)

    @property
    def monitoring(self) -> str:
        return self.ops(self.tables.monitoring)

    @property
    def panel_runs(self) -> str:
        return self.ops(self.tables.panel_runs)

    @property
    def monthly_runs(self) -> str:
        return self.ops(self.tables.monthly_runs)
