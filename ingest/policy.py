"""The ingest policy: loaded from `policies/ingest.yml`, applied record by record.

The policy is data, so what ingest keeps and drops can be reviewed like code.
`Policy.version` is a hash of its content; every row records it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.normalize import NormalizeRules

# Every reason a record can be quarantined for, with what it means.
REASONS: dict[str, str] = {
    "unsupported_file_type": "the file's extension is not a supported format",
    "unreadable_file": "the file could not be decompressed",
    "unsupported_encoding": "the file is not UTF-8 (for example UTF-16)",
    "invalid_utf8": "the record holds bytes that are not valid UTF-8",
    "malformed_json": "the line is not a JSON object",
    "malformed_csv": "the CSV record is broken (unclosed quote, wrong field count)",
    "missing_field": "a required field is absent, null or empty",
    "invalid_field_type": "a field has a type that cannot be a string",
    "invalid_comment_id": "the comment_id breaks the policy's id rules",
    "forbidden_characters": "the text holds characters the charset rules forbid",
    "text_too_short": "the normalized text is shorter than the policy's minimum",
    "text_too_long": "the normalized text is longer than the policy's maximum",
    "published_after_landing": "published_at is later than the day the file landed",
    "published_too_late": "the file landed more than late_arrival_days after publication",
    "duplicate_comment_id": "an earlier record (this day or the lookback) has the same comment_id",
    "duplicate_author_text": "the same author already posted the same text that day",
    "author_cap_exceeded": "the author is over the policy's daily cap",
}


class PolicyError(ValueError):
    """The policy file is invalid; the message says which key and why."""


@dataclass(frozen=True)
class CharsetRules:
    control_chars: str = "strip"
    reject_replacement_char: bool = True


@dataclass(frozen=True)
class DedupeRules:
    comment_id: bool = True
    author_text: bool = True
    # Ids kept on any of this many earlier days also count as duplicates.
    comment_id_lookback_days: int = 7


@dataclass(frozen=True)
class Policy:
    """A validated ingest policy."""

    required_fields: tuple[str, ...] = ("comment_id", "text")
    comment_id_max_length: int = 256
    text_min_length: int = 1
    text_max_length: int = 5000
    normalize: NormalizeRules = field(default_factory=NormalizeRules)
    charset: CharsetRules = field(default_factory=CharsetRules)
    dedupe: DedupeRules = field(default_factory=DedupeRules)
    author_daily_cap: int | None = None
    late_arrival_days: int = 2

    @property
    def version(self) -> str:
        """A short content hash: the same rules always give the same version."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise PolicyError(f"{path}: not valid YAML: {err}") from err
        return cls.from_dict(doc or {}, source=str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "policy") -> Policy:
        known = {
            "version", "required_fields", "comment_id", "text", "normalize", "charset",
            "dedupe", "author_daily_cap", "partitioning",
        }  # fmt: skip
        unknown = set(doc) - known
        if unknown:
            raise PolicyError(f"{source}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        if doc.get("version", 1) != 1:
            raise PolicyError(f"{source}: only policy version 1 is understood")

        def section(name: str, allowed: set[str]) -> dict[str, Any]:
            value = doc.get(name) or {}
            if not isinstance(value, dict):
                raise PolicyError(f"{source}: '{name}' must be a mapping")
            extra = set(value) - allowed
            if extra:
                raise PolicyError(f"{source}: unknown keys in '{name}': {sorted(extra)}")
            return value

        text = section("text", {"min_length", "max_length"})
        cid = section("comment_id", {"max_length"})
        norm = section("normalize", set(NormalizeRules.__dataclass_fields__))
        charset = section("charset", set(CharsetRules.__dataclass_fields__))
        dedupe = section("dedupe", set(DedupeRules.__dataclass_fields__))
        partitioning = section("partitioning", {"late_arrival_days"})
        required = tuple(doc.get("required_fields", ("comment_id", "text")))
        for needed in ("comment_id", "text"):
            if needed not in required:
                raise PolicyError(f"{source}: required_fields must include '{needed}'")
        policy = cls(
            required_fields=required,
            comment_id_max_length=int(cid.get("max_length", 256)),
            text_min_length=int(text.get("min_length", 1)),
            text_max_length=int(text.get("max_length", 5000)),
            normalize=NormalizeRules(**norm),
            charset=CharsetRules(**charset),
            dedupe=DedupeRules(**dedupe),
            author_daily_cap=doc.get("author_daily_cap"),
            late_arrival_days=int(partitioning.get("late_arrival_days", 2)),
        )
        policy.check()
        return policy

    def check(self) -> None:
        if not 0 <= self.text_min_length <= self.text_max_length:
            raise PolicyError("text bounds must satisfy 0 <= min_length <= max_length")
        if self.charset.control_chars not in ("strip", "quarantine"):
            raise PolicyError("charset.control_chars must be 'strip' or 'quarantine'")
        if self.normalize.unicode_form not in (None, "NFC", "NFKC", "NFD", "NFKD"):
            raise PolicyError("normalize.unicode_form must be NFC, NFKC, NFD, NFKD or null")
        if self.author_daily_cap is not None and (
            not isinstance(self.author_daily_cap, int) or self.author_daily_cap < 1
        ):
            raise PolicyError("author_daily_cap must be a positive integer or null")
        if self.dedupe.comment_id_lookback_days < 0:
            raise PolicyError("dedupe.comment_id_lookback_days must be >= 0")
        if self.late_arrival_days < 0:
            raise PolicyError("partitioning.late_arrival_days must be >= 0")
