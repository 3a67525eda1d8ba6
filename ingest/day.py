"""Ingest one day: parse its landing files, route records to days, apply the policy.

`ingest_day` is pure: bytes in, two Arrow tables and counts out. The asset
fetches the files and writes the tables; tests call this directly.

Routing. A record belongs to the day it was published, or to the day its file
landed when `published_at` is missing or unparseable. Files may land up to
`late_arrival_days` after publication, so day D reads the folders of D ... D+N
and keeps the records that are D's. Every record has exactly one owning day,
which is why rows in = kept + quarantined holds day by day.

Duplicate ids across days are decided from what landed, never from what another run kept,
so the result does not depend on the order or overlap of runs. Files are taken in arrival
order: landing day (the `dt=` folder), then the time the object was written (to the whole
second, as S3 reports it), then the key. A record is a `duplicate_comment_id` when an
earlier-arriving valid record with the same id landed at most `comment_id_lookback_days`
before it; so day D also reads the ids in the folders of the look-back before D+0.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
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
    # When the object was written (LastModified); None sorts first, then by key.
    arrived: dt.datetime | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def arrival_order(self) -> tuple[dt.date, dt.datetime, str]:
        """Landing day, write time to the second (S3's resolution, so a local folder and a
        bucket agree), then key: the order in which copies of a record count as first."""
        arrived = self.arrived.replace(microsecond=0, tzinfo=None) if self.arrived else None
        return self.landed_date, arrived or dt.datetime.min, self.key


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

    def reduction_by_rule(self, policy: Policy) -> dict[str, dict[str, float]]:
        """Rows each reduction rule the policy turns on removed from the day, and their share
        of the day's records in percent (zero rows included: a rule that found nothing)."""
        found = self.quarantined_by_reason
        return {
            rule: {
                "rows": found.get(rule, 0),
                "pct": round(100.0 * found.get(rule, 0) / self.records_in, 2)
                if self.records_in
                else 0.0,
            }
            for rule in reduction_rules(policy)
        }

    def data_version(self) -> str:
        """A content hash of both tables: equal outputs give equal versions."""
        digest = hashlib.sha256()
        for table in (self.kept, self.quarantined):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            digest.update(sink.getvalue().to_pybytes())
        return digest.hexdigest()[:16]


def reduction_rules(policy: Policy) -> list[str]:
    """The reasons of the rules that remove repeated or excess comments, when they are on."""
    rules = {
        "duplicate_comment_id": policy.dedupe.comment_id,
        "duplicate_author_text": policy.dedupe.author_text,
        "near_duplicate": policy.near_duplicate.enabled,
        "author_cap_exceeded": policy.author_daily_cap is not None,
    }
    return [rule for rule, on in rules.items() if on]


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


@dataclass(frozen=True)
class _Record:
    """A parsed record with its owning day and the policy's verdict on it alone.

    `problem` is (reason, detail) when the record is refused whatever else landed; else
    `values` holds its comment_id, author, normalized text and source. Pure function of the
    file's bytes and the policy, so it is computed once per file and shared by every day
    that reads the file.
    """

    parsed: ParsedRecord
    published_at: dt.datetime | None
    owner: dt.date
    problem: tuple[str, str] | None
    values: dict[str, Any] | None


_TEXT_FIELDS = ("comment_id", "author", "text", "source")


def _validate(
    parsed: ParsedRecord, routing_reason: str | None, policy: Policy
) -> tuple[tuple[str, str] | None, dict[str, Any] | None]:
    """The checks of one record on its own: (problem, None) or (None, values)."""
    fields = parsed.fields or {}
    if parsed.error:
        return (parsed.error, parsed.detail), None
    if routing_reason:
        return (routing_reason, f"published_at={fields.get('published_at')}"), None
    for name in policy.required_fields:
        if fields.get(name) is None or fields.get(name) == "":
            return ("missing_field", f"'{name}' is absent or empty"), None
    try:
        values = {
            name: _as_text(fields.get(name)) for name in ("comment_id", "author", "text", "source")
        }
    except TypeError as err:
        return ("invalid_field_type", f"a field is a {err}"), None
    if not isinstance(fields["text"], str):
        return ("invalid_field_type", "'text' must be a string"), None
    comment_id = values["comment_id"].strip()
    if not comment_id or len(comment_id) > policy.comment_id_max_length:
        return ("invalid_comment_id", f"length must be 1..{policy.comment_id_max_length}"), None
    text = values["text"]
    if policy.charset.control_chars == "quarantine" and has_control_chars(text):
        return ("forbidden_characters", "control characters in text"), None
    if policy.charset.reject_replacement_char and "\ufffd" in text:
        return ("forbidden_characters", "U+FFFD in text (earlier bad decode)"), None
    text = normalize_text(text, policy.normalize)
    if len(text) < policy.text_min_length:
        return ("text_too_short", f"{len(text)} < {policy.text_min_length} chars"), None
    if len(text) > policy.text_max_length:
        return ("text_too_long", f"{len(text)} > {policy.text_max_length} chars"), None
    author = values["author"].strip() if values["author"] else None
    return None, {"comment_id": comment_id, "author": author, "text": text,
                  "source": values["source"]}  # fmt: skip


def judge_record(parsed: ParsedRecord, landed: dt.date, policy: Policy) -> _Record:
    """One parsed record routed to its day and judged on its own."""
    published = parse_published_at((parsed.fields or {}).get("published_at"))
    owner, reason = route(published if parsed.fields else None, landed, policy.late_arrival_days)
    problem, values = _validate(parsed, reason, policy)
    return _Record(parsed, published, owner, problem, values)


def read_records(file: LandingFile, policy: Policy) -> list[_Record]:
    """Every record of a file, routed to its day and judged on its own (the reference)."""
    return [judge_record(p, file.landed_date, policy) for p in parse_file(file.key, file.data)]


class _DayIngest:
    """Applies the policy to the records one day owns, in arrival order."""

    def __init__(self, day: dt.date, policy: Policy) -> None:
        self.day = day
        self.policy = policy
        self.version = policy.version
        self.kept: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        # Every valid copy of an id seen so far, in arrival order: (landing day, where).
        self.copies: dict[str, list[tuple[dt.date, str]]] = {}
        self.seen_author_texts: dict[tuple[str, str], str] = {}
        self.per_author: Counter[str] = Counter()
        # (file key, record) -> detail, for the owned records that repeat an earlier text.
        self.near_duplicates: dict[tuple[str, int], str] = {}

    def quarantine(self, file: LandingFile, record: _Record, reason: str, detail: str) -> None:
        fields = record.parsed.fields or {}

        def safe(name: str) -> str | None:
            try:
                return _as_text(fields.get(name))
            except TypeError:
                return None

        self.quarantined.append(
            {
                "partition_date": self.day,
                "landed_date": file.landed_date,
                "source_file": file.key,
                "source_record": record.parsed.record,
                "source_line": record.parsed.line,
                "reason": reason,
                "detail": detail,
                "comment_id": safe("comment_id"),
                "author": safe("author"),
                "text": safe("text"),
                "raw_record": record.parsed.raw,
                "policy_version": self.version,
            }
        )

    def earlier_copy(self, comment_id: str, landed: dt.date) -> str | None:
        """Where the first valid copy of `comment_id` within the look-back landed, if any."""
        oldest = landed - dt.timedelta(days=self.policy.dedupe.comment_id_lookback_days)
        return next(
            (where for day, where in self.copies.get(comment_id, []) if day >= oldest), None
        )

    def remember(self, file: LandingFile, record: _Record) -> None:
        """Count a valid record as a copy of its id, whichever day owns it."""
        if record.values is not None:
            here = f"{file.key} record {record.parsed.record}"
            self.copies.setdefault(record.values["comment_id"], []).append((file.landed_date, here))

    def consider(self, file: LandingFile, record: _Record) -> None:
        if record.problem is not None:
            return self.quarantine(file, record, *record.problem)
        values, policy = record.values, self.policy
        assert values is not None
        comment_id, author = values["comment_id"], values["author"]
        if policy.dedupe.comment_id:
            first = self.earlier_copy(comment_id, file.landed_date)
            if first is not None:
                return self.quarantine(
                    file, record, "duplicate_comment_id", f"first seen in {first}"
                )
        here = f"{file.key} record {record.parsed.record}"
        if policy.dedupe.author_text and author:
            key = (author, dedupe_key(values["text"]))
            if key in self.seen_author_texts:
                detail = f"same text as {self.seen_author_texts[key]}"
                return self.quarantine(file, record, "duplicate_author_text", detail)
            self.seen_author_texts[key] = here
        repeats = self.near_duplicates.get((file.key, record.parsed.record))
        if repeats is not None:
            return self.quarantine(file, record, "near_duplicate", repeats)
        if policy.author_daily_cap is not None and author:
            if self.per_author[author] >= policy.author_daily_cap:
                detail = f"cap is {policy.author_daily_cap} per day"
                return self.quarantine(file, record, "author_cap_exceeded", detail)
            self.per_author[author] += 1
        self.kept.append(
            {
                "comment_id": comment_id,
                "author": author,
                "text": values["text"],
                "published_at": record.published_at,
                "source": values["source"],
                "partition_date": self.day,
                "landed_date": file.landed_date,
                "source_file": file.key,
                "source_record": record.parsed.record,
                "source_line": record.parsed.line,
                "policy_version": self.version,
            }
        )
        return None


def _near_duplicates_reference(
    day: dt.date, files: list[tuple[LandingFile, list[_Record]]], policy: Policy
) -> dict[tuple[str, int], str]:
    """Which owned records repeat an earlier text of the scope (`ingest.near_duplicates`),
    decided one record at a time through datasketch: (file key, record) -> detail."""
    from ingest.near_duplicates import repeats_reference

    rules = policy.near_duplicate
    oldest = day - dt.timedelta(days=rules.lookback_days)
    pool = [
        (file, record, dedupe_key(record.values["text"]))
        for file, records in files
        for record in records
        if record.values is not None and oldest <= record.owner <= day
    ]
    pool = [entry for entry in pool if entry[2]]  # an empty key says nothing about likeness
    order = sorted(range(len(pool)), key=lambda i: (pool[i][1].owner, i))
    rank = [0] * len(pool)
    for position, i in enumerate(order):
        rank[i] = position
    keys = [key for _, _, key in pool]
    decide = [record.owner == day for _, record, _ in pool]
    out = {}
    for (file, record, _), first in zip(
        pool, repeats_reference(keys, rank, decide, rules), strict=True
    ):
        if first >= 0:
            earlier_file, earlier, _ = pool[first]
            assert earlier.values is not None
            out[(file.key, record.parsed.record)] = (
                f"repeats comment {earlier.values['comment_id']} "
                f"({earlier_file.key} record {earlier.parsed.record})"
            )
    return out


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


def landing_days_for(day: dt.date, policy: Policy) -> list[dt.date]:
    """The landing folders whose files may hold records of `day`."""
    return [day + dt.timedelta(days=i) for i in range(policy.late_arrival_days + 1)]


def folders_read_for(day: dt.date, policy: Policy) -> list[dt.date]:
    """Every landing folder `day`'s ingest reads: its own records' folders, and before them
    the look-back, whose ids decide which copies of a record came first (and whose texts,
    which near-duplicate came first)."""
    lookback = max(
        policy.dedupe.comment_id_lookback_days if policy.dedupe.comment_id else 0,
        policy.near_duplicate.lookback_days if policy.near_duplicate.enabled else 0,
    )
    first = day - dt.timedelta(days=lookback)
    return [first + dt.timedelta(days=i) for i in range(lookback + policy.late_arrival_days + 1)]


RecordCache = dict[tuple[str, str], list[_Record]]


def ingest_day(
    day: dt.date,
    files: list[LandingFile],
    policy: Policy,
    cache: dict[tuple[str, str], pa.Table] | None = None,
) -> IngestResult:
    """Ingest the records `day` owns among `files` (the folders of `folders_read_for(day)`).

    Files of other days count only as earlier copies of an id. `cache` keeps each file's
    judged records across the days of a range, keyed by (key, ETag). Runs the batch path
    (`ingest/batch.py`); `ingest_day_reference` is the per-record path it must equal.
    """
    from ingest.batch import ingest_day_batch  # builds on this module: imported when used

    return ingest_day_batch(day, files, policy, cache)


def ingest_day_reference(
    day: dt.date,
    files: list[LandingFile],
    policy: Policy,
    cache: RecordCache | None = None,
) -> IngestResult:
    """`ingest_day` one record at a time: the reference the batch path is tested against.

    `cache` keeps each file's parsed records across the days of a range, keyed by (key, ETag).
    """
    cache = {} if cache is None else cache
    state = _DayIngest(day, policy)
    stats = {f.key: FileStats(f.key, f.size, f.etag, f.landed_date.isoformat()) for f in files}
    elsewhere: Counter[str] = Counter()
    ordered = sorted(files, key=lambda f: f.arrival_order)
    for file in ordered:
        if (file.key, file.etag) not in cache:
            cache[(file.key, file.etag)] = read_records(file, policy)
    if policy.near_duplicate.enabled:
        state.near_duplicates = _near_duplicates_reference(
            day, [(f, cache[(f.key, f.etag)]) for f in ordered], policy
        )
    for file in ordered:
        records = cache[(file.key, file.etag)]
        for record in records:
            if record.owner == day:
                before = len(state.kept)
                state.consider(file, record)
                s = stats[file.key]
                s.records_owned += 1
                if len(state.kept) > before:
                    s.kept += 1
                else:
                    s.quarantined += 1
            elif file.landed_date >= day:
                elsewhere[record.owner.isoformat()] += 1
            state.remember(file, record)
    return IngestResult(
        day=day,
        kept=pa.Table.from_pylist(state.kept, schema=RAW_COMMENTS_SCHEMA),
        quarantined=pa.Table.from_pylist(state.quarantined, schema=QUARANTINE_SCHEMA),
        files=list(stats.values()),
        routed_elsewhere=elsewhere,
    )
