"""The dbt project (`dbt_project/`) as Dagster sees it, built once per process.

Kept apart from the assets that run dbt so that other stages (the model card's dbt code
versions) can read the project without importing a stage module, as Dagster's own data
platform does with its cached project factory. The manifest is parsed when it is missing or
older than the project's files, so CLI runs, tests and `dagster dev` all see current models,
and a fresh manifest costs no dbt call at import.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
)

from resources.dbt import DBT_PROJECT_DIR, dbt_executable
from settings import Settings

DAILY_SELECTION = "tag:daily"
# Tests that join a daily model to an unpartitioned one run with the unpartitioned models.
UNPARTITIONED_TESTS = "tag:unpartitioned"
GROUP_NAME = "transform"
DEFAULT_OWNERS = ("team:analytics",)

# dbt sources written by Dagster assets outside this module: the raw -> staging edges.
SOURCE_ASSET_KEYS: Mapping[tuple[str, str], AssetKey] = {
    ("raw", "comments"): AssetKey("raw_comments"),
    ("raw", "gold_labels"): AssetKey("gold_labels"),
}

# Files whose change can change the manifest. Generated folders are not walked.
_PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
_GENERATED_DIRS = {"target", "logs", "dbt_packages"}


def _newest_project_file_mtime(project_dir: Path) -> float:
    """Latest modification time among the project's source files (a few dozen stat calls)."""
    newest = 0.0
    for path in project_dir.rglob("*"):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in _GENERATED_DIRS or path.suffix not in _PROJECT_FILE_SUFFIXES:
            continue
        newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    """True when manifest.json is missing or older than any project file."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    return manifest.stat().st_mtime < _newest_project_file_mtime(project.project_dir)


def parse_manifest(project: DbtProject) -> None:
    """Run `dbt parse` and move the new manifest into place atomically.

    Several processes may load the code location at once (webserver, daemon, runs): each
    parses into its own folder and `os.replace` publishes the result, so no reader ever
    sees a half-written manifest.json.
    """
    target_dir = project.project_dir / project.target_path
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir, prefix="parse-") as scratch:
        DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
            ["parse", "--quiet"], target_path=Path(scratch)
        ).wait()
        os.replace(Path(scratch) / "manifest.json", project.manifest_path)


def _manifest_database(manifest: Mapping[str, Any]) -> str | None:
    """The database the manifest's models live in (dbt-duckdb: the warehouse file's stem)."""
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            return node["database"]
    return None


def prepare_dbt_project(
    project_dir: Path = DBT_PROJECT_DIR,
) -> tuple[DbtProject, Mapping[str, Any]]:
    """The dbt project and a current manifest, running `dbt parse` only when needed.

    `DbtProject.prepare_if_dev()` parses only under `dagster dev`, and there on every load;
    this parses wherever the manifest is stale (CLI, tests, the UI after an edit) and
    nowhere else, which keeps loading the code location fast. A manifest parsed for
    another warehouse file (a standalone `dbt build` with another SLUICE_WAREHOUSE) is
    stale too: its relation names, which row counts and column metadata query, would
    point at the wrong database.
    """
    project = DbtProject(project_dir=project_dir)
    warehouse_database = Path(Settings.from_env().warehouse).stem
    if not manifest_is_stale(project):
        manifest = json.loads(project.manifest_path.read_text())
        if _manifest_database(manifest) == warehouse_database:
            return project, manifest
    parse_manifest(project)
    return project, json.loads(project.manifest_path.read_text())


def _project_macro_closure(manifest: Mapping[str, Any], macro_ids: Sequence[str]) -> list[str]:
    """The project's own macros reachable from `macro_ids` (dbt's built-ins are left out)."""
    project_name = manifest["metadata"]["project_name"]
    macros = manifest["macros"]
    seen: set[str] = set()
    pending = list(macro_ids)
    while pending:
        macro_id = pending.pop()
        macro = macros.get(macro_id)
        if macro_id in seen or macro is None or macro["package_name"] != project_name:
            continue
        seen.add(macro_id)
        pending.extend(macro["depends_on"]["macros"])
    return sorted(seen)


class SluiceDbtTranslator(DagsterDbtTranslator):
    """Maps dbt nodes to Sluice's assets: the `transform` group, owners, code versions.

    The code version hashes a model's SQL together with every project macro it uses, so
    editing the normalization macro marks `stg_comments` changed in the UI, not only
    editing the model's own file.
    """

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        digest = hashlib.sha256(props["raw_code"].encode())
        for macro_id in _project_macro_closure(manifest, props["depends_on"]["macros"]):
            digest.update(macro_id.encode())
            digest.update(manifest["macros"][macro_id]["macro_sql"].encode())
        return spec.replace_attributes(code_version=digest.hexdigest()[:16])

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source = (dbt_resource_props["source_name"], dbt_resource_props["name"])
            if source in SOURCE_ASSET_KEYS:
                return SOURCE_ASSET_KEYS[source]
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP_NAME

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return super().get_owners(dbt_resource_props) or list(DEFAULT_OWNERS)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "model" and len(fqn) > 2:
            tags["layer"] = fqn[1]  # staging / intermediate / marts, from the folder
        return tags


@cache
def dbt_project() -> tuple[DbtProject, Mapping[str, Any]]:
    """The project and its current manifest, prepared once per process."""
    return prepare_dbt_project()


TRANSLATOR = SluiceDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


def dbt_code_versions() -> dict[str, str]:
    """Code version (SQL + project macros hash) of every dbt model, by asset key: the model
    card records them."""
    project, manifest = dbt_project()
    return {
        TRANSLATOR.get_asset_key(node).to_user_string(): TRANSLATOR.get_asset_spec(
            manifest, unique_id, project
        ).code_version
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
