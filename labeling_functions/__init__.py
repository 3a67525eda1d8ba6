"""The task: its class names and its labeling functions. This is the folder a user edits.

Each task is one module of this package that defines two names:

- `CLASSES`: class names in class-index order (label `i` is `CLASSES[i]`); score columns
  are named `p_<class name>`.
- `LFS`: the labeling functions, each voting a class index or -1 to abstain, over the
  columns of `comment_features` (see dbt_project/models/marts/schema.yml).

`SLUICE_TASK` names the module Sluice learns (`spam`, the default, or `ag_news`); Sluice reads
`CLASSES` and `LFS` from this package, which hands over the chosen module's. To bring another
task (SMS spam, ticket triage with three classes, ...), add a module here with these two names
and set `SLUICE_TASK` to its name. The module is imported on first use, not with the package:
its LFs import the weak-supervision library.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["CLASSES", "LFS", "task_module"]


def task_module(name: str | None = None) -> ModuleType:
    """The module of task `name` (default: the `SLUICE_TASK` setting), imported on first use."""
    if name is None:
        from settings import Settings

        name = Settings.from_env().task
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
        raise ModuleNotFoundError(
            f"SLUICE_TASK={name!r}: there is no labeling_functions/{name}.py", name=err.name
        ) from None
    missing = [attr for attr in ("CLASSES", "LFS") if not hasattr(module, attr)]
    if missing:
        raise AttributeError(f"labeling_functions/{name}.py does not define {missing}")
    return module


def __getattr__(attr: str) -> Any:
    """`CLASSES` and `LFS` of the task that `SLUICE_TASK` names (read at each access)."""
    if attr in ("CLASSES", "LFS"):
        return getattr(task_module(), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
