"""The declared policies as a Dagster resource: read and validated once, when the code
location loads, so a bad key fails there (with the file and the key) and not mid-run."""

from __future__ import annotations

from functools import cache

from dagster import ConfigurableResource

from ingest.policy import Policy
from settings import Settings
from training.policy import TrainingPolicy


@cache
def _ingest(path: str) -> Policy:
    return Policy.load(path)


@cache
def _training(path: str) -> TrainingPolicy:
    return TrainingPolicy.load(path)


class PoliciesResource(ConfigurableResource):
    """`policies/ingest.yml` and `policies/training.yml` (or the files the settings name)."""

    ingest_file: str
    training_file: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PoliciesResource:
        """The policy files the settings name, validated now (at code-location load)."""
        settings = settings or Settings.from_env()
        resource = cls(
            ingest_file=settings.policy_file, training_file=settings.training_policy_file
        )
        resource.ingest()
        resource.training()
        return resource

    def ingest(self) -> Policy:
        return _ingest(self.ingest_file)

    def training(self) -> TrainingPolicy:
        return _training(self.training_file)
