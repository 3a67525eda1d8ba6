"""The ingest policy: loaded from `policies/ingest.yml`, applied record by record.

The policy is data, so what ingest keeps and drops can be reviewed like code.
`Policy.version` is a hash of its content; every row records it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.near_duplicates import NearDuplicateRules
from ingest.normalize import NormalizeRules
from storage.documents import load_yaml, validate_document

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
    "near_duplicate": "an earlier record of the day or the look-back has a near-identical text",
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
    near_duplicate: NearDuplicateRules = field(default_factory=NearDuplicateRules)

    @property
    def version(self) -> str:
        """A short content hash: the same rules always give the same version."""
        canonical = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """The policy in `path`; any problem is a PolicyError naming the file and the key."""
        return cls.from_dict(load_yaml(path, PolicyError), source=str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "policy") -> Policy:
        parsed = validate_document(_PolicyDocument, doc, source, PolicyError)
        policy = cls(
            required_fields=tuple(parsed.required_fields),
            comment_id_max_length=parsed.comment_id.max_length,
            text_min_length=parsed.text.min_length,
            text_max_length=parsed.text.max_length,
            normalize=NormalizeRules(**parsed.normalize.model_dump()),
            charset=CharsetRules(**parsed.charset.model_dump()),
            dedupe=DedupeRules(**parsed.dedupe.model_dump()),
            author_daily_cap=parsed.author_daily_cap,
            late_arrival_days=parsed.partitioning.late_arrival_days,
            near_duplicate=NearDuplicateRules(**parsed.near_duplicate.model_dump()),
        )
        try:
            policy.check()
        except PolicyError as err:
            raise PolicyError(f"{source}: {err}") from None
        return policy

    def check(self) -> None:
        if not 0 <= self.text_min_length <= self.text_max_length:
            raise PolicyError("text bounds must satisfy 0 <= min_length <= max_length")
        for needed in ("comment_id", "text"):
            if needed not in self.required_fields:
                raise PolicyError(f"required_fields must include '{needed}'")


# The YAML document, validated strictly: a wrong type is an error, never a silent coercion
# (`true` is not a number, "no" is not a boolean, 2.7 is not a whole number of days).


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _TextRules(_Section):
    min_length: int = Field(1, ge=0)
    max_length: int = Field(5000, ge=1)


class _IdRules(_Section):
    max_length: int = Field(256, ge=1)


class _NormalizeDoc(_Section):
    unicode_form: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = "NFC"
    normalize_newlines: bool = True
    strip_control_chars: bool = True
    strip_whitespace: bool = True


class _CharsetDoc(_Section):
    control_chars: Literal["strip", "quarantine"] = "strip"
    reject_replacement_char: bool = True


class _DedupeDoc(_Section):
    comment_id: bool = True
    author_text: bool = True
    comment_id_lookback_days: int = Field(7, ge=0)


class _NearDuplicateDoc(_Section):
    enabled: bool = False  # a policy without the block keeps what it kept before
    threshold: float = Field(0.9, gt=0, le=1)
    shingle_size: int = Field(5, ge=1)
    num_perm: int = Field(64, ge=1, le=1024)
    lookback_days: int = Field(1, ge=0)


class _PartitioningDoc(_Section):
    late_arrival_days: int = Field(2, ge=0)


class _PolicyDocument(_Section):
    version: Literal[1] = 1
    required_fields: list[str] = Field(default_factory=lambda: ["comment_id", "text"])
    comment_id: _IdRules = Field(default_factory=_IdRules)
    text: _TextRules = Field(default_factory=_TextRules)
    normalize: _NormalizeDoc = Field(default_factory=_NormalizeDoc)
    charset: _CharsetDoc = Field(default_factory=_CharsetDoc)
    dedupe: _DedupeDoc = Field(default_factory=_DedupeDoc)
    author_daily_cap: int | None = Field(None, ge=1)
    partitioning: _PartitioningDoc = Field(default_factory=_PartitioningDoc)
    near_duplicate: _NearDuplicateDoc = Field(default_factory=_NearDuplicateDoc)
