"""Volume check: each day's rows against the trailing median (judged in `observability`)."""

import datetime as dt

from dagster import AssetCheckExecutionContext

from checks.judging import DayResult, Judge
from checks.queries import daily_counts, first_partition
from observability.config import VolumeConfig
from observability.volume import judge_volume, trailing_counts
from resources.warehouse import WarehouseResource

_DAY = dt.timedelta(days=1)


def volume_judge(table: str, partition_column: str, volume: VolumeConfig, name: str) -> Judge:
    """Rows of each day against the trailing median and the absolute minimum."""

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        window = dt.timedelta(days=volume.trailing_days)
        with warehouse.connect(read_only=True) as con:
            counts = daily_counts(con, table, partition_column, days[0] - window, days[-1] + _DAY)
            first_day = first_partition(con, table, partition_column)
        results = []
        for day in days:
            trailing = trailing_counts(counts, day, volume.trailing_days, first_day)
            judged = judge_volume(day, counts.get(day, 0), trailing, volume)
            results.append(
                DayResult(
                    day.isoformat(),
                    judged.verdict,
                    judged.reason,
                    judged.metadata(),
                    judged=judged.judged,
                )
            )
        return results

    return Judge(
        name=name,
        description=(
            f"Rows of each day of {table} against the median of the trailing "
            f"{volume.trailing_days} days (and an absolute minimum of {volume.min_rows})."
        ),
        blocking=volume.blocking,
        judge=judge,
    )
