"""What a DataFrame's physical plan costs: shuffles, broadcasts, planning time."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame


@dataclass(frozen=True)
class PlanReport:
    shuffles: int  # Exchange hashpartitioning/rangepartitioning/single partition
    broadcasts: int
    planning_seconds: float  # analysis + optimisation + physical planning

    def __str__(self) -> str:
        return (
            f"{self.shuffles} shuffles, {self.broadcasts} broadcasts, "
            f"planned in {self.planning_seconds:.1f} s"
        )


def plan_report(frame: DataFrame) -> PlanReport:
    began = time.monotonic()
    plan = frame._jdf.queryExecution().executedPlan().toString()
    seconds = time.monotonic() - began
    # an adaptive plan already run (a cached input) lists its exchanges twice: keep the final plan
    plan = plan.split("== Initial Plan ==")[0]
    shuffles = len(
        re.findall(
            r"Exchange (hashpartitioning|rangepartitioning|SinglePartition|RoundRobin)", plan
        )
    )
    broadcasts = len(re.findall(r"BroadcastExchange", plan))
    return PlanReport(shuffles, broadcasts, seconds)
