"""What `python -m training reproduce` compares before and after a rebuild (pure parts)."""

import datetime as dt

import numpy as np

from storage.object_store import LocalObjectStore
from training.lineage import landing_manifest, last_owned_day
from training.reproduce import differences, judge, recorded_inputs, unrecorded


def _card(**lineage):
    return {
        "training": {"policy": {"seed": 123, "class_balance": "none"}},
        "libraries": {"scikit-learn": "1.9.1"},
        "lineage": {"lf_versions": {"lf_a": "v1"}, "git_commit": "abc", **lineage},
    }


def test_each_changed_input_is_named_with_both_values():
    card = _card(landing_files={"comments/dt=2024-01-01/a.jsonl": "e1"}, ingest_policy_version="p1")
    current = {
        **recorded_inputs(card),
        "landing file": {"comments/dt=2024-01-01/a.jsonl": "e2"},
        "ingest policy version": "p2",
        "LF version": {"lf_a": "v1", "lf_b": "v9"},
    }
    found = {d.what: d for d in differences(recorded_inputs(card), current)}
    assert set(found) == {
        "landing file comments/dt=2024-01-01/a.jsonl",
        "ingest policy version",
        "LF version lf_b",
    }
    assert (found["ingest policy version"].recorded, found["ingest policy version"].current) == (
        "p1",
        "p2",
    )
    assert found["LF version lf_b"].recorded == "(absent)"
    assert "recorded e1, now e2" in str(found["landing file comments/dt=2024-01-01/a.jsonl"])


def test_nothing_changed_means_no_difference():
    card = _card(landing_files={"labels/gold.csv": "e"}, ingest_policy_version="p1")
    assert differences(recorded_inputs(card), recorded_inputs(card)) == []


def test_an_old_card_says_what_it_does_not_record():
    assert unrecorded(_card()) == ["landing file", "ingest policy version"]
    assert unrecorded(_card(landing_files={}, ingest_policy_version="p")) == []


def test_manifest_keeps_files_that_can_hold_the_partitions_and_all_labels(tmp_path):
    store = LocalObjectStore(str(tmp_path))
    for key in ("comments/dt=2024-01-01/a.jsonl", "comments/dt=2024-01-04/b.jsonl",
                "comments/not-a-day/c.jsonl", "labels/gold.csv"):  # fmt: skip
        store.put_bytes(key, key.encode())
    through = last_owned_day(["2024-01-01", "2024-01-02"], late_arrival_days=1)
    assert through == dt.date(2024, 1, 3)
    manifest = landing_manifest(store, through)
    assert sorted(manifest) == ["comments/dt=2024-01-01/a.jsonl", "labels/gold.csv"]
    store.put_bytes("labels/gold.csv", b"replaced")
    assert landing_manifest(store, through)["labels/gold.csv"] != manifest["labels/gold.csv"]


def test_judge_prefers_bit_identity_then_predictions():
    p = np.array([[0.2, 0.8], [0.9, 0.1]])
    assert judge("s", "s", p, p).identical_artifact
    same = judge("s", "t", p, p.copy())
    assert not same.identical_artifact and same.identical_predictions and same.reproduced
    other = judge("s", "t", p, np.array([[0.2, 0.8], [0.4, 0.6]]))
    assert not other.reproduced and other.differing_rows == 1
    assert "1 of 2" in str(other)


def test_the_card_records_which_reduction_rules_were_on(tmp_path):
    from settings import PROJECT_ROOT
    from training.lineage import policy_inputs

    policies = PROJECT_ROOT / "policies"
    default = policy_inputs(policies / "ingest.yml", policies / "training.yml")
    assert "near_duplicate" in default["reduction_rules"]
    off = (policies / "ingest.yml").read_text().replace("enabled: true", "enabled: false")
    (tmp_path / "ingest.yml").write_text(off)
    edited = policy_inputs(tmp_path / "ingest.yml", policies / "training.yml")
    assert "near_duplicate" not in edited["reduction_rules"]
    assert edited["ingest_policy_version"] != default["ingest_policy_version"]
