"""Parsers for landing files: JSON Lines and CSV, each optionally gzipped.

A parser never raises on bad content. It yields one `ParsedRecord` per record
it can delimit, carrying either the record's fields or an error code, with the
record's position in the file, so that the policy can keep or quarantine every
record and nothing is lost. Real parsers only (`json`, `csv`, `gzip`).
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SUPPORTED_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".jsonl.gz", ".ndjson.gz", ".csv.gz")


@dataclass(frozen=True)
class ParsedRecord:
    """One record, or one undelimitable stretch of a file, with where it came from.

    `record` is 1-based in the file (0 for a problem with the file as a whole),
    `line` is the 1-based line where the record starts.
    """

    record: int
    line: int
    raw: str
    fields: dict[str, Any] | None = None
    error: str | None = None
    detail: str = ""


def file_format(name: str) -> str | None:
    """`"jsonl"` or `"csv"` from a file name, or None when unsupported."""
    lower = name.lower()
    if not lower.endswith(SUPPORTED_SUFFIXES):
        return None
    base = lower.removesuffix(".gz")
    return "csv" if base.endswith(".csv") else "jsonl"


def _has_lone_surrogate(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _printable(text: str) -> str:
    """Bytes that were not UTF-8 shown as `\\xNN`, so the raw record survives in a VARCHAR."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _invalid_utf8_detail(text: str) -> str:
    raw = text.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 byte 0x{raw[err.start]:02x} at byte offset {err.start}"
    return "invalid UTF-8"


def _decode(data: bytes) -> tuple[str | None, str]:
    """Decode as UTF-8, keeping undecodable bytes as surrogates so each record can be judged.

    Returns (text, "") or (None, reason detail) for files that are not UTF-8 at all.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4000].count(b"\x00") > 0:
        return None, "file looks like UTF-16/UTF-32 (NUL bytes or a UTF-16 byte-order mark)"
    text = data.decode("utf-8", "surrogateescape")
    return text.removeprefix("\ufeff"), ""


def parse_file(name: str, data: bytes) -> Iterator[ParsedRecord]:
    """Parse one landing file's bytes into records."""
    fmt = file_format(name)
    if fmt is None:
        yield ParsedRecord(
            0,
            0,
            "",
            error="unsupported_file_type",
            detail=f"expected one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
        return
    if name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            yield ParsedRecord(0, 0, "", error="unreadable_file", detail=f"gzip: {err}")
            return
    text, problem = _decode(data)
    if text is None:
        yield ParsedRecord(0, 0, "", error="unsupported_encoding", detail=problem)
        return
    yield from (_parse_csv(text) if fmt == "csv" else _parse_jsonl(text))


def _parse_jsonl(text: str) -> Iterator[ParsedRecord]:
    record = 0
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        record += 1
        if _has_lone_surrogate(line):
            yield ParsedRecord(
                record,
                line_no,
                _printable(line),
                error="invalid_utf8",
                detail=_invalid_utf8_detail(line),
            )
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            detail = f"{err.msg} at column {err.colno}"
            yield ParsedRecord(record, line_no, line, error="malformed_json", detail=detail)
            continue
        if not isinstance(value, dict):
            yield ParsedRecord(
                record,
                line_no,
                line,
                error="malformed_json",
                detail=f"expected a JSON object, got {type(value).__name__}",
            )
            continue
        yield ParsedRecord(record, line_no, line, fields=value)


def _parse_csv(text: str) -> Iterator[ParsedRecord]:
    # Split on "\n" only: str.splitlines would also break on U+2028 and friends inside fields.
    lines = [line + "\n" for line in text.split("\n")]
    if lines and lines[-1] == "\n":
        lines.pop()
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as err:
        yield ParsedRecord(0, 1, "".join(lines), error="malformed_csv", detail=f"header: {err}")
        return
    if _has_lone_surrogate("".join(header)):
        yield ParsedRecord(0, 1, _printable(lines[0]), error="invalid_utf8", detail="in the header")
        return
    columns = [h.strip().lower() for h in header]
    record = 0
    start_line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            # An unclosed quote swallows the rest of the file: quarantine that stretch whole.
            record += 1
            raw = "".join(lines[start_line - 1 :])
            yield ParsedRecord(
                record,
                start_line,
                _printable(raw),
                error="malformed_csv",
                detail=f"{err} (record starting on line {start_line} runs to the end of the file)",
            )
            return
        end_line = reader.line_num
        raw = "".join(lines[start_line - 1 : end_line])
        this_start, start_line = start_line, end_line + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        record += 1
        if _has_lone_surrogate(raw):
            yield ParsedRecord(
                record,
                this_start,
                _printable(raw),
                error="invalid_utf8",
                detail=_invalid_utf8_detail(raw),
            )
            continue
        if len(row) != len(columns):
            yield ParsedRecord(
                record,
                this_start,
                raw,
                error="malformed_csv",
                detail=f"expected {len(columns)} fields, got {len(row)}",
            )
            continue
        yield ParsedRecord(record, this_start, raw, fields=dict(zip(columns, row, strict=True)))
