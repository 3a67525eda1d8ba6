"""Thin Dagster assets, one module per pipeline stage."""

import warnings

from dagster import BetaWarning, PreviewWarning

# backfill_policy, pools and friends are stable in practice; keep the CLI output readable.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
