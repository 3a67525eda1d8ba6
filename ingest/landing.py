"""Landing-zone key conventions: `comments/dt=YYYY-MM-DD/<name>` and `labels/<name>.csv`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

COMMENTS_PREFIX = "comments/"
LABELS_PREFIX = "labels/"
_KEY_RE = re.compile(r"^comments/dt=(?P<day>[^/]*)/(?P<name>.+)$")


@dataclass(frozen=True)
class LandingKey:
    """A comment file's key split into its landing day and name."""

    key: str
    landed_date: dt.date
    name: str


class InvalidLandingKey(ValueError):
    """A key under `comments/` that no partition can own; the message says why."""


def comments_prefix(day: dt.date) -> str:
    """The prefix holding the files that landed on `day`."""
    return f"{COMMENTS_PREFIX}dt={day.isoformat()}/"


def parse_landing_key(key: str) -> LandingKey:
    """Split a comment file's key, or raise `InvalidLandingKey` saying what is wrong."""
    match = _KEY_RE.match(key)
    if match is None:
        raise InvalidLandingKey(
            f"{key!r} is not under comments/dt=YYYY-MM-DD/: no partition will ingest it"
        )
    raw_day = match["day"]
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_day):
            raise ValueError(raw_day)
        day = dt.date.fromisoformat(raw_day)
    except ValueError:
        raise InvalidLandingKey(
            f"{key!r}: 'dt={raw_day}' is not a date (YYYY-MM-DD): no partition will ingest it"
        ) from None
    return LandingKey(key=key, landed_date=day, name=match["name"])
