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

# Larger than any file a day holds; the csv module needs some limit.
_MAX_FIELD = 2**31 - 1

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


_WIDE_BOMS = {
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
# ASCII text in UTF-16 is half NUL bytes, in UTF-32 three quarters; a stray NUL in a UTF-8
# file is one bad record, not a wide encoding.
_WIDE_NUL_SHARE = 0.25
_SNIFF_BYTES = 4000


def refused_encoding(data: bytes) -> str | None:
    """Why a file's bytes are refused whole (a UTF-16/32 file), or None when they are read.

    The encoding is decided by the byte-order mark, then by decoding: only a file whose
    start is mostly NUL bytes (UTF-16/32 without a mark) is refused whole; a NUL byte in a
    UTF-8 file costs its record only.
    """
    for bom, name in _WIDE_BOMS.items():  # longest marks first: UTF-32 LE starts like UTF-16 LE
        if data.startswith(bom):
            return f"the file starts with a {name} byte-order mark; land it as UTF-8"
    head = data[:_SNIFF_BYTES]
    nuls = head.count(b"\x00")
    if head and nuls / len(head) >= _WIDE_NUL_SHARE:
        return (
            f"{nuls} of the first {len(head)} bytes are NUL: UTF-16/UTF-32 "
            "without a byte-order mark; land it as UTF-8"
        )
    return None


def _decode(data: bytes) -> tuple[str | None, str]:
    """Decode as UTF-8, keeping undecodable bytes as surrogates so each record can be judged.

    Returns (text, "") or (None, reason detail) for a file `refused_encoding` refuses.
    """
    problem = refused_encoding(data)
    if problem is not None:
        return None, problem
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
        parsed = parse_json_line(record + 1, line_no, line)
        if parsed is not None:
            record += 1
            yield parsed


def parse_json_line(record: int, line_no: int, line: str) -> ParsedRecord | None:
    """One JSON Lines line as record number `record`, or None for a blank line.

    Shared by the reference parser and the batch reader's fallback, so both judge a line alike.
    """
    line = line.removesuffix("\r")
    if not line.strip():
        return None
    if _has_lone_surrogate(line):
        return ParsedRecord(
            record,
            line_no,
            _printable(line),
            error="invalid_utf8",
            detail=_invalid_utf8_detail(line),
        )
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        detail = f"{err.msg} at column {err.colno}"
        return ParsedRecord(record, line_no, line, error="malformed_json", detail=detail)
    if not isinstance(value, dict):
        return ParsedRecord(
            record,
            line_no,
            line,
            error="malformed_json",
            detail=f"expected a JSON object, got {type(value).__name__}",
        )
    return ParsedRecord(record, line_no, line, fields=value)


def _nul_detail(raw: str) -> str:
    return f"NUL byte at character {raw.index(chr(0))} of the record"


def csv_lines(text: str) -> list[str]:
    """The file's lines, each ending in a newline, as the csv reader is fed them."""
    # Split on "\n" only: str.splitlines would also break on U+2028 and friends inside fields.
    lines = [line + "\n" for line in text.split("\n")]
    if lines and lines[-1] == "\n":
        lines.pop()
    return lines


def csv_reader(lines: list[str], start_line: int) -> Iterator[list[str]]:
    """A strict csv reader over `lines` from the 1-based `start_line` on."""
    # No field-size limit of the csv module's own: an over-long text is the policy's to judge
    # (text_too_long, its record alone); the module's 131,072-character limit raised an
    # error that swallowed every record after the long one.
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD))
    return csv.reader(iter(lines[start_line - 1 :]), strict=True)


def _parse_csv(text: str) -> Iterator[ParsedRecord]:
    lines = csv_lines(text)
    reader = csv_reader(lines, 1)
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
    record, start_line = 0, reader.line_num + 1
    while start_line <= len(lines):
        parsed, start_line = csv_record(reader, lines, start_line, record + 1, columns)
        if parsed is not None:
            record += 1
            yield parsed
            if parsed.error == "malformed_csv" and start_line > len(lines):
                return


def csv_record(
    reader: Iterator[list[str]], lines: list[str], start_line: int, record: int, columns: list[str]
) -> tuple[ParsedRecord | None, int]:
    """The next CSV row of `reader`, starting on line `start_line`, as record number `record`
    (None for a blank row), and the line the row after it starts on.

    `reader` reads `lines` from `start_line` on (its `line_num` counts from there). Shared by
    the reference parser and the batch reader's fallback, so both judge a row alike.
    """
    offset = start_line - 1 - reader.line_num  # type: ignore[attr-defined]
    try:
        row = next(reader)
    except StopIteration:
        return None, len(lines) + 1
    except csv.Error as err:
        # An unclosed quote swallows the rest of the file: quarantine that stretch whole.
        raw = "".join(lines[start_line - 1 :])
        return ParsedRecord(
            record,
            start_line,
            _printable(raw),
            error="malformed_csv",
            detail=f"{err} (record starting on line {start_line} runs to the end of the file)",
        ), len(lines) + 1
    end_line = reader.line_num + offset  # type: ignore[attr-defined]
    raw = "".join(lines[start_line - 1 : end_line])
    if not row or all(not cell.strip() for cell in row):
        return None, end_line + 1
    if _has_lone_surrogate(raw):
        detail = _invalid_utf8_detail(raw)
        return ParsedRecord(
            record, start_line, _printable(raw), error="invalid_utf8", detail=detail
        ), end_line + 1
    if "\x00" in raw:
        detail = _nul_detail(raw)
        return ParsedRecord(
            record, start_line, _printable(raw), error="malformed_csv", detail=detail
        ), end_line + 1
    if len(row) != len(columns):
        detail = f"expected {len(columns)} fields, got {len(row)}"
        return ParsedRecord(
            record, start_line, raw, error="malformed_csv", detail=detail
        ), end_line + 1
    return ParsedRecord(
        record, start_line, raw, fields=dict(zip(columns, row, strict=True))
    ), end_line + 1
