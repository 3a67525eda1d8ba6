"""Sensors: the landing-zone sensor (`landing_zone`) and its pure scan logic (`landing_scan`)."""
