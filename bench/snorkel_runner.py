"""The Snorkel side of the comparisons; runs inside `bench/.venv-snorkel` (see snorkel_env.py).

    python bench/snorkel_runner.py label_model '{"train": "L_train.npy", ...}'
    python bench/snorkel_runner.py apply '{"rows": "rows.parquet", "out": "L.npy"}'

Prints one JSON line. The LFs are this project's (`labeling_functions.LFS`), translated to
Snorkel `LabelingFunction`s that evaluate one row in Python, the way Snorkel's
`PandasLFApplier` calls them: declarative LFs through their own Python evaluation (their RE2
pattern, the one their SQL runs, compiled once with google-re2), and the Python LFs, which
this project writes over whole batches, through the row-by-row forms below, written from
the same cues. The benchmark checks that the votes are identical to this project's applier.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction, PandasLFApplier
from snorkel.labeling.model import LabelModel

from labeling_functions import LFS, spam
from weak_supervision import ABSTAIN, DeclarativeLF, ThresholdLF, regex
from weak_supervision.declarative import is_missing

Row = Any  # a pandas Series, one row of the DataFrame


def _declarative(lf: DeclarativeLF) -> Callable[[Row], int]:
    if isinstance(lf, ThresholdLF):
        return lambda x: lf.vote_value(x[lf.column])
    pattern = regex.compiled(lf.re2_pattern)
    column, label = lf.column, lf.label

    def vote(x: Row) -> int:
        value = x[column]
        return ABSTAIN if is_missing(value) or not pattern.search(value) else label

    return vote


def _row_forms() -> dict[str, Callable[[Row], int]]:
    """Per-row versions of the task's batch Python LFs."""
    promotion = regex.compiled(spam.PROMOTION)
    emotion = regex.compiled(spam.EMOTION)

    def short_comment(x: Row) -> int:
        return spam.HAM if x.word_count < 5 and x.url_count == 0 else ABSTAIN

    def no_promotion(x: Row) -> int:
        quiet = x.url_count == 0 and not promotion.search(x.text)
        return spam.HAM if quiet else ABSTAIN

    def emotional_reaction(x: Row) -> int:
        reacting = emotion.search(x.text) and not promotion.search(x.text)
        return spam.HAM if reacting else ABSTAIN

    return {f.__name__: f for f in (short_comment, no_promotion, emotional_reaction)}


def snorkel_lfs() -> list[LabelingFunction]:
    """The task's LFs as Snorkel LFs, in the same order."""
    rows = _row_forms()
    translated = []
    for lf in LFS:
        if isinstance(lf, DeclarativeLF):
            f = _declarative(lf)
        elif lf.name in rows:
            f = rows[lf.name]
        else:
            raise KeyError(f"no per-row form for the Python LF {lf.name!r}")
        translated.append(LabelingFunction(lf.name, f=f))
    return translated


def label_model(args: dict[str, Any]) -> dict[str, Any]:
    """Fit Snorkel's LabelModel (timed, `repeats` times) and save its test probabilities."""
    L_train = np.load(args["train"])
    seconds = []
    for _ in range(args["repeats"]):
        model = LabelModel(cardinality=args["cardinality"], verbose=False)
        start = time.perf_counter()
        model.fit(
            L_train=L_train,
            n_epochs=args["epochs"],
            log_freq=100,
            seed=args["seed"],
            progress_bar=False,
        )
        seconds.append(time.perf_counter() - start)
    for source, target in args["predict"].items():
        np.save(target, model.predict_proba(np.load(source)))
    return {"fit_seconds": seconds, "snorkel": version("snorkel"), "torch": version("torch")}


def apply(args: dict[str, Any]) -> dict[str, Any]:
    """Apply the translated LFs with `PandasLFApplier` (timed) and save the label matrix."""
    frame = pd.read_parquet(args["rows"])
    applier = PandasLFApplier(snorkel_lfs())
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    L = applier.apply(frame, progress_bar=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.save(args["out"], L)
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "load_average_1m": [load_before, os.getloadavg()[0]],
        "rows": len(frame),
    }


if __name__ == "__main__":
    command, payload = sys.argv[1], json.loads(sys.argv[2])
    result = {"label_model": label_model, "apply": apply}[command](payload)
    print(json.dumps(result))
