"""Every Sluice setting, read once from `SLUICE_*` environment variables, validated by pydantic.

This is the one place that knows the environment: resources, sensors, the demo, the CLIs
and the tests all ask it, so a setting means the same thing everywhere. No Dagster here.
A wrong value fails at load with the variable's name and what was expected.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent


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
    sensor_interval_seconds: int = Field(30, ge=1)
    retrain_min_new_days: int = Field(1, ge=1)
    retrain_min_interval_seconds: int = Field(3600, ge=0)
    # How long opening the warehouse waits while another process (a second Dagster instance,
    # a standalone `dbt build`) holds DuckDB's one-writer lock, before failing with its PID.
    warehouse_lock_timeout_seconds: float = Field(120.0, ge=0)

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
        }
        for name, default in defaults.items():
            object.__setattr__(self, name, _path_or_uri(getattr(self, name) or default))
        for name in ("policy_file", "training_policy_file", "observability_file"):
            object.__setattr__(self, name, _path_or_uri(getattr(self, name)))
        return self

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the process environment (read afresh: tests change it)."""
        return cls()
