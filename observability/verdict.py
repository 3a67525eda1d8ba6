"""The three outcomes every judgement ends in, and the warn/error marks that produce them.

The marks are pydantic models so that config/observability.yml validates them at load: a mark
that is not a number, an unknown key or a warn mark past its error mark fails there.
"""

import enum
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, model_validator


class Verdict(enum.IntEnum):
    """PASS, WARN or ERROR, ordered so that the worst of several is `max`."""

    PASS = 0
    WARN = 1
    ERROR = 2


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict, PASS for none."""
    return max(verdicts, default=Verdict.PASS)


class _Marks(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    warn: float
    error: float


class Ceiling(_Marks):
    """Marks for a value where larger is worse (an effect size, a spike ratio)."""

    @model_validator(mode="after")
    def _ordered(self) -> "Ceiling":
        if self.warn > self.error:
            raise ValueError(f"ceiling warn mark {self.warn} is above its error mark {self.error}")
        return self

    def judge(self, value: float) -> Verdict:
        if value >= self.error:
            return Verdict.ERROR
        return Verdict.WARN if value >= self.warn else Verdict.PASS


class Floor(_Marks):
    """Marks for a value where smaller is worse (a drop ratio)."""

    @model_validator(mode="after")
    def _ordered(self) -> "Floor":
        if self.warn < self.error:
            raise ValueError(f"floor warn mark {self.warn} is below its error mark {self.error}")
        return self

    def judge(self, value: float) -> Verdict:
        if value <= self.error:
            return Verdict.ERROR
        return Verdict.WARN if value <= self.warn else Verdict.PASS
