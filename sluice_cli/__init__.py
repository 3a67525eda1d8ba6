"""Operator commands for a running Sluice instance: `python -m sluice_cli.<command>`."""
