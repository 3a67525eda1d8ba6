"""Thresholds of the checks, from `config/observability.yml` (see the comments there).

Kept in one versioned file rather than in code so a threshold change is reviewed as such;
per-asset overrides let a later asset (scores, LF coverage) tune its own marks. The document
is validated strictly by pydantic when the code location loads: an unknown key or a wrong
type fails there, naming the file, the key and what was expected, not mid-run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from observability.verdict import Ceiling, Floor
from storage.documents import load_yaml, validate_document


class ConfigError(ValueError):
    """The observability config is invalid; the message names the file and the key."""


class _Section(BaseModel):
    # Strict: `true` is not a number, "28" is not a whole number of days, 2.5 is not either.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class ExpectationsConfig(_Section):
    """Bounds of the day-profile suites (the row-level bounds come from the ingest policy)."""

    blocking: bool
    profile_min_rows: int = Field(ge=0)
    max_url_share: float = Field(ge=0, le=1)
    min_unique_text_share: float = Field(ge=0, le=1)
    median_chars: tuple[float, float]
    max_mean_uppercase_ratio: float = Field(ge=0, le=1)

    @field_validator("median_chars", mode="before")
    @classmethod
    def _pair_from_list(cls, value: Any) -> Any:
        """YAML has no tuples: `[5, 1000]` is the (low, high) pair."""
        return tuple(value) if isinstance(value, list) else value


class SchemaConfig(_Section):
    blocking: bool


class VolumeConfig(_Section):
    """Row-count bounds of a day relative to the median of its trailing window."""

    blocking: bool
    trailing_days: int = Field(ge=1)
    min_history_days: int = Field(ge=0)
    min_baseline_rows: float = Field(ge=0)
    min_rows: int = Field(ge=0)
    low: Floor
    high: Ceiling


class DriftConfig(_Section):
    """Reference window, sample-size floors and effect-size marks of the drift checks."""

    blocking: bool
    reference_days: int | None = Field(ge=1)  # None: every earlier day
    max_reference_rows: int = Field(ge=1)
    min_rows: int = Field(ge=1)
    min_reference_rows: int = Field(ge=1)
    max_bins: int = Field(ge=2)
    min_rows_per_bin: int = Field(ge=1)
    psi: Ceiling
    ks: Ceiling
    share_psi: Ceiling


class FreshnessConfig(_Section):
    """How late an asset, and its newest daily partition, may be."""

    warn_after_hours: float = Field(gt=0)
    fail_after_hours: float = Field(gt=0)
    # Day D's partition is due at this hour (UTC) of D+1 (`observability.freshness`).
    partition_deadline_utc_hour: float = Field(ge=0, lt=24)

    @property
    def warn_after(self) -> dt.timedelta:
        return dt.timedelta(hours=self.warn_after_hours)

    @property
    def fail_after(self) -> dt.timedelta:
        return dt.timedelta(hours=self.fail_after_hours)


class AssetOverrides(_Section):
    """`assets.<name>`: sections of one asset, each merged over the defaults before it is
    validated (so `volume: {min_rows: 1}` keeps every other volume default)."""

    volume: VolumeConfig | None = None
    drift: DriftConfig | None = None


def _merged(doc: dict[str, Any], sections: Any) -> Any:
    """One asset's override sections, each laid over the document's section of that name."""
    if not isinstance(sections, dict):
        return sections
    return {
        name: {**doc[name], **value}
        if name in AssetOverrides.model_fields
        and isinstance(value, dict)
        and isinstance(doc.get(name), dict)
        else value
        for name, value in sections.items()
    }


class ObservabilityConfig(_Section):
    """The whole document: defaults per check family, freshness per asset, overrides."""

    expectations: ExpectationsConfig
    schema_: SchemaConfig = Field(alias="schema")  # `schema` would shadow a BaseModel attribute
    volume: VolumeConfig
    drift: DriftConfig
    freshness: dict[str, FreshnessConfig]
    assets: dict[str, AssetOverrides] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _merge_overrides(cls, doc: Any) -> Any:
        """Complete each `assets.<name>.<section>` from that section's defaults."""
        if not isinstance(doc, dict) or not isinstance(doc.get("assets") or {}, dict):
            return doc  # not mappings: left for validation to report
        assets = {
            name: _merged(doc, sections) for name, sections in (doc.get("assets") or {}).items()
        }
        return {**doc, "assets": assets}

    @property
    def schema_blocking(self) -> bool:
        return self.schema_.blocking

    def volume_for(self, asset: str) -> VolumeConfig:
        overrides = self.assets.get(asset)
        return overrides.volume if overrides and overrides.volume else self.volume

    def drift_for(self, asset: str) -> DriftConfig:
        overrides = self.assets.get(asset)
        return overrides.drift if overrides and overrides.drift else self.drift

    def freshness_for(self, asset: str) -> FreshnessConfig:
        if asset not in self.freshness:
            raise KeyError(f"config/observability.yml has no freshness entry for {asset!r}")
        return self.freshness[asset]


def parse_config(doc: dict[str, Any], source: str = "observability config") -> ObservabilityConfig:
    """`doc` validated; a ConfigError lists each bad key of `source` and what was expected."""
    return validate_document(ObservabilityConfig, doc, source, ConfigError)


def load_config(path: str | Path) -> ObservabilityConfig:
    """The config in `path` (`Settings.observability_file`), validated."""
    return parse_config(load_yaml(path, ConfigError), source=str(path))
