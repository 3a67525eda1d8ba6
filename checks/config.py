"""The checks' thresholds: config/observability.yml, or the file the settings name."""

from observability.config import ObservabilityConfig, load_config
from settings import Settings


def observability_config() -> ObservabilityConfig:
    """Loaded and validated afresh from `Settings.observability_file`."""
    return load_config(Settings.from_env().observability_file)
