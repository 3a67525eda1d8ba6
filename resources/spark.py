"""Spark as a Dagster resource: the session behind `SLUICE_ENGINE=spark` (wiring only).

`local[2]` by default, so the same assets run on one machine; `SLUICE_SPARK_MASTER` and
`SLUICE_SPARK_CONF` (JSON) point it at a cluster. pyspark is an optional dependency (the
`spark` extra), imported only when a session is asked for.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def session_conf(master: str, warehouse_dir: str, extra: dict[str, str]) -> dict[str, str]:
    """The Spark settings Sluice relies on, then `extra` (which wins).

    UTC session time: timestamps are stored without a zone and must read back unshifted.
    Arrow on: the LF and scoring stages exchange Arrow batches with the Python workers, which
    run this interpreter with the project importable, as the driver does.
    """
    local = master.startswith("local")
    conf = {
        "spark.master": master,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.warehouse.dir": warehouse_dir,
        "spark.ui.enabled": "false",
    }
    if local:  # a cluster ships its own Python and code (an image, --py-files)
        path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
        conf |= {
            "spark.pyspark.python": sys.executable,
            "spark.executorEnv.PYTHONPATH": path,
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
        }
    return conf | dict(extra)


class SparkResource(ConfigurableResource):
    """A SparkSession built from the settings; one per process (Spark allows one context)."""

    master: str = "local[2]"
    warehouse_dir: str
    conf: dict[str, str] = {}
    app_name: str = "sluice"

    @classmethod
    def from_settings(cls, settings: Settings) -> SparkResource:
        return cls(
            master=settings.spark_master,
            warehouse_dir=f"{settings.data_dir}/spark-warehouse",
            conf=dict(settings.spark_conf),
        )

    def session(self) -> SparkSession:
        """The process's SparkSession (created on first use, reused afterwards)."""
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers: this venv
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName(self.app_name)
        for key, value in session_conf(self.master, self.warehouse_dir, self.conf).items():
            builder = builder.config(key, value)
        return builder.getOrCreate()
