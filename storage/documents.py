"""Loading declared configuration (policies, thresholds) from YAML, validated by pydantic.

Every error names the file, the key path and what was expected, so a typo in a policy
fails when the code location loads, not at a run's first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml(path: str | Path, error: type[Exception]) -> dict[str, Any]:
    """The mapping in a YAML file (empty file: empty mapping); `error` for anything else."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise error(f"{path}: cannot be read as YAML: {err}") from err
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise error(f"{path}: the top level must be a mapping, got {type(doc).__name__}")
    return doc


def validate_document(
    model: type[Model], doc: dict[str, Any], source: str, error: type[Exception]
) -> Model:
    """`doc` validated as `model`; the error lists each bad key as `a.b: what was expected`."""
    try:
        return model.model_validate(doc)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            f" (got {e['input']!r})" if e["type"] != "extra_forbidden"
            else f"{'.'.join(str(p) for p in e['loc'])}: unknown key"
            for e in err.errors()
        )  # fmt: skip
        raise error(f"{source}: {problems}") from None
