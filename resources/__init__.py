"""Resources, selected per environment in one place (wiring only).

With no settings everything is embedded (a local landing folder, a DuckDB file, a local
model store); `SLUICE_LANDING=s3://...` and friends switch the same code to S3. Every
variable and its default is in `settings.py`; the policies are validated here, at load.
"""

from __future__ import annotations

from typing import Any

from resources.policies import PoliciesResource
from resources.stores import ExportsResource, LandingZoneResource, ModelStoreResource
from resources.warehouse import WarehouseResource
from settings import Settings


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """The resource dict for `Definitions`, from the environment's settings."""
    settings = settings or Settings.from_env()
    return {
        "landing_zone": LandingZoneResource(uri=settings.landing),
        "model_store": ModelStoreResource(uri=settings.model_store),
        "exports": ExportsResource(uri=settings.exports),
        "warehouse": WarehouseResource(path=settings.warehouse),
        "policies": PoliciesResource.from_settings(settings),
    }
