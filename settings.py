"""Every Sluice setting, read once from `SLUICE_*` environment variables, validated by pydantic.

This is the one place that knows the environment: resources, sensors, the demo, the CLIs
and the tests all ask it, so a setting means the same thing everywhere. No Dagster here.
A wrong value fails at load with the variable's name and what was expected.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent
# Settings a tool wrote for the data in a data folder (`SLUICE_START_DATE=...`); the
# environment wins over it.
ENV_FILE_NAME = "sluice.env"


def _path_or_uri(value: str) -> str:
    """Keep `s3://` URIs as they are; make local paths absolute."""
    if value.startswith("s3://"):
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


class Settings(BaseSettings):
    """Resolved settings: paths are absolute, `s3://` URIs are kept. Build with :meth:`from_env`.

    The locations default to folders of `data_dir`, so `SLUICE_DATA_DIR` alone moves them all.
    """

    model_config = SettingsConfigDict(
        env_prefix="SLUICE_", frozen=True, extra="ignore", populate_by_name=True
    )

    data_dir: str = str(PROJECT_ROOT / "data")
    landing: str = ""
    warehouse: str = ""
    model_store: str = ""
    exports: str = ""
    policy_file: str = Field(str(PROJECT_ROOT / "policies" / "ingest.yml"), alias="SLUICE_POLICY")
    training_policy_file: str = Field(
        str(PROJECT_ROOT / "policies" / "training.yml"), alias="SLUICE_TRAINING_POLICY"
    )
    observability_file: str = Field(
        str(PROJECT_ROOT / "config" / "observability.yml"), alias="SLUICE_OBSERVABILITY_CONFIG"
    )
    start_date: dt.date = dt.date(2013, 1, 1)
    # The last daily partition (inclusive); none: yesterday, as time goes on. `make demo` sets
    # both to its data's days, so the UI shows its historical days and nothing around them.
    end_date: dt.date | None = None
    # The task: the module of `labeling_functions/` whose CLASSES and LFS are learned.
    task: str = Field("spam", pattern=r"^[a-z][a-z0-9_]*$")
    sensor_interval_seconds: int = Field(30, ge=1)
    retrain_min_new_days: int = Field(1, ge=1)
    retrain_min_interval_seconds: int = Field(3600, ge=0)
    # How long opening the warehouse waits while another process (a second Dagster instance,
    # a standalone `dbt build`) holds DuckDB's one-writer lock, before failing with its PID.
    warehouse_lock_timeout_seconds: float = Field(120.0, ge=0)
    # The engine behind dbt, LF votes and scoring: embedded DuckDB, or Spark (`spark_master`,
    # extra `spark_conf` as JSON) reading and writing daily Parquet partitions under `lake`.
    engine: str = Field("duckdb", pattern=r"^(duckdb|spark)$")
    spark_master: str = "local[2]"
    spark_conf: dict[str, str] = Field(default_factory=dict)
    lake: str = ""

    @field_validator("data_dir")
    @classmethod
    def _resolve_data_dir(cls, value: str) -> str:
        return _path_or_uri(value)

    @model_validator(mode="after")
    def _resolve_locations(self) -> Settings:
        defaults = {
            "landing": f"{self.data_dir}/landing",
            "warehouse": f"{self.data_dir}/warehouse.duckdb",
            "model_store": f"{self.data_dir}/models",
            "exports": f"{self.data_dir}/exports",
            "lake": f"{self.data_dir}/lake",
        }
        for name, default in defaults.items():
            object.__setattr__(self, name, _path_or_uri(getattr(self, name) or default))
        for name in ("policy_file", "training_policy_file", "observability_file"):
            object.__setattr__(self, name, _path_or_uri(getattr(self, name)))
        return self

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the process environment (read afresh: tests change it), over those
        in the data folder's `sluice.env` (`make demo` writes the partitions' first day there,
        so `make ui` shows the demo's days, not years of empty partitions)."""
        path = env_file()
        return cls(_env_file=path if path is not None and path.is_file() else None)


def env_file() -> Path | None:
    """The settings file of the data folder ($SLUICE_DATA_DIR/sluice.env), or the one
    SLUICE_ENV_FILE names; SLUICE_ENV_FILE set empty: none (the test suite sets that)."""
    default = os.environ.get("SLUICE_DATA_DIR") or Settings.model_fields["data_dir"].default
    named = os.environ.get("SLUICE_ENV_FILE", str(Path(default).expanduser() / ENV_FILE_NAME))
    return Path(named) if named and not named.startswith("s3://") else None
