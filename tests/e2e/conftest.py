"""A prepared Sluice instance served by `dagster dev` on a free localhost port, and Chromium.

The instance is prepared the way `make demo` leaves it (every asset materialized for a
small synthetic stream, a champion registered) but in-process, which is several times
faster than one `dagster asset materialize` process per wave; then `dagster dev` serves
it with the daemon, so its sensors run as they do under `make ui`.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from settings import PROJECT_ROOT
from sluice_cli.backfill import BackfillError, graphql
from tests.conftest import free_port
from tests.harness import prepare_instance, stop_process_group

PREP_START = dt.date(2024, 3, 1)
PREP_DAYS = 3
NEW_DAY = PREP_START + dt.timedelta(days=PREP_DAYS)
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
STARTUP_TIMEOUT = 180
SENSOR_INTERVAL = "5"

LOCATIONS = """
query SluiceLocations {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Served:
    """A running `dagster dev`: its URL, environment, instance folder and data folder."""

    url: str
    env: dict[str, str]
    home: Path
    data: Path


def _policy_for_one_day(root: Path) -> Path:
    """The repo's ingest policy with late_arrival_days 0: a new file then calls for its own
    day only, one run to wait for instead of three (the days a late record may belong to)."""
    policy = yaml.safe_load((PROJECT_ROOT / "policies" / "ingest.yml").read_text())
    policy["partitioning"]["late_arrival_days"] = 0
    path = root / "ingest.yml"
    path.write_text(yaml.safe_dump(policy))
    return path


def _wait_until_loaded(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until the code location is loaded; fails with the log when it cannot load."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited ({process.returncode}):\n{log.read_text()[-5000:]}")
        try:
            workspace = graphql(url, LOCATIONS)["workspaceOrError"]
        except BackfillError:
            time.sleep(1)
            continue
        entries = workspace.get("locationEntries") or []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [e["locationOrLoadError"] for e in entries]
            failed = [e.get("message", "") for e in errors if e["__typename"] == "PythonError"]
            assert not failed, f"the code location failed to load: {failed}"
            return
        time.sleep(1)
    pytest.fail(f"dagster dev did not load within {STARTUP_TIMEOUT}s:\n{log.read_text()[-5000:]}")


@pytest.fixture(scope="session")
def sluice_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("e2e")
    home, data = root / "dagster_home", root / "data"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SLUICE_DATA_DIR=str(data),
        SLUICE_POLICY=str(_policy_for_one_day(root)),
        SLUICE_SENSOR_INTERVAL_SECONDS=SENSOR_INTERVAL,
    )
    prepare_instance(env, PREP_START, PREP_DAYS)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "dagster_dev.log"
    dagster = Path(sys.executable).with_name("dagster")  # as `make ui` runs it
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_until_loaded(url, process, log)
            yield Served(url=url, env=env, home=home, data=data)
        finally:
            stop_process_group(process, grace_seconds=30)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_INSTALL = (
    "`make test` installs it when run as root where apt-get exists "
    "(or: apt-get update && apt-get install -y chromium); "
    "SLUICE_CHROMIUM=/path/to/chromium points at another build"
)


def _find_chromium() -> str | None:
    if path := os.environ.get("SLUICE_CHROMIUM"):
        return shutil.which(path)
    return next((p for name in CHROMIUM_NAMES if (p := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless-capable Chromium found on this machine; never installed from here (system
    packages are the Makefile's and .ci/run's business). Skips, saying why, without one."""
    path = _find_chromium()
    if path is None:
        looked_for = os.environ.get("SLUICE_CHROMIUM") or " / ".join(CHROMIUM_NAMES)
        pytest.skip(f"Chromium not found (looked for {looked_for}): {CHROMIUM_INSTALL}")
    try:
        subprocess.run([path, "--version"], capture_output=True, timeout=60, check=True)
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"Chromium at {path} does not run ({error}): {CHROMIUM_INSTALL}")
    return path
