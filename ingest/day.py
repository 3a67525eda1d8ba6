"""Ingest one day: parse its landing files, route records to days, apply the policy.

`ingest_day` is pure: bytes in, two Arrow tables and counts out. The asset
fetches the files and writes the tables; tests call this directly.

Routing. A record belongs to the day it was published, or to the day its file
landed when `published_at` is missing or unparseable. Files may land up to
`late_arrival_days` after publication, so day D reads the folders of D ... D+N
and keeps the records that are D's. Every record has exactly one owning day,
which is why rows in = kept + quarantined holds day by day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ingest.normalize import dedupe_key, has_control_chars, normalize_text
from ingest.parsers import ParsedRecord, parse_file
from ingest.policy import Policy
from ingest.raw_tables import QUARANTINE_SCHEMA, RAW_COMMENTS_SCHEMA


@dataclass(frozen=True)
class LandingFile:
    """A landing file's bytes and identity."""

    key: str
    landed_date: dt.date
    data: bytes
    etag: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class FileStats:
    key: str
    size: int
    etag: str
    landed_date: str
    records_owned: int = 0
    kept: int = 0
    quarantined: int = 0


@dataclass
class IngestResult:
    """What ingesting a day produced; `kept` and `quarantined` match the raw tables' schemas."""

    day: dt.date
    kept: pa.Table
    quarantined: pa.Table
    files: list[FileStats]
    routed_elsewhere: Counter[str] = field(default_factory=Counter)

    @property
    def records_in(self) -> int:
        return self.kept.num_rows + self.quarantined.num_rows

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        reasons = Counter(self.quarantined.column("reason").to_pylist())
        return dict(sorted(reasons.items()))

    @property
    def reduction_pct(self) -> float:
        return (
            round(100.0 * self.quarantined.num_rows / self.records_in, 2)
            if self.records_in
            else 0.0
        )

    def data_version(self) -> str:
        """A content hash of both tables: equal outputs give equal versions."""
        digest = hashlib.sha256()
        for table in (self.kept, self.quarantined):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            digest.update(sink.getvalue().to_pybytes())
        return digest.hexdigest()[:16]


def landing_days_for(day: dt.date, policy: Policy) -> list[dt.date]:
    """The landing folders whose files may hold records of `day`."""
    return [day + dt.timedelta(days=i) for i in range(policy.late_arrival_days + 1)]


def parse_published_at(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp as naive UTC, or None when missing or unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        ts = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
    return ts


def _as_text(value: Any) -> str | None:
    """Scalars as strings (ids often arrive as numbers); None for null; raise for containers."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise TypeError(type(value).__name__)
    return value if isinstance(value, str) else str(value)


@dataclass
class _Candidate:
    file: LandingFile
    parsed: ParsedRecord
    published_at: dt.datetime | None = None


class _DayIngest:
    """Applies the policy to the records one day owns, in a fixed order."""

    def __init__(self, day: dt.date, policy: Policy, prior_ids: Mapping[str, str]) -> None:
        self.day = day
        self.policy = policy
        self.version = policy.version
        self.kept: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.seen_ids: dict[str, str] = dict(prior_ids)
        self.seen_author_texts: dict[tuple[str, str], str] = {}
        self.per_author: Counter[str] = Counter()

    def quarantine(self, c: _Candidate, reason: str, detail: str, fields: dict[str, Any]) -> None:
        def safe(name: str) -> str | None:
            try:
                return _as_text(fields.get(name))
            except TypeError:
                return None

        self.quarantined.append(
            {
                "partition_date": self.day,
                "landed_date": c.file.landed_date,
                "source_file": c.file.key,
                "source_record": c.parsed.record,
                "source_line": c.parsed.line,
                "reason": reason,
                "detail": detail,
                "comment_id": safe("comment_id"),
                "author": safe("author"),
                "text": safe("text"),
                "raw_record": c.parsed.raw,
                "policy_version": self.version,
            }
        )

    def consider(self, c: _Candidate, routing_reason: str | None) -> None:
        p, policy = c.parsed, self.policy
        fields = p.fields or {}
        if p.error:
            return self.quarantine(c, p.error, p.detail, fields)
        if routing_reason:
            return self.quarantine(
                c, routing_reason, f"published_at={fields.get('published_at')}", fields
            )
        for name in policy.required_fields:
            if fields.get(name) is None or fields.get(name) == "":
                return self.quarantine(c, "missing_field", f"'{name}' is absent or empty", fields)
        try:
            values = {
                name: _as_text(fields.get(name))
                for name in ("comment_id", "author", "text", "source")
            }
        except TypeError as err:
            return self.quarantine(c, "invalid_field_type", f"a field is a {err}", fields)
        if not isinstance(fields["text"], str):
            return self.quarantine(c, "invalid_field_type", "'text' must be a string", fields)
        comment_id = values["comment_id"].strip()
        if not comment_id or len(comment_id) > policy.comment_id_max_length:
            return self.quarantine(
                c, "invalid_comment_id", f"length must be 1..{policy.comment_id_max_length}", fields
            )
        text = values["text"]
        if policy.charset.control_chars == "quarantine" and has_control_chars(text):
            return self.quarantine(c, "forbidden_characters", "control characters in text", fields)
        if policy.charset.reject_replacement_char and "\ufffd" in text:
            return self.quarantine(
                c, "forbidden_characters", "U+FFFD in text (earlier bad decode)", fields
            )
        text = normalize_text(text, policy.normalize)
        if len(text) < policy.text_min_length:
            return self.quarantine(
                c, "text_too_short", f"{len(text)} < {policy.text_min_length} chars", fields
            )
        if len(text) > policy.text_max_length:
            return self.quarantine(
                c, "text_too_long", f"{len(text)} > {policy.text_max_length} chars", fields
            )
        here = f"{c.file.key} record {p.record}"
        if policy.dedupe.comment_id:
            if comment_id in self.seen_ids:
                return self.quarantine(
                    c, "duplicate_comment_id", f"first seen in {self.seen_ids[comment_id]}", fields
                )
            self.seen_ids[comment_id] = here
        author = values["author"].strip() if values["author"] else None
        if policy.dedupe.author_text and author:
            key = (author, dedupe_key(text))
            if key in self.seen_author_texts:
                return self.quarantine(
                    c,
                    "duplicate_author_text",
                    f"same text as {self.seen_author_texts[key]}",
                    fields,
                )
            self.seen_author_texts[key] = here
        if policy.author_daily_cap is not None and author:
            if self.per_author[author] >= policy.author_daily_cap:
                return self.quarantine(
                    c, "author_cap_exceeded", f"cap is {policy.author_daily_cap} per day", fields
                )
            self.per_author[author] += 1
        self.kept.append(
            {
                "comment_id": comment_id,
                "author": author,
                "text": text,
                "published_at": c.published_at,
                "source": values["source"],
                "partition_date": self.day,
                "landed_date": c.file.landed_date,
                "source_file": c.file.key,
                "source_record": p.record,
                "source_line": p.line,
                "policy_version": self.version,
            }
        )
        return None


def route(
    published_at: dt.datetime | None, landed: dt.date, late_days: int
) -> tuple[dt.date, str | None]:
    """The day that owns a record, and a quarantine reason when its date breaks the rules."""
    if published_at is None:
        return landed, None
    published = published_at.date()
    if published > landed:
        return landed, "published_after_landing"
    if (landed - published).days > late_days:
        return landed, "published_too_late"
    return published, None


def lookback_window(day: dt.date, policy: Policy) -> tuple[dt.date, dt.date]:
    """[start, end) of the earlier days whose kept ids count as duplicates for `day`."""
    return day - dt.timedelta(days=policy.dedupe.comment_id_lookback_days), day


def ingest_day(
    day: dt.date,
    files: list[LandingFile],
    policy: Policy,
    prior_ids: Mapping[str, str] | None = None,
) -> IngestResult:
    """Ingest the records `day` owns among `files` (the folders of `landing_days_for(day)`).

    `prior_ids` maps ids kept on the days of `lookback_window(day)` to where they were
    kept, so a record re-sent on a later day is quarantined rather than kept twice.
    """
    state = _DayIngest(day, policy, prior_ids or {})
    stats = {f.key: FileStats(f.key, f.size, f.etag, f.landed_date.isoformat()) for f in files}
    elsewhere: Counter[str] = Counter()
    for file in sorted(files, key=lambda f: (f.landed_date, f.key)):
        for parsed in parse_file(file.key, file.data):
            published = parse_published_at((parsed.fields or {}).get("published_at"))
            owner, reason = route(
                published if parsed.fields else None, file.landed_date, policy.late_arrival_days
            )
            if owner != day:
                elsewhere[owner.isoformat()] += 1
                continue
            before = len(state.kept)
            state.consider(_Candidate(file, parsed, published), reason)
            s = stats[file.key]
            s.records_owned += 1
            if len(state.kept) > before:
                s.kept += 1
            else:
                s.quarantined += 1
    return IngestResult(
        day=day,
        kept=pa.Table.from_pylist(state.kept, schema=RAW_COMMENTS_SCHEMA),
        quarantined=pa.Table.from_pylist(state.quarantined, schema=QUARANTINE_SCHEMA),
        files=list(stats.values()),
        routed_elsewhere=elsewhere,
    )
