"""Object stores as Dagster resources: the landing zone, the model store, the exports.

Each is a local folder by default or an S3 prefix (`s3://bucket/prefix`) when its
setting says so; the code that uses them is the same either way.
"""

from functools import cache
from typing import Any

from dagster import ConfigurableResource

from storage.object_store import ObjectStore, S3ObjectStore, open_store


class ObjectStoreResource(ConfigurableResource):
    """A folder or `s3://bucket/prefix`."""

    uri: str

    def store(self) -> ObjectStore:
        client = _s3_client() if self.uri.startswith("s3://") else None
        return open_store(self.uri, s3_client=client)


class LandingZoneResource(ObjectStoreResource):
    """Where raw files land (`SLUICE_LANDING`)."""


class ModelStoreResource(ObjectStoreResource):
    """Where models, their hashes and model cards live (`SLUICE_MODEL_STORE`)."""


class ExportsResource(ObjectStoreResource):
    """Where score exports are written as Parquet (`SLUICE_EXPORTS`)."""


@cache
def _s3_client() -> Any:
    """One boto3 client per process (creating one costs a tenth of a second or more).

    Built by `S3ObjectStore.default_client`, not dagster-aws's `S3Resource`: that one fixes
    the retry mode and attempts in code, over `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS`, which
    govern both botocore's retries and the store's re-reads of a body cut short.
    """
    return S3ObjectStore.default_client()
