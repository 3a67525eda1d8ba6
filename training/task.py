"""The task being learned: its class names and labeling functions, from the module of
`labeling_functions/` (the folder a user edits) that `SLUICE_TASK` names, loaded on first use
because the LFs import the weak-supervision library."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from weak_supervision import LabelingFunction


class Task(NamedTuple):
    """Class names in class-index order, and the labeling functions."""

    classes: Sequence[str]
    lfs: Sequence[LabelingFunction]

    @property
    def positive(self) -> int:
        """The class the precision-recall and calibration plots follow: class 1 of two
        (spam in the default task), else class 0."""
        return 1 if len(self.classes) == 2 else 0

    def lf_versions(self) -> dict[str, str]:
        return {lf.name: lf.version for lf in self.lfs}


def task(name: str | None = None) -> Task:
    """Task `name` (a module of `labeling_functions/`); by default the one `SLUICE_TASK` sets."""
    from labeling_functions import task_module

    module = task_module(name)
    return Task(module.CLASSES, module.LFS)
