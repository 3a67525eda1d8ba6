"""Column-schema change between a table's accepted schema and its current one.

A dropped or retyped column breaks readers of the table: an error. An added column breaks
nobody: a warning. Any change that arrives together with a new code version of the asset
(an edited dbt model, a new ingest release) is deliberate: a warning, and it becomes the
accepted schema; without a code change the error persists until the table is repaired.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from observability.verdict import Verdict

Column = tuple[str, str]  # (name, type)


@dataclass(frozen=True)
class SchemaDiff:
    added: tuple[Column, ...]
    dropped: tuple[Column, ...]
    retyped: tuple[tuple[str, str, str], ...]  # (name, accepted type, current type)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.dropped or self.retyped)

    def describe(self) -> str:
        parts = []
        if self.dropped:
            parts.append("dropped " + ", ".join(f"{name} {kind}" for name, kind in self.dropped))
        if self.retyped:
            parts.append(
                "retyped " + ", ".join(f"{name} {old} -> {new}" for name, old, new in self.retyped)
            )
        if self.added:
            parts.append("added " + ", ".join(f"{name} {kind}" for name, kind in self.added))
        return "; ".join(parts) or "unchanged"


def diff_schema(accepted: Sequence[Column], current: Sequence[Column]) -> SchemaDiff:
    """Columns added, dropped and retyped; names compare case-insensitively, as SQL does."""
    before = {name.lower(): (name, kind.upper()) for name, kind in accepted}
    after = {name.lower(): (name, kind.upper()) for name, kind in current}
    return SchemaDiff(
        added=tuple(after[key] for key in after if key not in before),
        dropped=tuple(before[key] for key in before if key not in after),
        retyped=tuple(
            (after[key][0], before[key][1], after[key][1])
            for key in after
            if key in before and before[key][1] != after[key][1]
        ),
    )


@dataclass(frozen=True)
class SchemaJudgement:
    diff: SchemaDiff
    verdict: Verdict
    accept_current: bool  # whether the current schema becomes the accepted one
    reason: str


def judge_schema(diff: SchemaDiff, code_changed: bool) -> SchemaJudgement:
    if not diff.changed:
        return SchemaJudgement(diff, Verdict.PASS, True, "columns unchanged")
    if code_changed:
        return SchemaJudgement(
            diff, Verdict.WARN, True, f"changed with a new code version: {diff.describe()}"
        )
    if diff.dropped or diff.retyped:
        return SchemaJudgement(
            diff, Verdict.ERROR, False, f"changed without a code change: {diff.describe()}"
        )
    return SchemaJudgement(diff, Verdict.WARN, True, diff.describe())
