"""The landing zone as a Dagster resource: a local folder or an S3 prefix."""

from __future__ import annotations

from dagster import ConfigurableResource

from resources.object_store import ObjectStore, open_store


class LandingZoneResource(ConfigurableResource):
    """Where raw files land. `uri` is a folder or `s3://bucket/prefix` (`SLUICE_LANDING`)."""

    uri: str

    def store(self) -> ObjectStore:
        client = _s3_client() if self.uri.startswith("s3://") else None
        return open_store(self.uri, s3_client=client)


def _s3_client():
    """A boto3 client through dagster-aws (standard credential chain, `AWS_ENDPOINT_URL`)."""
    from dagster_aws.s3 import S3Resource  # heavy import, only when S3 is configured

    return S3Resource().get_client()
