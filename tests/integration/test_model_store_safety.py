"""A classifier's artifact follows from its inputs: the same training frame gives the same
bytes (and SHA-256) in any process. Fresh interpreters get other hash seeds (string and set
orders) and other memory addresses, which is what made four retrains on unchanged data
give four different artifacts.

Run as a module, this file is the fresh process: it fits a frame as
`training.train.train_classifier` does and writes the artifact.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from settings import PROJECT_ROOT
from training.classifier import SoftLabelClassifier, dumps
from training.registry import sha256

pytestmark = pytest.mark.slow
HASH_SEEDS = ("0", "1", "4242")


def fit_artifact(frame: pd.DataFrame, classes: list[str], seed: int) -> bytes:
    """The artifact `train_classifier` registers for a training frame (p_<class>, weight)."""
    proba = frame[[f"p_{c}" for c in classes]].to_numpy()
    model = SoftLabelClassifier(seed=seed).fit(
        frame, proba, sample_weight=frame["weight"].to_numpy()
    )
    return dumps(model)


def fit_in_fresh_process(
    frame: pd.DataFrame, classes: list[str], seed: int, hash_seed: str, folder: Path
) -> bytes:
    """`fit_artifact` in a new interpreter with PYTHONHASHSEED=`hash_seed`."""
    frame_path, out = folder / f"frame-{hash_seed}.parquet", folder / f"model-{hash_seed}.skops"
    frame.to_parquet(frame_path)
    subprocess.run(
        [sys.executable, "-m", "tests.integration.test_model_store_safety",
         str(frame_path), str(out), str(seed), *classes],
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed}, check=True,
        timeout=300,
    )  # fmt: skip
    return out.read_bytes()


def synthetic_frame(rows: int = 400) -> pd.DataFrame:
    """Comments with soft labels and weights, enough words for a vocabulary of thousands."""
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(300)] + ["check", "my", "channel", "http://x.example"]
    spam = rng.random(rows)
    return pd.DataFrame(
        {"text": [" ".join(rng.choice(words, rng.integers(3, 15))) for _ in range(rows)],
         "p_ham": 1 - spam, "p_spam": spam, "weight": rng.uniform(0.5, 1.5, rows)}
    )  # fmt: skip


def test_the_same_inputs_give_the_same_artifact_in_every_process(tmp_path):
    frame, classes = synthetic_frame(), ["ham", "spam"]
    here = fit_artifact(frame, classes, seed=123)
    elsewhere = {s: fit_in_fresh_process(frame, classes, 123, s, tmp_path) for s in HASH_SEEDS}
    assert {sha256(data) for data in elsewhere.values()} == {sha256(here)}
    assert all(data == here for data in elsewhere.values())


if __name__ == "__main__":
    frame_file, out_file, seed_arg, *class_names = sys.argv[1:]
    artifact = fit_artifact(pd.read_parquet(frame_file), class_names, int(seed_arg))
    Path(out_file).write_bytes(artifact)
