"""Pure data-observability library: drift, volume and schema judgements, and their thresholds.

Nothing here knows Dagster or Great Expectations; `checks/` wires these functions into asset
checks, so the statistics are unit-tested on plain arrays and numbers.
"""
