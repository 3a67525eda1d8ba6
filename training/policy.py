"""The training policy (`policies/training.yml`): training window, class balancing,
confidence threshold and the promotion tolerance, declared as data and validated strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.documents import load_yaml, validate_document


class TrainingPolicyError(ValueError):
    """The training policy file is invalid; the message says which key and why."""


class TrainingPolicy(BaseModel):
    """A validated training policy; `model_dump()` is what model cards record."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: Literal[1] = Field(1, exclude=True)
    training_days: int | None = Field(None, ge=1)
    class_balance: Literal["none", "undersample", "reweight"] = "none"
    # Strict, but YAML's `0` is a fine probability: accept ints for the float fields.
    min_confidence: float = Field(0.0, ge=0.0, lt=1.0, strict=False)
    champion_tolerance: float = Field(0.01, ge=0.0, strict=False)
    seed: int = 123

    @classmethod
    def load(cls, path: str | Path) -> TrainingPolicy:
        doc = load_yaml(path, TrainingPolicyError)
        return validate_document(cls, doc, str(path), TrainingPolicyError)
