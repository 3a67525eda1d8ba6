"""Which landing files are new or changed, and which days' runs they call for.

Pure: no Dagster. `sensors/landing_zone.py` feeds it the landing zone's object
store and what the instance says each day has ingested, and turns its answer
into run requests. Local folder and S3 go through the same `ObjectStore.list`.

Listing scope: two listings a tick, both scoped with `StartAfter`.

- The *head*: every key after `comments/dt=<today - HEAD_DAYS>`, i.e. the
  recent folders (where files normally land), future-dated folders and stray
  keys that sort after the dates. Listed completely every tick, so a file
  landing there is seen on the next tick whatever the bucket's size.
- The *sweep*: a rolling pass over the older keys, about `SWEEP_KEYS_PER_TICK`
  keys a tick (whole groups at a time), resuming where the last tick stopped.
  A late file in an old folder is found within one pass: about
  keys / SWEEP_KEYS_PER_TICK ticks. Listing every old folder every tick would
  find it sooner but make each tick cost O(bucket); an S3 event queue would
  make it instant, at the price of another service to run.

A tick thus lists the head plus at most SWEEP_KEYS_PER_TICK + one month of
keys, however large the bucket.

Change detection: the cursor keeps one fingerprint per group of keys, a hash
of the group's (key, ETag) pairs: per folder in the head, per month in the
sweep. A group whose fingerprint is new or changed has its files *reconciled*
(below); an unchanged group costs nothing more. No `LastModified` is read, so
objects written in the same second, clock skew, slow uploads and files moved
in with an old mtime cannot be missed: a changed listing is a changed
listing. The cursor grows with months of history (~30 bytes each) and the
head's folders, not with files, so it stays a few KB for years of data (the
daemon stores it with every tick). The price: a change re-examines its whole
group, e.g. a month once a day as a folder leaves the head.

Reconciling asks the instance, not the cursor, what is already done: a file is
pending for a day unless the latest `raw_comments` run for that day recorded
the same key and ETag in its `source_files`. So the first tick on an instance
that already ingested the files (after `make demo`) requests nothing, and a
group reconciled again requests nothing that has run; a run still queued is
requested again under the same run key, which the daemon skips.

Days a file can affect: records may land up to `late_arrival_days` (N) after
they were published (routing in `ingest/day.py`), so a file in `dt=L` can
hold records for every day of L-N..L, and each of those days reads it. Only
reading the file could narrow this down, which would make a tick cost grow
with file sizes; requesting L alone would leave late records out of their
days. So every day of L-N..L within the partitions is requested, one request
per day however many of its files changed. Days that are not partitions yet
(today, future-dated folders) wait in the cursor until they are. A file also
feeds the duplicate look-back of the `comment_id_lookback_days` after L (an id
that landed first wins): those later days are re-run when they were ingested
without it (`recheck_days`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby, takewhile

from ingest.landing import COMMENTS_PREFIX, InvalidLandingKey, comments_prefix, parse_landing_key
from ingest.policy import Policy
from storage.object_store import ObjectInfo, ObjectStore

HEAD_DAYS = 3  # the head holds the folders of today-3 .. today and anything later
SWEEP_KEYS_PER_TICK = 1000  # one S3 list page; a tick finishes the group it is in
CURSOR_VERSION = 1

_MONTH_RE = re.compile(r"dt=\d{4}-\d{2}")
_AFTER_GROUP = "\U0010ffff"  # sorts after any key of a group that is a prefix

FileId = tuple[str, str]  # (key, etag)


@dataclass
class ScanCursor:
    """The sensor cursor: group fingerprints, the sweep's position, days awaiting a partition."""

    head: dict[str, str] = field(default_factory=dict)
    sweep: dict[str, str] = field(default_factory=dict)
    after: str | None = None
    waiting: list[str] = field(default_factory=list)

    def encode(self) -> str:
        doc = {"v": CURSOR_VERSION, "head": self.head, "sweep": self.sweep,
               "after": self.after, "waiting": self.waiting}  # fmt: skip
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> ScanCursor:
        """The cursor `encode` wrote; a fresh one for None or another version.

        Raises ValueError when the text is not a cursor. Starting afresh is always
        safe: every group is then reconciled against the instance.
        """
        if not text:
            return cls()
        try:
            doc = json.loads(text)
            if doc.get("v") != CURSOR_VERSION:
                return cls()
            return cls(
                head=dict(doc["head"]),
                sweep=dict(doc["sweep"]),
                after=doc["after"],
                waiting=list(doc["waiting"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not a landing-zone cursor: {text[:80]!r}") from err


@dataclass(frozen=True)
class Ingested:
    """What the latest `raw_comments` run of a day read: its files, its run id, and the
    landing folders in which the day owned records."""

    files: frozenset[FileId] = frozenset()
    run_id: str | None = None
    owned_folders: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class DayRun:
    """One run to request: a day and the files it has not ingested yet."""

    day: dt.date
    files: tuple[FileId, ...]
    after_run: str | None = None

    @property
    def run_key(self) -> str:
        """`day:key:etag` for one file, a digest for several; the same change never runs twice.

        After an earlier run of the day the key also names that run, so that content
        going back to an ETag the day already saw once (A -> B -> A) runs again.
        """
        if len(self.files) == 1:
            key, etag = self.files[0]
            base = f"{self.day}:{key}:{etag}"
        else:
            digest = hashlib.sha256("\n".join(f"{k}\t{e}" for k, e in self.files).encode())
            base = f"{self.day}:{len(self.files)} files:{digest.hexdigest()[:16]}"
        return f"{base}@{self.after_run[:8]}" if self.after_run else base


@dataclass
class Scan:
    """One tick's findings: files that may be pending per requestable day, and the next cursor."""

    candidates: dict[dt.date, set[FileId]]
    cursor: ScanCursor
    problems: list[str]
    head_keys: int
    sweep_keys: int
    changed_groups: list[str]
    pass_complete: bool
    # Later days that read the changed files only for their look-back (see `recheck_days`).
    rechecks: dict[dt.date, set[FileId]] = field(default_factory=dict)

    def summary(self) -> str:
        sweep = "sweep pass complete" if self.pass_complete else "sweep continues next tick"
        waiting = f"; waiting for partitions: {', '.join(self.cursor.waiting)}"
        return (
            f"listed {self.head_keys} recent and {self.sweep_keys} older key(s) ({sweep}); "
            f"{len(self.changed_groups)} new or changed group(s)"
            f"{waiting if self.cursor.waiting else ''}"
        )


def head_boundary(today: dt.date, head_days: int = HEAD_DAYS) -> str:
    """Keys after this one form the head; keys up to it are swept."""
    return f"{COMMENTS_PREFIX}dt={(today - dt.timedelta(days=head_days)).isoformat()}"


def group_of(key: str, in_head: bool) -> str:
    """The fingerprint group of a key under `comments/`.

    Head: its folder (`dt=2024-05-17/`), or the key's name for a file directly under
    `comments/`. Sweep: its month (`dt=2024-05`) when the folder starts like a date,
    else as in the head. Every group is a key prefix, so its keys are contiguous.
    """
    segment, slash, _ = key[len(COMMENTS_PREFIX) :].partition("/")
    if not in_head and _MONTH_RE.match(segment):
        return segment[: len("dt=YYYY-MM")]
    return segment + slash


def _group_end(group: str) -> str:
    """A StartAfter value that skips the whole group."""
    if group.endswith("/") or _MONTH_RE.fullmatch(group):
        return COMMENTS_PREFIX + group + _AFTER_GROUP
    return COMMENTS_PREFIX + group  # a single file directly under comments/


def fingerprint(objects: Iterable[ObjectInfo]) -> str:
    """A short hash of a group's (key, ETag) pairs: it changes when any file is added,
    replaced or removed."""
    lines = sorted(f"{o.key}\t{o.etag}" for o in objects)
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=8).hexdigest()


def affected_days(landed: dt.date, late_days: int) -> list[dt.date]:
    """The days whose records a file that landed on `landed` may hold (`landing_days_for`)."""
    return [landed - dt.timedelta(days=n) for n in range(late_days, -1, -1)]


def recheck_days(landed: dt.date, lookback_days: int) -> list[dt.date]:
    """Later days whose duplicate look-back reads a file that landed on `landed`.

    A file landing late in an old folder arrived, by contract, on that folder's day: its
    records may be earlier copies of ids a later day kept. Those days are re-run only if
    they were ingested already; a day not ingested yet will read the file when it is.
    """
    return [landed + dt.timedelta(days=n) for n in range(1, lookback_days + 1)]


def _groups(objects: Iterable[ObjectInfo], in_head: bool) -> Iterator[tuple[str, list[ObjectInfo]]]:
    """Consecutive objects of a key-ordered listing, grouped by `group_of`."""
    for name, members in groupby(objects, key=lambda o: group_of(o.key, in_head)):
        yield name, list(members)


def _sweep(
    store: ObjectStore, cursor: ScanCursor, boundary: str, budget: int
) -> tuple[dict[str, list[ObjectInfo]], str | None]:
    """List whole groups from the sweep position until `budget` keys or the head boundary.

    Returns the groups listed and where the next tick resumes (None: the pass is complete).
    """
    listing = takewhile(lambda o: o.key <= boundary, store.list(COMMENTS_PREFIX, cursor.after))
    listed: dict[str, list[ObjectInfo]] = {}
    count, last = 0, ""
    for name, members in groupby(listing, key=lambda o: group_of(o.key, in_head=False)):
        if count >= budget:  # stop before this group; only its first key was read
            return listed, _group_end(last)
        listed[name] = list(members)
        count, last = count + len(listed[name]), name
    return listed, None


def scan_landing(
    store: ObjectStore,
    cursor: ScanCursor,
    *,
    today: dt.date,
    late_days: int,
    first_day: dt.date,
    last_day: dt.date | None,
    head_days: int = HEAD_DAYS,
    budget: int = SWEEP_KEYS_PER_TICK,
    lookback_days: int = 0,
) -> Scan:
    """List the head and one sweep slice, find changed groups, and map their files to days.

    `first_day`..`last_day` are the existing daily partitions (`last_day` None: none yet).
    """
    boundary = head_boundary(today, head_days)
    head = dict(_groups(store.list(COMMENTS_PREFIX, start_after=boundary), in_head=True))
    swept, after = _sweep(store, cursor, boundary, budget)

    new_head = {name: fingerprint(members) for name, members in head.items()}
    new_sweep = {
        name: fp for name, fp in cursor.sweep.items() if not _covered(name, cursor.after, after)
    }
    new_sweep.update((name, fingerprint(members)) for name, members in swept.items())
    changed_sweep = [name for name in swept if cursor.sweep.get(name) != new_sweep[name]]
    changed_head = [name for name in head if cursor.head.get(name) != new_head[name]]
    files = [o for name in changed_sweep for o in swept[name]]
    files += [o for name in changed_head for o in head[name]]

    candidates: dict[dt.date, set[FileId]] = defaultdict(set)
    rechecks: dict[dt.date, set[FileId]] = defaultdict(set)
    problems: list[str] = []
    waiting: set[dt.date] = set()
    for obj in files:
        if _is_folder_marker(obj):
            continue
        try:
            landed = parse_landing_key(obj.key).landed_date
        except InvalidLandingKey as err:
            problems.append(str(err))
            continue
        if landed > today:
            problems.append(
                f"{obj.key!r} is in a folder dated in the future ({landed} > today {today}): "
                "its days wait until they are partitions; check the uploader's clock or path"
            )
        days = [d for d in affected_days(landed, late_days) if d >= first_day]
        if not days:
            problems.append(
                f"{obj.key!r} landed before the first partition ({first_day}): "
                "no partition will ingest it"
            )
        for day in days:
            if last_day is not None and day <= last_day:
                candidates[day].add((obj.key, obj.etag))
            else:
                waiting.add(day)
        for day in recheck_days(landed, lookback_days):
            if last_day is not None and day <= last_day:
                rechecks[day].add((obj.key, obj.etag))

    for text in cursor.waiting:
        day = dt.date.fromisoformat(text)
        if day < first_day:
            continue
        if last_day is None or day > last_day:
            waiting.add(day)
            continue
        for landed in [day + dt.timedelta(days=n) for n in range(late_days + 1)]:
            listing = store.list(comments_prefix(landed))
            candidates[day].update((o.key, o.etag) for o in listing if not _is_folder_marker(o))

    return Scan(
        candidates=dict(candidates),
        cursor=ScanCursor(
            head=new_head,
            sweep=new_sweep,
            after=after,
            waiting=sorted(d.isoformat() for d in waiting),
        ),
        problems=problems,
        head_keys=sum(len(m) for m in head.values()),
        sweep_keys=sum(len(m) for m in swept.values()),
        changed_groups=changed_sweep + changed_head,
        pass_complete=after is None,
        rechecks=dict(rechecks),
    )


def _is_folder_marker(obj: ObjectInfo) -> bool:
    """The empty `folder/` objects S3 consoles create: no records, nothing to ingest."""
    return obj.key.endswith("/")


def _covered(group: str, start_after: str | None, stop_after: str | None) -> bool:
    """Whether this tick's sweep, listing keys after `start_after` up to `stop_after`
    (None: to the end), went over the group's keys."""
    first_key = COMMENTS_PREFIX + group
    return (start_after is None or first_key > start_after) and (
        stop_after is None or first_key <= stop_after
    )


def pending_runs(
    candidates: Mapping[dt.date, set[FileId]],
    ingested: Mapping[dt.date, Ingested],
    rechecks: Mapping[dt.date, set[FileId]] | None = None,
    owner_days: Callable[[FileId], set[dt.date]] | None = None,
) -> list[DayRun]:
    """One run per day that has candidate files its latest ingest did not read, oldest first.

    A recheck file makes its day pending only when the day was ingested before without it.
    With `owner_days` (the days a file's records belong to, read from the file), a new file
    runs only the days it can change: the days its records belong to; and among days
    ingested before, the later ones (their duplicate look-back reads it) and the earlier
    ones that own records in its folder (arrival order within the folder decides between
    copies there). So a file whose records all belong to one day starts one run.
    """
    runs = []
    rechecks = rechecks or {}
    for day in sorted(set(candidates) | set(rechecks)):
        done = ingested.get(day, Ingested())
        files = set(candidates.get(day, set()))
        if done.run_id is not None:
            files |= rechecks.get(day, set())
        pending = [f for f in sorted(files - done.files)
                   if owner_days is None or _changes(day, f, done, owner_days)]  # fmt: skip
        if pending:
            runs.append(DayRun(day, tuple(pending), done.run_id))
    return runs


def _changes(
    day: dt.date, file: FileId, done: Ingested, owner_days: Callable[[FileId], set[dt.date]]
) -> bool:
    """Whether `file` can change `day`'s ingest (see `pending_runs`)."""
    if day in owner_days(file):
        return True
    if done.run_id is None:
        return False  # never ingested: it will read the file when its own records arrive
    landed = parse_landing_key(file[0]).landed_date
    return day > landed or landed in done.owned_folders


def file_owner_days(store: ObjectStore, policy: Policy) -> Callable[[FileId], set[dt.date]]:
    """`owner_days` for `pending_runs`: reads each file once (only files some day has not
    ingested yet reach it) and routes its records as ingest does."""
    import pyarrow.compute as pc

    from ingest.batch import read_file
    from ingest.day import LandingFile

    seen: dict[FileId, set[dt.date]] = {}

    def owners(file: FileId) -> set[dt.date]:
        if file not in seen:
            key, etag = file
            landed = parse_landing_key(key).landed_date
            judged = read_file(LandingFile(key, landed, store.get_bytes(key), etag), policy)
            seen[file] = set(pc.unique(judged.column("owner")).to_pylist())
        return seen[file]

    return owners
