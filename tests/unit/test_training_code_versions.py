"""Code versions of the label and train assets cover the training policy they read, so a
changed training window marks them stale (and the daily LF votes, which do not read it, not)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from settings import PROJECT_ROOT

HASHED = ("assets", "labeling_functions", "policies", "training", "weak_supervision")
PRINT_VERSIONS = """
import json, sys
from pathlib import Path
import assets.versioning
assets.versioning.PROJECT_ROOT = Path(sys.argv[1])
from assets.label import label_model, lf_summary, lf_votes, weak_labels
from assets.train import classifier, training_set
print(json.dumps({
    a.key.to_user_string(): a.code_versions_by_key[a.key]
    for a in (lf_votes, lf_summary, label_model, weak_labels, training_set, classifier)
}))
"""


def code_versions(root: Path) -> dict[str, str]:
    """The assets' code versions when the hashed sources are read from `root`."""
    done = subprocess.run(
        [sys.executable, "-c", PRINT_VERSIONS, str(root)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def copy_sources(root: Path) -> Path:
    for name in HASHED:
        shutil.copytree(
            PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def test_changing_the_training_window_marks_the_label_and_train_assets_stale(tmp_path):
    before = code_versions(copy_sources(tmp_path / "before"))
    after_root = copy_sources(tmp_path / "after")
    policy = after_root / "policies" / "training.yml"
    policy.write_text(policy.read_text().replace("training_days: null", "training_days: 30"))
    after = code_versions(after_root)
    stale = {key for key in before if before[key] != after[key]}
    assert stale == {"lf_summary", "label_model", "weak_labels", "training_set", "classifier"}
