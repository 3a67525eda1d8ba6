"""The local object store serves what is below its root, like a bucket would, and says what
it does not serve."""

import os

import pytest

from storage.object_store import LocalObjectStore, SkippedObject

DAY = "comments/dt=2024-03-10"


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "landing"
    (root / DAY).mkdir(parents=True)
    return LocalObjectStore(root)


def keys(store, prefix=""):
    return [info.key for info in store.list(prefix)]


def test_dotfiles_are_objects_like_any_other_key(store):
    """S3 would list `.x.jsonl`; so does the folder (in-flight writes live elsewhere)."""
    store.put_bytes(f"{DAY}/.hidden.jsonl", b"{}\n")
    store.put_bytes(f"{DAY}/a.jsonl", b"{}\n")
    assert keys(store, f"{DAY}/") == [f"{DAY}/.hidden.jsonl", f"{DAY}/a.jsonl"]
    assert store.skipped() == []


def test_a_link_to_a_file_outside_the_root_is_never_read_and_is_reported(store, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"comment_id": "x", "text": "private"}\n')
    os.symlink(secret, store.root / DAY / "evil.jsonl")
    assert keys(store, f"{DAY}/") == []
    assert store.skipped(f"{DAY}/") == [
        SkippedObject(f"{DAY}/evil.jsonl", "a link to a file outside the landing root")
    ]
    with pytest.raises(PermissionError, match="outside the store"):
        store.get_bytes(f"{DAY}/evil.jsonl")
    assert store.head(f"{DAY}/evil.jsonl") is None


def test_a_linked_folder_is_treated_the_same_by_a_day_listing_and_a_full_listing(store, tmp_path):
    """Before, a run listing its day's prefix read a linked dt= folder the sensor never saw."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.jsonl").write_text("{}\n")
    os.symlink(outside, store.root / "comments" / "dt=2024-03-11")
    assert keys(store) == []
    assert keys(store, "comments/dt=2024-03-11/") == []
    assert [s.key for s in store.skipped()] == ["comments/dt=2024-03-11"]
    assert [s.key for s in store.skipped("comments/dt=2024-03-11/")] == ["comments/dt=2024-03-11"]


def test_links_that_stay_inside_the_root_are_followed(store):
    store.put_bytes(f"{DAY}/a.jsonl", b"{}\n")
    os.symlink(store.root / DAY, store.root / "comments" / "dt=2024-03-12")
    assert keys(store) == [f"{DAY}/a.jsonl", "comments/dt=2024-03-12/a.jsonl"]


def test_a_cycle_of_links_ends(store):
    os.symlink(store.root / "comments", store.root / DAY / "loop")
    store.put_bytes(f"{DAY}/a.jsonl", b"{}\n")
    assert f"{DAY}/a.jsonl" in keys(store)
