"""Turning weak labels into a training set: confidence filter and class balancing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def class_counts(frame: pd.DataFrame, classes: Sequence[str]) -> dict[str, float]:
    """Expected rows per class: the sum of each class's probability column."""
    return {name: round(float(frame[f"p_{name}"].sum()), 2) for name in classes}


def balance(frame: pd.DataFrame, classes: Sequence[str], method: str, seed: int) -> pd.DataFrame:
    """Apply the policy's balancing; returns the rows kept with a `weight` column.

    `undersample` keeps, per hard label, as many rows as the smallest class has;
    `reweight` scales weights so every class carries the same total probability mass.
    """
    frame = frame.assign(weight=1.0)
    if method == "none" or frame.empty:
        return frame
    if method == "undersample":
        smallest = frame["label"].value_counts().min()
        parts = [
            group.sample(n=smallest, random_state=seed) if len(group) > smallest else group
            for _, group in frame.groupby("label", sort=True)
        ]
        return pd.concat(parts).sort_values("comment_id").reset_index(drop=True)
    if method == "reweight":
        mass = np.array([frame[f"p_{name}"].sum() for name in classes])
        target = mass.sum() / len(classes)
        factor = np.divide(target, mass, out=np.ones_like(mass), where=mass > 0)
        proba = frame[[f"p_{name}" for name in classes]].to_numpy()
        frame["weight"] = proba @ factor
        return frame
    raise ValueError(f"unknown class_balance {method!r}")
