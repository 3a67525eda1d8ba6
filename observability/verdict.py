"""The three outcomes every judgement ends in, and the warn/error marks that produce them."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Verdict(enum.IntEnum):
    """PASS, WARN or ERROR, ordered so that the worst of several is `max`."""

    PASS = 0
    WARN = 1
    ERROR = 2


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict, PASS for none."""
    return max(verdicts, default=Verdict.PASS)


@dataclass(frozen=True)
class Ceiling:
    """Marks for a value where larger is worse (an effect size, a spike ratio)."""

    warn: float
    error: float

    def __post_init__(self) -> None:
        if self.warn > self.error:
            raise ValueError(f"ceiling warn mark {self.warn} is above its error mark {self.error}")

    def judge(self, value: float) -> Verdict:
        if value >= self.error:
            return Verdict.ERROR
        return Verdict.WARN if value >= self.warn else Verdict.PASS


@dataclass(frozen=True)
class Floor:
    """Marks for a value where smaller is worse (a drop ratio)."""

    warn: float
    error: float

    def __post_init__(self) -> None:
        if self.warn < self.error:
            raise ValueError(f"floor warn mark {self.warn} is below its error mark {self.error}")

    def judge(self, value: float) -> Verdict:
        if value <= self.error:
            return Verdict.ERROR
        return Verdict.WARN if value <= self.warn else Verdict.PASS
