"""Sluice as a user meets it: `dagster dev` on a prepared instance. The asset graph and the
sensors through GraphQL, a new file flowing to its scores with no hand on it, a backfill
launched from the CLI through the webserver, the catalog and lineage pages as headless
Chromium renders them (their DOM after the UI's JavaScript and GraphQL ran), and the model
card opened from the classifier's page as a user opens it (a click, over DevTools)."""

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from demo.synthetic import generate
from settings import PROJECT_ROOT
from sluice_cli.backfill import graphql
from storage.object_store import LocalObjectStore
from tests.e2e.cdp import open_page
from tests.e2e.conftest import ARTIFACTS, NEW_DAY, PREP_START, Served

# Every test starts after the new day's file landed: its run works while they look around.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("landed")]
# Seconds from landing a file to its run finished; slower machines may raise it.
FLOW_TIMEOUT = int(os.environ.get("SLUICE_E2E_FLOW_TIMEOUT", "240"))
GROUPS = {"ingest", "transform", "label", "train", "score"}  # "validate" when checks add it
# Assets whose absence from a page means the page is wrong, whatever GraphQL says.
CORE_ASSETS = {"raw_comments", "comment_features", "lf_votes", "label_model", "weak_labels",
               "classifier", "comment_scores"}  # fmt: skip
# Virtual time Chromium gives a page (it pauses while requests are pending); a page that
# does not show what is expected is rendered once more with the longer budget.
RENDER_BUDGETS_MS = (15_000, 60_000)
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
SENSORS = {"landing_zone_sensor", "retraining_sensor", "run_failure_alert_sensor"}

ASSET_NODES = """
query SluiceAssets {
  assetNodes {
    assetKey { path } groupName kinds description isMaterializable isPartitioned
    owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  }
}
"""
SENSOR_STATES = """
query SluiceSensors {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { sensors { name description minIntervalSeconds sensorState { status } } }
    }
  }
}
"""
MATERIALIZATIONS = """
query SluiceMaterializations($path: [String!]!, $partition: String!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset { assetMaterializations(partitions: [$partition], limit: 1) { runId timestamp } }
  }
}
"""
RUN = """
query SluiceRun($id: ID!) {
  runOrError(runId: $id) { ... on Run { status tags { key value } } }
}
"""
FAILED_RUNS = """
query SluiceFailedRuns {
  runsOrError(filter: {statuses: [FAILURE]}) {
    ... on Runs { results { runId tags { key value } } }
  }
}
"""
BACKFILL = """
query SluiceBackfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill {
      status partitionNames assetSelection { path }
      runs { runId tags { key value } }
    }
  }
}
"""


def test_asset_graph_has_groups_kinds_descriptions_and_owners(sluice_ui: Served):
    nodes = [n for n in graphql(sluice_ui.url, ASSET_NODES)["assetNodes"] if n["isMaterializable"]]
    assert {n["groupName"] for n in nodes} >= GROUPS
    for node in nodes:
        key = "/".join(node["assetKey"]["path"])
        assert node["description"], f"{key} has no description"
        assert node["kinds"], f"{key} has no kinds"
        assert node["owners"], f"{key} has no owner"
    daily = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isPartitioned"]}
    assert {"raw_comments", "comment_features", "lf_votes", "comment_scores"} <= daily


def test_sensors_are_described_and_running(sluice_ui: Served):
    [repository] = graphql(sluice_ui.url, SENSOR_STATES)["repositoriesOrError"]["nodes"]
    sensors = {s["name"]: s for s in repository["sensors"]}
    assert set(sensors) >= SENSORS
    for name in SENSORS:
        assert sensors[name]["description"], name
        assert sensors[name]["sensorState"]["status"] == "RUNNING", name


class RenderedPage(HTMLParser):
    """What a rendered Dagster UI page shows: its text nodes, the labels of its lineage-graph
    nodes (`data-tooltip`), and the catalog's rows as asset key -> the group shown in the
    row (the text after the asset_group icon that follows the row's `/assets/<key>` link)."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: set[str] = set()
        self.node_labels: set[str] = set()
        self.catalog: dict[str, str] = {}
        self._row_asset: str | None = None
        self._group_follows = False
        self.feed(dom)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if label := attributes.get("data-tooltip"):
            self.node_labels.add(label)
        href = urlsplit(attributes.get("href") or "").path
        if tag == "a" and href.startswith("/assets/"):
            self._row_asset = unquote(href.removeprefix("/assets/")).strip("/")
        if attributes.get("aria-label") == "asset_group":
            self._group_follows = True

    def handle_data(self, data: str) -> None:
        if not (text := data.strip()):
            return
        self.texts.add(text)
        if self._group_follows:
            self._group_follows = False
            if self._row_asset is not None:
                self.catalog.setdefault(self._row_asset, text)


Render = Callable[[str, str, Callable[[RenderedPage], list[str]]], RenderedPage]


@pytest.fixture(scope="module")
def render(sluice_ui: Served, chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """render(path, name, problems): the UI page at `path` after headless Chromium ran its
    JavaScript, rendered again with a longer budget while `problems(page)` lists any. Its
    DOM and a screenshot go to tests/artifacts/<name>.html and .png for a human to look at.
    The UI's first-visit "join the community" dialog would cover the screenshot: mark it
    seen, as its Skip button does."""
    graphql(sluice_ui.url, "mutation SluiceNuxSeen { setNuxSeen }")
    profiles = tmp_path_factory.mktemp("chromium")

    def _render(path: str, name: str, problems: Callable[[RenderedPage], list[str]]):
        url, shot = f"{sluice_ui.url}/{path}", ARTIFACTS / f"{name}.png"
        for attempt, budget in enumerate(RENDER_BUDGETS_MS):
            shot.unlink(missing_ok=True)
            done = _chromium(chromium, url, profiles / f"{name}-{attempt}", budget, shot)
            (ARTIFACTS / f"{name}.html").write_text(done.stdout)
            page = RenderedPage(done.stdout)
            if not problems(page):
                break
        assert done.stdout.strip(), f"Chromium dumped no DOM for {url}: {done.stderr[-2000:]}"
        assert shot.exists(), f"Chromium wrote no screenshot of {url}"
        return page

    return _render


def _chromium(chromium: str, url: str, profile: Path, budget_ms: int, shot: Path):
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--window-size=1600,2400",
         f"--virtual-time-budget={budget_ms}", f"--screenshot={shot}", "--dump-dom", url],
        capture_output=True, text=True, errors="replace", timeout=60 + 3 * budget_ms // 1000,
        check=False,
    )  # fmt: skip


def _materializable(url: str) -> dict[str, str]:
    """Asset key -> group, as the webserver's GraphQL reports them."""
    nodes = graphql(url, ASSET_NODES)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes if n["isMaterializable"]}


def test_asset_catalog_lists_every_asset_in_its_group(sluice_ui: Served, render: Render):
    """The catalog (/assets), as a user sees it: a row per asset, its group beside it."""
    expected = _materializable(sluice_ui.url)
    assert set(expected) >= CORE_ASSETS and set(expected.values()) >= GROUPS

    def problems(page: RenderedPage) -> list[str]:
        return [
            f"{key}: expected in group {group!r}, shown "
            + (f"in {page.catalog[key]!r}" if key in page.catalog else "nowhere")
            for key, group in sorted(expected.items())
            if page.catalog.get(key) != group
        ]

    page = render("assets", "asset_catalog", problems)
    assert not problems(page), f"the catalog page shows {page.catalog}: " + "; ".join(
        problems(page)
    )
    assert set(page.catalog.values()) >= GROUPS


def test_lineage_pages_draw_the_groups_and_a_groups_assets(sluice_ui: Served, render: Render):
    """The global lineage draws one node per group; the label group's lineage draws its
    assets (with their neighbours in other groups)."""

    def missing(names: set[str]) -> Callable[[RenderedPage], list[str]]:
        return lambda page: sorted(names - page.node_labels)

    graph = render("asset-groups", "asset_graph", missing(GROUPS))
    assert not missing(GROUPS)(graph), (
        f"the global lineage draws no node for the group(s) {missing(GROUPS)(graph)}; "
        f"its nodes: {sorted(graph.node_labels)}"
    )
    label = {k for k, g in _materializable(sluice_ui.url).items() if g == "label"}
    assert {"lf_votes", "label_model", "weak_labels"} <= label
    group = render("locations/sluice/asset-groups/label/lineage", "asset_group_label",
                   missing(label))  # fmt: skip
    assert not missing(label)(group), (
        f"the label group's lineage draws no node for {missing(label)(group)}; "
        f"its nodes: {sorted(group.node_labels)}"
    )


def _materialization(url: str, key: str, partition: str) -> dict | None:
    asset = graphql(url, MATERIALIZATIONS, {"path": [key], "partition": partition})
    events = (asset["assetOrError"] or {}).get("assetMaterializations") or []
    return events[0] if events else None


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _fail_on_failed_runs(url: str) -> None:
    failed = graphql(url, FAILED_RUNS)["runsOrError"]["results"]
    if failed:
        log = ARTIFACTS / "dagster_dev.log"
        pytest.fail(f"run(s) failed: {[r['runId'] for r in failed]}; see {log}")


def _finished_run(url: str, run_id: str, deadline: float) -> dict:
    while (run := graphql(url, RUN, {"id": run_id})["runOrError"])["status"] not in FINISHED:
        assert time.monotonic() < deadline, f"run {run_id} did not finish in time"
        time.sleep(3)
    return run


@pytest.fixture(scope="module")
def landed(sluice_ui: Served) -> float:
    """Land a file for a day the instance has never seen; the deadline for its scores."""
    assert _materialization(sluice_ui.url, "comment_scores", NEW_DAY.isoformat()) is None
    landing = LocalObjectStore(sluice_ui.data / "landing")
    generate(landing, start=NEW_DAY, days=1, per_day=40, seed=9, formats=("jsonl",), name="new")
    return time.monotonic() + FLOW_TIMEOUT


def test_a_new_file_flows_to_its_scores_in_one_sensor_run(sluice_ui: Served, landed: float):
    day, deadline = NEW_DAY.isoformat(), landed
    while (scores := _materialization(sluice_ui.url, "comment_scores", day)) is None:
        _fail_on_failed_runs(sluice_ui.url)
        assert time.monotonic() < deadline, f"no comment_scores for {day} in {FLOW_TIMEOUT}s"
        time.sleep(3)

    run = _finished_run(sluice_ui.url, scores["runId"], deadline)  # checks after the scores
    assert run["status"] == "SUCCESS"
    assert _tags(run)["dagster/sensor_name"] == "landing_zone_sensor"
    for key in ("raw_comments", "comment_features", "lf_votes"):  # the same run, all the way
        assert _materialization(sluice_ui.url, key, day)["runId"] == scores["runId"], key


def test_backfill_command_launches_one_run_for_a_range(sluice_ui: Served):
    first, last = PREP_START, PREP_START + dt.timedelta(days=1)
    done = subprocess.run(
        [sys.executable, "-m", "sluice_cli.backfill", f"{first}...{last}",
         "--assets", "raw_comments", "--url", sluice_ui.url],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    backfill_id = done.stdout.split()[1].rstrip(":")
    assert f"{sluice_ui.url}/runs/b/{backfill_id}" in done.stdout

    deadline = time.monotonic() + 90
    while not (backfill := _backfill(sluice_ui.url, backfill_id))["runs"]:
        assert time.monotonic() < deadline, f"backfill {backfill_id} launched no run"
        time.sleep(2)
    assert backfill["partitionNames"] == [str(first), str(last)]
    assert backfill["assetSelection"] == [{"path": ["raw_comments"]}]
    [run] = backfill["runs"]  # single-run backfill policy: one run for the range
    tags = _tags(run)
    assert tags["dagster/backfill"] == backfill_id
    assert tags["dagster/asset_partition_range_start"] == str(first)
    assert tags["dagster/asset_partition_range_end"] == str(last)


def _backfill(url: str, backfill_id: str) -> dict:
    return graphql(url, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]


# The classifier page's metadata row `model_card`: click its "[Show Markdown]" (the UI shows
# Markdown of more than 1,000 characters in a dialog), as a user would.
OPEN_MODEL_CARD = """(() => {
  const row = [...document.querySelectorAll('tr')].find(
    (tr) => tr.cells.length > 1 && tr.cells[0].textContent.trim() === 'model_card');
  const link = row && [...row.querySelectorAll('a')].find(
    (a) => a.textContent.includes('Show Markdown'));
  if (!link) return false;
  link.click();
  return true;
})()"""
CARD_SHOWN = "document.body.innerText.includes('Model card: classifier')"
# Images that loaded: a data: URI the sanitizer dropped, or a PNG that does not decode, has
# no natural width.
LOADED_IMAGES = """[...document.querySelectorAll('img')].filter((i) => i.naturalWidth > 0)
  .map((i) => ({alt: i.alt, src: i.src.slice(0, 22)}))"""


def test_classifier_page_shows_the_model_card_with_its_plots(
    sluice_ui: Served, chromium: str, tmp_path: Path
):
    graphql(sluice_ui.url, "mutation SluiceNuxSeen { setNuxSeen }")
    with open_page(chromium, f"{sluice_ui.url}/assets/classifier", tmp_path / "chromium") as page:
        opened = page.wait_for(OPEN_MODEL_CARD, 120)
        shown = opened and page.wait_for(CARD_SHOWN, 60)
        images = page.wait_for(LOADED_IMAGES, 30) if shown else []
        page.screenshot(ARTIFACTS / "classifier_model_card.png")
        dom = page.evaluate("document.documentElement.outerHTML") or ""
    (ARTIFACTS / "classifier_model_card.html").write_text(dom)
    assert opened, "the classifier page has no model_card metadata with a [Show Markdown] link"
    assert shown, "the model card's dialog does not show the card"
    texts = RenderedPage(dom).texts
    assert {"Test metrics", "Plots", "Labeling functions", "Data versions by day"} <= texts
    plots = {"precision_recall.png", "calibration.png", "confusion_matrix.png", "top_terms.png",
             "labeling_functions.png"}  # fmt: skip
    inline = {i["alt"] for i in images if i["src"] == "data:image/png;base64,"}
    assert inline == plots, f"inline plots shown: {images}"
