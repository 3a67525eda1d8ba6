"""`resources/instance.py` on a real Dagster instance: the one paging loop over the event log
reads every record, newest first, across pages; and the Dagster internals it relies on still
have the shape it expects (these tests fail loudly on a Dagster upgrade that changes them)."""

import inspect

import dagster as dg
import pytest

from resources.instance import (
    CheckExecution,
    MaterializationTarget,
    check_executions,
    latest_materialization,
    materialization_target,
    materializations,
    observations,
)

pytestmark = pytest.mark.integration

KEY = dg.AssetKey("events")
CHECK = dg.AssetCheckKey(KEY, "column_schema")
DAYS = [f"2024-01-{n:02d}" for n in range(1, 26)]


@pytest.fixture
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def test_materializations_and_observations_are_read_across_pages(instance) -> None:
    for day in DAYS:
        instance.report_runless_asset_event(dg.AssetMaterialization(KEY, partition=day))
        instance.report_runless_asset_event(dg.AssetObservation(KEY, partition=day))

    read = [r.partition_key for r in materializations(instance, KEY, page_size=4)]
    assert read == DAYS[::-1]  # newest first, all 25 over seven pages
    only = dg.AssetRecordsFilter(asset_key=KEY, asset_partitions=DAYS[:3])
    assert [r.partition_key for r in observations(instance, only, page_size=2)] == DAYS[2::-1]
    assert latest_materialization(instance, KEY).partition_key == DAYS[-1]
    assert latest_materialization(instance, dg.AssetKey("never")) is None


def test_check_executions_are_read_across_pages_with_their_evaluations(instance) -> None:
    for n, day in enumerate(DAYS):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=KEY,
                check_name=CHECK.name,
                passed=n != 0,
                metadata={"n": n},
                partition=day,
            )
        )

    executions = list(check_executions(instance, CHECK, page_size=4))
    assert [e.partition for e in executions] == DAYS[::-1]
    assert [e.id for e in executions] == sorted((e.id for e in executions), reverse=True)
    oldest: CheckExecution = executions[-1]
    assert oldest.evaluation is not None and not oldest.evaluation.passed
    assert oldest.evaluation.metadata["n"].value == 0 and oldest.timestamp is not None


def test_the_private_target_materialization_type_keeps_its_shape() -> None:
    """Dagster 1.13 exports no constructor for `target_materialization_data`; the adapter
    builds the private record. If this fails after an upgrade, look for a public API first."""
    assert MaterializationTarget.__name__ == "AssetCheckEvaluationTargetMaterializationData"
    assert MaterializationTarget.__annotations__ == {
        "storage_id": int,
        "run_id": str,
        "timestamp": float,
    }
    target = materialization_target(storage_id=7, run_id="abc", timestamp=1.5)
    assert (target.storage_id, target.run_id, target.timestamp) == (7, "abc", 1.5)
    evaluation = dg.AssetCheckEvaluation(
        asset_key=KEY, check_name=CHECK.name, passed=True, target_materialization_data=target
    )
    assert evaluation.target_materialization_data == target
    parameter = inspect.signature(dg.AssetCheckEvaluation).parameters["target_materialization_data"]
    assert MaterializationTarget.__name__ in str(parameter.annotation)
    assert not hasattr(dg, "AssetCheckEvaluationTargetMaterializationData"), (
        "Dagster now exports it: use the public name in resources/instance.py"
    )


def test_the_check_history_reader_keeps_its_signature_and_record_fields(instance) -> None:
    """The instance has no public reader of check history; the adapter pages through the
    event-log storage's, by id. Pin what it relies on."""
    history = instance.event_log_storage.get_asset_check_execution_history
    parameters = inspect.signature(history).parameters
    assert list(parameters)[:3] == ["check_key", "limit", "cursor"]
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=KEY, check_name=CHECK.name, passed=True)
    )
    (record,) = history(CHECK, limit=1)
    assert {"id", "run_id", "partition", "event"} <= set(record._fields), record
    execution = CheckExecution.from_record(record)
    assert execution.evaluation is not None and execution.evaluation.passed
