"""Data-quality checks for any asset stored in a warehouse table, in one call.

`build_daily_checks` gives a daily asset its volume, schema and drift checks (and its
expectation suites, when it has any) as one op, so an asset written later gets them by
naming its table and columns:

    build_daily_checks("comment_scores", "score.comment_scores",
                       numeric_columns=[f"p_{c}" for c in CLASSES])
    build_daily_checks("lf_votes", "label.lf_coverage", volume=False,
                       shares=ShareColumns(group="lf_name", version="lf_version",
                                           hits="votes", total="rows"),
                       name_prefix="lf_coverage_")

Thresholds come from config/observability.yml, or the file `Settings.observability_file`
names (`assets.<asset name>` overrides them). Each kind of check is a judge in its own module
(`schema_checks`, `volume_checks`, `drift_checks`, `expectation_checks`); all judges of one
table run in one op (`judging.table_checks`).
"""

from collections.abc import Sequence

from dagster import AssetChecksDefinition, AssetKey

from checks.config import observability_config
from checks.drift_checks import ShareColumns, numeric_drift_judge, share_drift_judge
from checks.expectation_checks import suite_judge
from checks.judging import table_checks
from checks.schema_checks import schema_judge
from checks.volume_checks import volume_judge
from expectations.suites import Suite
from observability.config import ObservabilityConfig

__all__ = ["ShareColumns", "build_daily_checks", "build_table_checks"]


def _op_name(asset: AssetKey, table: str) -> str:
    return f"{asset.to_python_identifier()}__checks__{table.replace('.', '_')}"


def build_daily_checks(
    asset: str | AssetKey,
    table: str,
    *,
    partition_column: str = "partition_date",
    suites: Sequence[Suite] = (),
    numeric_columns: Sequence[str] = (),
    shares: ShareColumns | None = None,
    volume: bool = True,
    schema: bool = True,
    name_prefix: str = "",
    config: ObservabilityConfig | None = None,
) -> AssetChecksDefinition:
    """The checks of a daily asset stored in `table`, judged per day, run as one op.

    Checks, each optional: `<prefix>expectation_suites` (GX `suites`, blocking),
    `<prefix>row_volume`, `<prefix>column_schema` (blocking), `<prefix>distribution_drift`
    (PSI + KS of `numeric_columns`: features, class probabilities) and `<prefix>share_drift`
    (per-group shares: LF coverage). Give a prefix when one asset gets checks of two tables.
    """
    asset_key = AssetKey.from_coercible(asset)
    config = config or observability_config()
    asset_name = asset_key.to_user_string()
    drift = config.drift_for(asset_name)
    judges = []
    if schema:
        name = f"{name_prefix}column_schema"
        judges.append(schema_judge(asset_key, table, config.schema_blocking, name))
    if volume:
        volume_config = config.volume_for(asset_name)
        name = f"{name_prefix}row_volume"
        judges.append(volume_judge(table, partition_column, volume_config, name))
    if numeric_columns:
        name = f"{name_prefix}distribution_drift"
        judges.append(numeric_drift_judge(table, partition_column, numeric_columns, drift, name))
    if shares is not None:
        name = f"{name_prefix}share_drift"
        judges.append(share_drift_judge(table, partition_column, shares, drift, name))
    if suites:
        name = f"{name_prefix}expectation_suites"
        blocking = config.expectations.blocking
        judges.append(suite_judge(table, suites, blocking, partition_column, name))
    return table_checks(asset_key, _op_name(asset_key, table), judges, partitioned=True)


def build_table_checks(
    asset: str | AssetKey,
    table: str,
    *,
    suites: Sequence[Suite] = (),
    config: ObservabilityConfig | None = None,
) -> AssetChecksDefinition:
    """Schema check and expectation suites of an unpartitioned asset's (small) table."""
    asset_key = AssetKey.from_coercible(asset)
    config = config or observability_config()
    judges = [schema_judge(asset_key, table, config.schema_blocking, "column_schema")]
    if suites:
        judges.append(suite_judge(table, suites, config.expectations.blocking))
    return table_checks(asset_key, _op_name(asset_key, table), judges, partitioned=False)
