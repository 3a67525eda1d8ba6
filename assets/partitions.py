"""The daily partitioning shared by every asset that is sliced by day."""

from dagster import DailyPartitionsDefinition

from resources.settings import Settings

daily_partitions = DailyPartitionsDefinition(
    start_date=Settings.from_env().start_date,
    timezone="UTC",
)
