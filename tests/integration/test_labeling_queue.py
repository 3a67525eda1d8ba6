"""The loop the labeling queue exists for, through Dagster on a real warehouse and a real
landing zone: the queue is exported to the exports store as a gold-label CSV, an annotator
fills in labels and drops the file into `labels/`, and the next `gold_labels` /
`label_model` / `lf_summary` run uses exactly those rows as `dev` labels."""

from __future__ import annotations

import csv
import io

import dagster as dg
import duckdb
import pytest

from resources import build_resources
from settings import Settings
from storage.object_store import LocalObjectStore
from tests.integration.test_training_assets import RANGE, features

pytestmark = pytest.mark.integration
FILLED = 20


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A featured warehouse, gold `test` labels in the landing zone and no `dev` labels."""
    from assets.ingest import gold_labels
    from assets.label import label_model, lf_summary, lf_votes
    from assets.labeling_queue import labeling_queue

    monkeypatch.setenv("SLUICE_DATA_DIR", str(tmp_path))
    for name in ("SLUICE_LANDING", "SLUICE_WAREHOUSE", "SLUICE_MODEL_STORE", "SLUICE_EXPORTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SLUICE_TASK", raising=False)  # the default task: spam
    settings = Settings.from_env()
    frame = features()
    with duckdb.connect(settings.warehouse) as con:
        con.register("featured", frame.drop(columns="gold"))
        con.execute("CREATE TABLE main.comment_features AS SELECT * FROM featured")
    landing = LocalObjectStore(settings.landing)
    test_rows = frame.iloc[::4]
    landing.put_bytes(
        "labels/test.csv",
        ("comment_id,label,split\n" + "".join(
            f"{r.comment_id},{r.gold},test\n" for r in test_rows.itertuples()
        )).encode(),
    )  # fmt: skip
    return {
        "settings": settings,
        "gold": dict(zip(frame["comment_id"], frame["gold"], strict=True)),
        "test_ids": set(test_rows["comment_id"]),
        "landing": landing,
        "resources": build_resources(settings),
        "instance": dg.DagsterInstance.ephemeral(),
        "assets": [gold_labels, lf_votes, lf_summary, label_model, labeling_queue],
    }


def materialize(env, keys: list[str], tags: dict | None = None) -> dg.ExecuteInJobResult:
    result = dg.materialize(
        env["assets"],
        selection=[dg.AssetKey(k) for k in keys],
        resources=env["resources"],
        instance=env["instance"],
        tags=tags or {},
        raise_on_error=False,
    )
    assert result.success
    return result


def metadata(result: dg.ExecuteInJobResult, key: str) -> dict:
    [event] = result.asset_materializations_for_node(key)
    return {name: value.value for name, value in event.metadata.items()}


def test_labels_filled_into_the_queue_are_the_next_runs_dev_rows(env):
    materialize(env, ["gold_labels"])
    materialize(env, ["lf_votes"], tags=RANGE)
    before = materialize(env, ["label_model", "lf_summary", "labeling_queue"])
    assert "dev_accuracy" not in metadata(before, "label_model")  # no dev labels yet
    assert metadata(before, "lf_summary")["dev_rows"] == 0
    queue_meta = metadata(before, "labeling_queue")
    assert queue_meta["rows"] > FILLED

    exports = LocalObjectStore(env["settings"].exports)
    [key] = [info.key for info in exports.list("labeling_queue/")]
    assert key.endswith(f"{metadata(before, 'label_model')['version']}.csv")
    rows = list(csv.DictReader(io.StringIO(exports.get_bytes(key).decode())))
    assert len(rows) == queue_meta["rows"]
    assert {r["label"] for r in rows} == {""} and {r["split"] for r in rows} == {"dev"}
    assert not {r["comment_id"] for r in rows} & env["test_ids"]  # test rows never queued

    # The annotator labels the first FILLED rows (the truth, here), deletes the others and
    # drops the file into labels/.
    filled = rows[:FILLED]
    for row in filled:
        row["label"] = str(env["gold"][row["comment_id"]])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(filled)
    env["landing"].put_bytes("labels/queue-round-1.csv", buf.getvalue().encode())

    materialize(env, ["gold_labels"])
    after = materialize(env, ["label_model", "lf_summary"])
    assert metadata(after, "lf_summary")["dev_rows"] == FILLED
    assert "dev_accuracy" in metadata(after, "label_model")
    with duckdb.connect(env["settings"].warehouse, read_only=True) as con:
        dev = con.execute(
            "SELECT comment_id, label FROM raw.gold_labels WHERE split = 'dev'"
        ).fetchall()
    assert dict(dev) == {r["comment_id"]: env["gold"][r["comment_id"]] for r in filled}
