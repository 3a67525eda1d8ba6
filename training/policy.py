"""The training policy (`policies/training.yml`): training window, class balancing,
confidence threshold and the promotion tolerance, declared as data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

BALANCING = ("none", "undersample", "reweight")


@dataclass(frozen=True)
class TrainingPolicy:
    training_days: int | None = None
    class_balance: str = "none"
    min_confidence: float = 0.0
    champion_tolerance: float = 0.01
    seed: int = 123

    @classmethod
    def load(cls, path: str | Path) -> TrainingPolicy:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        doc.pop("version", None)
        unknown = set(doc) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        policy = cls(**doc)
        if policy.class_balance not in BALANCING:
            raise ValueError(f"{path}: class_balance must be one of {BALANCING}")
        if not 0.0 <= policy.min_confidence < 1.0:
            raise ValueError(f"{path}: min_confidence must be in [0, 1)")
        if policy.champion_tolerance < 0:
            raise ValueError(f"{path}: champion_tolerance must be >= 0")
        return policy
