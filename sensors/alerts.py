"""`run_failure_alert_sensor`: every failed run is logged and, when a webhook is set, posted.

`SLUICE_ALERT_WEBHOOK_URL` (unset: log only) receives a short JSON message: `text` (one
line, so a Slack or Teams incoming webhook shows it as is), job, run id, assets, partition,
failed steps and a one-line error per step. The URL is a secret in most chat tools: it is read
from the environment at post time and never logged; a post failure is logged by kind
only. Messages carry no environment values: error text is cut to its first line and any
value of a secret-looking environment variable in it is masked.

It watches every run of the instance, not only this code location's jobs: runs of
`dagster asset materialize` (CLI backfills) carry no code-location origin.
"""

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from orchestration import SENSOR_INTERVAL_SECONDS

TIMEOUT_SECONDS = 5.0
MAX_ERROR_CHARS = 300


class ErrorInfo(Protocol):
    """What an alert reads of a failure event's error (Dagster's SerializableErrorInfo, which
    1.13 does not export): the exception's class, message and cause."""

    @property
    def cls_name(self) -> str | None: ...
    @property
    def message(self) -> str: ...
    @property
    def cause(self) -> "ErrorInfo | None": ...


# The webhook URL is a secret: read from the environment when an alert is posted, never
# stored or logged. Its variable is named here only, and the masking below names it too, so
# renaming the variable cannot leave its value unmasked.
WEBHOOK_ENV = "SLUICE_ALERT_WEBHOOK_URL"
_SECRET_NAME = re.compile(
    rf"^{re.escape(WEBHOOK_ENV)}$|KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|WEBHOOK|AUTH", re.I
)
_MIN_MASKED_LEN = 6  # shorter values ("1", "true") would mask ordinary words


def webhook_url() -> str:
    """The webhook URL as the environment holds it now ("" when unset)."""
    return os.environ.get(WEBHOOK_ENV, "").strip()


def redact(text: str) -> str:
    """`text` with the value of every secret-looking environment variable masked."""
    secrets = sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_MASKED_LEN),
        key=len,
        reverse=True,
    )
    for value in secrets:
        text = text.replace(value, "***")
    return text


def error_summary(error: ErrorInfo | None) -> str:
    """The innermost cause's class and first message line: what went wrong, not the stack."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    lines = error.message.strip().splitlines()
    first = lines[0] if lines else ""
    qualified, colon, text = first.partition(": ")
    if colon and qualified.split(".")[-1] == error.cls_name:
        first = text  # "pkg.mod.SomeError: text" -> "text"; the class is named below
    return redact(f"{error.cls_name}: {first}" if error.cls_name else first)[:MAX_ERROR_CHARS]


def _partition(tags: Mapping[str, str]) -> str | None:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def alert_message(context: RunFailureSensorContext) -> dict[str, Any]:
    """The JSON body of an alert for the failed run in `context`."""
    run = context.dagster_run
    errors = {
        event.step_key or "run": error_summary(event.event_specific_data.error)
        for event in context.get_step_failure_events()
    }
    if not errors:  # the run failed outside any step (launch, resources, a killed process)
        data = context.failure_event.event_specific_data
        error = getattr(data, "error", None)
        message = context.failure_event.message or ""
        errors["run"] = error_summary(error) if error else redact(message)[:MAX_ERROR_CHARS]
    partition = _partition(run.tags)
    assets = sorted(key.to_user_string() for key in run.asset_selection or ())
    what = ", ".join(assets[:3]) + (f" (+{len(assets) - 3} more)" if len(assets) > 3 else "")
    where = f" [{partition}]" if partition else ""
    steps = ", ".join(errors)
    first = next(iter(errors.values()))
    return {
        "text": f"Sluice run {run.run_id[:8]} ({what or run.job_name}){where} failed in {steps}: "
        f"{first}",
        "job": run.job_name,
        "run_id": run.run_id,
        "assets": assets,
        "partition": partition,
        "failed_steps": list(errors),
        "errors": errors,
    }


def post_json(url: str, payload: Mapping[str, Any], timeout: float = TIMEOUT_SECONDS) -> int:
    """POST `payload` as JSON; the HTTP status. Raises OSError (URLError, HTTPError, timeout)."""
    if not url.lower().startswith(("https://", "http://")):
        raise ValueError(f"{WEBHOOK_ENV} must be an http(s) URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "sluice-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
        return response.status


@run_failure_sensor(
    name="run_failure_alert_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description=(
        "Logs every failed run (job, partition, failed steps, first error line) and, when "
        f"{WEBHOOK_ENV} is set, posts it there as JSON with a {TIMEOUT_SECONDS:g} s timeout. "
        "The URL is never logged; secret-looking environment values are masked."
    ),
)
def run_failure_alert_sensor(context: RunFailureSensorContext) -> None:
    message = alert_message(context)
    context.log.error(message["text"])
    url = webhook_url()
    if not url:
        return
    try:
        status = post_json(url, message)
    except urllib.error.HTTPError as err:
        context.log.warning(f"alert webhook answered HTTP {err.code}; alert not delivered")
    except (OSError, ValueError) as err:
        context.log.warning(f"alert webhook unreachable ({type(err).__name__}); not delivered")
    else:
        context.log.info(f"alert posted to the webhook ({WEBHOOK_ENV}): HTTP {status}")
