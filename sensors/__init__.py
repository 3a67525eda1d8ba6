"""Sensors: what starts runs without a hand on them.

- `landing_zone_sensor` (`landing_zone`, scan logic in `landing_scan`): new files -> the
  runs of their days, from `raw_comments` down to `comment_scores`.
- `retraining_sensor` (`retraining`): new days of LF votes or drift -> label model and
  classifier retrained.
- `run_failure_alert_sensor` (`alerts`): failed runs -> log and optional webhook.
"""

from sensors.alerts import run_failure_alert_sensor
from sensors.landing_zone import landing_zone_sensor
from sensors.retraining import retraining_sensor

SENSORS = [landing_zone_sensor, retraining_sensor, run_failure_alert_sensor]

__all__ = ["SENSORS", "landing_zone_sensor", "retraining_sensor", "run_failure_alert_sensor"]
