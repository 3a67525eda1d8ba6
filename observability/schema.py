"""Column-schema change between a table's accepted schema and its current one.

A dropped or retyped column breaks readers of the table: an error. An added column breaks
nobody: a warning. Any change that arrives together with a new code version of the asset
(an edited dbt model, a new ingest release) is deliberate: a warning, and it becomes the
accepted schema; without a code change the error persists until the table is repaired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    """The verdict on a change, and whether the current schema becomes the accepted one."""
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


@dataclass(frozen=True)
class AcceptedSchema:
    """The schema a table was last accepted with, and the asset's code version then."""

    columns: tuple[Column, ...]
    code_version: str

    def as_metadata(self) -> dict[str, Any]:
        """Recorded on every evaluation, so the next one finds its baseline there."""
        return {
            "accepted_schema": _as_lists(self.columns),
            "accepted_code_version": self.code_version,
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> AcceptedSchema | None:
        """The baseline an earlier evaluation recorded (plain values), if it recorded one."""
        if "accepted_schema" not in metadata:
            return None
        columns = tuple((name, kind) for name, kind in metadata["accepted_schema"])
        return cls(columns, str(metadata["accepted_code_version"]))


@dataclass(frozen=True)
class TableSchemaJudgement:
    """A table's current columns against its accepted schema."""

    verdict: Verdict
    reason: str
    metadata: dict[str, Any]


def _as_lists(columns: Sequence[tuple[str, ...]]) -> list[list[str]]:
    return [list(column) for column in columns]


def judge_table_schema(
    table: str, current: Sequence[Column], code_version: str, accepted: AcceptedSchema | None
) -> TableSchemaJudgement:
    """`current` against the accepted schema; the metadata carries the baseline forward.

    The first evaluation records the schema. A missing table records nothing, so the next
    evaluation still compares with the baseline from before.
    """
    if not current:
        return TableSchemaJudgement(Verdict.ERROR, f"{table} does not exist", {})
    now = AcceptedSchema(tuple(current), code_version)
    if accepted is None:
        reason = f"first schema of {table} recorded: {len(current)} columns"
        return TableSchemaJudgement(Verdict.PASS, reason, now.as_metadata())
    diff = diff_schema(accepted.columns, current)
    judged = judge_schema(diff, code_changed=code_version != accepted.code_version)
    kept = now if judged.accept_current else accepted
    metadata = {"columns": len(current), **kept.as_metadata()}
    if diff.changed:
        metadata |= {
            "dropped": _as_lists(diff.dropped),
            "added": _as_lists(diff.added),
            "retyped": _as_lists(diff.retyped),
        }
    return TableSchemaJudgement(judged.verdict, judged.reason, metadata)
