"""Every Sluice setting, read from environment variables with documented defaults.

This is the one place that knows the environment: resources, the demo and the
tests all ask it, so a setting means the same thing everywhere. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _path_or_uri(value: str) -> str:
    """Keep `s3://` URIs as they are; make local paths absolute."""
    if value.startswith("s3://"):
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :meth:`from_env`."""

    data_dir: str
    landing: str
    warehouse: str
    model_store: str
    exports: str
    policy_file: str
    training_policy_file: str
    start_date: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = _path_or_uri(env.get("SLUICE_DATA_DIR", str(PROJECT_ROOT / "data")))
        start = env.get("SLUICE_START_DATE", "2013-01-01")
        dt.date.fromisoformat(start)  # fail early on a bad value
        return cls(
            data_dir=data_dir,
            landing=_path_or_uri(env.get("SLUICE_LANDING", f"{data_dir}/landing")),
            warehouse=_path_or_uri(env.get("SLUICE_WAREHOUSE", f"{data_dir}/warehouse.duckdb")),
            model_store=_path_or_uri(env.get("SLUICE_MODEL_STORE", f"{data_dir}/models")),
            exports=_path_or_uri(env.get("SLUICE_EXPORTS", f"{data_dir}/exports")),
            policy_file=_path_or_uri(
                env.get("SLUICE_POLICY", str(PROJECT_ROOT / "policies" / "ingest.yml"))
            ),
            training_policy_file=_path_or_uri(
                env.get("SLUICE_TRAINING_POLICY", str(PROJECT_ROOT / "policies" / "training.yml"))
            ),
            start_date=start,
        )
