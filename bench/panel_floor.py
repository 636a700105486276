"""The I/O floor of the panel job: read the same silver inputs and write a table of the
panel's size (same rows, as many double columns) with no computation.

    ./spark-submit.sh bench/panel_floor.py --lake LAKE --out PATH
"""

from __future__ import annotations

import time

from pyspark.sql import functions as F

from common import delta_io
from common.cli import job_parser, start
from common.lake import Lake


def main() -> None:
    parser = job_parser("panel_floor", __doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    settings, spark = start(args, "panel-floor")
    lake = Lake.from_settings(settings)
    panel = delta_io.read(spark, lake.panel)
    width = len([c for c, t in panel.dtypes if t == "double"])
    began = time.monotonic()
    names = ("headcount", "contributions", "debt", "partial_activity", "payment_delays")
    inputs = [delta_io.read(spark, lake.silver(n)).select("siret", "month_index") for n in names]
    keys = inputs[0]
    for other in inputs[1:]:
        keys = keys.unionByName(other)
    rows = panel.count()
    keys = keys.limit(rows)
    value = F.col("month_index").cast("double")
    floor = keys.select("siret", "month_index", *[(value + i).alias(f"v{i}") for i in range(width)])
    delta_io.write(floor, args.out)
    print(f"floor: {rows} rows x {width} doubles written in {time.monotonic() - began:.1f} s")
    spark.stop()


if __name__ == "__main__":
    main()
