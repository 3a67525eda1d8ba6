"""Thresholds of the checks, from `config/observability.yml` (see the comments there).

Kept in one versioned file rather than in code so a threshold change is reviewed as such;
per-asset overrides let a later asset (scores, LF coverage) tune its own marks. Everything is
parsed and typed at load time, so a bad value fails when the code location loads, not mid-run.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from observability.verdict import Ceiling, Floor

# Beside the code, not under resources/: importing that package would load Dagster.
CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "observability.yml"


@dataclass(frozen=True)
class ExpectationsConfig:
    """Bounds of the day-profile suites (the row-level bounds come from the ingest policy)."""

    blocking: bool
    profile_min_rows: int
    max_url_share: float
    min_unique_text_share: float
    median_chars: tuple[float, float]
    max_mean_uppercase_ratio: float


@dataclass(frozen=True)
class VolumeConfig:
    """Row-count bounds of a day relative to the median of its trailing window."""

    blocking: bool
    trailing_days: int
    min_history_days: int
    min_baseline_rows: float
    min_rows: int
    low: Floor
    high: Ceiling


@dataclass(frozen=True)
class DriftConfig:
    """Reference window, sample-size floors and effect-size marks of the drift checks."""

    blocking: bool
    reference_days: int | None
    max_reference_rows: int
    min_rows: int
    min_reference_rows: int
    max_bins: int
    min_rows_per_bin: int
    psi: Ceiling
    ks: Ceiling
    share_psi: Ceiling


@dataclass(frozen=True)
class FreshnessConfig:
    """How late an asset, and its newest daily partition, may be."""

    warn_after: dt.timedelta
    fail_after: dt.timedelta
    partition_deadline_cron: str


@dataclass(frozen=True)
class ObservabilityConfig:
    expectations: ExpectationsConfig
    schema_blocking: bool
    volume: VolumeConfig
    drift: DriftConfig
    freshness: Mapping[str, FreshnessConfig]
    volume_overrides: Mapping[str, VolumeConfig]
    drift_overrides: Mapping[str, DriftConfig]

    def volume_for(self, asset: str) -> VolumeConfig:
        return self.volume_overrides.get(asset, self.volume)

    def drift_for(self, asset: str) -> DriftConfig:
        return self.drift_overrides.get(asset, self.drift)

    def freshness_for(self, asset: str) -> FreshnessConfig:
        if asset not in self.freshness:
            raise KeyError(f"config/observability.yml has no freshness entry for {asset!r}")
        return self.freshness[asset]


def _ceiling(raw: Mapping[str, Any]) -> Ceiling:
    return Ceiling(warn=float(raw["warn"]), error=float(raw["error"]))


def _volume(raw: Mapping[str, Any]) -> VolumeConfig:
    return VolumeConfig(
        blocking=bool(raw["blocking"]),
        trailing_days=int(raw["trailing_days"]),
        min_history_days=int(raw["min_history_days"]),
        min_baseline_rows=float(raw["min_baseline_rows"]),
        min_rows=int(raw["min_rows"]),
        low=Floor(warn=float(raw["low"]["warn"]), error=float(raw["low"]["error"])),
        high=_ceiling(raw["high"]),
    )


def _drift(raw: Mapping[str, Any]) -> DriftConfig:
    reference_days = raw["reference_days"]
    return DriftConfig(
        blocking=bool(raw["blocking"]),
        reference_days=None if reference_days is None else int(reference_days),
        max_reference_rows=int(raw["max_reference_rows"]),
        min_rows=int(raw["min_rows"]),
        min_reference_rows=int(raw["min_reference_rows"]),
        max_bins=int(raw["max_bins"]),
        min_rows_per_bin=int(raw["min_rows_per_bin"]),
        psi=_ceiling(raw["psi"]),
        ks=_ceiling(raw["ks"]),
        share_psi=_ceiling(raw["share_psi"]),
    )


def _freshness(raw: Mapping[str, Any]) -> FreshnessConfig:
    return FreshnessConfig(
        warn_after=dt.timedelta(hours=float(raw["warn_after_hours"])),
        fail_after=dt.timedelta(hours=float(raw["fail_after_hours"])),
        partition_deadline_cron=str(raw["partition_deadline_cron"]),
    )


def _expectations(raw: Mapping[str, Any]) -> ExpectationsConfig:
    low, high = raw["median_chars"]
    return ExpectationsConfig(
        blocking=bool(raw["blocking"]),
        profile_min_rows=int(raw["profile_min_rows"]),
        max_url_share=float(raw["max_url_share"]),
        min_unique_text_share=float(raw["min_unique_text_share"]),
        median_chars=(float(low), float(high)),
        max_mean_uppercase_ratio=float(raw["max_mean_uppercase_ratio"]),
    )


def parse_config(raw: Mapping[str, Any]) -> ObservabilityConfig:
    """Type every section; `assets.<name>.<section>` keys override that section's defaults."""
    overrides: Mapping[str, Mapping[str, Any]] = raw.get("assets") or {}
    return ObservabilityConfig(
        expectations=_expectations(raw["expectations"]),
        schema_blocking=bool(raw["schema"]["blocking"]),
        volume=_volume(raw["volume"]),
        drift=_drift(raw["drift"]),
        freshness={name: _freshness(entry) for name, entry in raw["freshness"].items()},
        volume_overrides={
            asset: _volume({**raw["volume"], **sections["volume"]})
            for asset, sections in overrides.items()
            if "volume" in sections
        },
        drift_overrides={
            asset: _drift({**raw["drift"], **sections["drift"]})
            for asset, sections in overrides.items()
            if "drift" in sections
        },
    )


def load_config(path: str | Path = CONFIG_FILE) -> ObservabilityConfig:
    return parse_config(yaml.safe_load(Path(path).read_text()))
