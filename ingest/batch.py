"""Batch ingest: a file's records parsed and judged as Arrow columns, a day decided in numpy.

The per-record path of `ingest/day.py` is the reference; this module must give the same
kept and quarantined rows byte for byte, only without a Python step per record. It proves
what it can with strict patterns and hands the rest to the reference's own helpers:

- a JSON line goes through the batch parser only when a pattern proves it a flat object of
  string or null values with plain keys, each known key once (pyarrow then reads those lines
  in one call); anything else (numbers, nesting, lone surrogate escapes, bad bytes, broken
  JSON) goes through `parse_json_line`, one line at a time;
- a CSV file is cut into records by quote parity, and a record goes through the batch
  parser only when a pattern proves it RFC 4180 (pyarrow reads those); at the first record
  it cannot prove, `csv_record` reads that one row with the csv module and the batch reader
  resumes after it (parity may flip there, so both phases are kept ready);
- a file that cannot be decompressed or decoded at all goes through `read_records` whole.

Text functions that Arrow lacks or implements differently (Unicode normalization, case
folding, HTML unescaping) run once over all strings joined by NUL, which none of them acts
across, so a file costs a handful of calls whatever its size.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.day import (
    FileStats,
    IngestResult,
    LandingFile,
    _as_text,
    _Record,
    judge_record,
    parse_published_at,
    read_records,
)
from ingest.near_duplicates import NearDuplicateRules, repeats, signatures
from ingest.normalize import INVISIBLE_CHARS, NormalizeRules, unescape_html
from ingest.parsers import (
    ParsedRecord,
    csv_lines,
    csv_reader,
    csv_record,
    file_format,
    parse_json_line,
    refused_encoding,
)
from ingest.policy import Policy
from ingest.raw_tables import QUARANTINE_SCHEMA, RAW_COMMENTS_SCHEMA

TableCache = dict[tuple[str, str], pa.Table]

# A file's records, routed and judged on their own, in record order: what the reference's
# `_Record`s hold, as columns. `comment_id`..`source` are the values a valid record keeps;
# `q_*` are the fields as they arrived, which a quarantined row shows.
JUDGED_SCHEMA = pa.schema(
    [
        ("record", pa.int64()),
        ("line", pa.int64()),
        ("raw", pa.large_string()),
        ("owner", pa.date32()),
        ("published_at", pa.timestamp("us")),
        ("reason", pa.string()),
        ("detail", pa.large_string()),
        ("comment_id", pa.large_string()),
        ("author", pa.large_string()),
        ("text", pa.large_string()),
        ("source", pa.large_string()),
        ("q_comment_id", pa.large_string()),
        ("q_author", pa.large_string()),
        ("q_text", pa.large_string()),
    ]
)

# Python's whitespace (str.isspace, what str.strip and `\s` use): U+3000 is the last one.
PY_SPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


def _re2_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(ch):x}}}" for ch in chars)


_SPACE = _re2_class(PY_SPACE)
_SPACE_NO_NL = _re2_class(PY_SPACE.replace("\r", "").replace("\n", ""))
# A run that `re.sub(r"\s+", " ", ...)` changes: two or more spaces, or one that is not " ".
_SPACE_RUN = f"[{_SPACE}]{{2,}}|[{_re2_class(PY_SPACE.replace(' ', ''))}]"
_CONTROL = r"[\x{0}-\x{8}\x{b}-\x{1f}\x{7f}-\x{9f}]"
_CONTROL_NO_CR = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}-\x{9f}]"
_INVISIBLE = f"[{_re2_class(INVISIBLE_CHARS)}]"
_TAG = r"<[^<>]{0,500}>"

# A flat JSON object whose values are strings or null and whose keys are plain words: what
# json.loads and pyarrow read alike. Control characters are refused inside strings, as by
# json.loads; surrogate escapes only as a valid pair.
_JSON_WS = r"[ \t\r]*"
_JSON_STR = (
    r'"(?:[^"\\\x{0}-\x{1f}]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}'
    r"|[dD][0-7][0-9a-fA-F]{2}|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))*\""
)
_JSON_PAIR = f'"[A-Za-z0-9_]*"{_JSON_WS}:{_JSON_WS}(?:{_JSON_STR}|null)'
_JSON_OBJECT = (
    f"^{_JSON_WS}\\{{{_JSON_WS}(?:{_JSON_PAIR}(?:{_JSON_WS},{_JSON_WS}{_JSON_PAIR})*)?"
    f"{_JSON_WS}\\}}{_JSON_WS}$"
)

# An RFC 4180 record ending in its newline: what the csv module and pyarrow read alike.
_CSV_FIELD = r'(?:[^",\r\n\x{0}]*|"(?:[^"\x{0}]|"")*")'
_CSV_RECORD = f"^{_CSV_FIELD}(?:,{_CSV_FIELD})*\\r?\\n$"
_CSV_BLANK_FIELD = f'(?:[{_SPACE_NO_NL}]*|"[{_SPACE}]*")'
_CSV_BLANK = f"^{_CSV_BLANK_FIELD}(?:,{_CSV_BLANK_FIELD})*\\r?\\n$"
_CSV_QUOTED = r'"(?:[^"]|"")*"'

# ISO 8601 stamps that datetime.fromisoformat reads the obvious way; others go through it.
_ISO = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d{6}|\d{3}))?(?:Z|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))?$"
)
_EPOCH = dt.date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000


def _false_if_null(mask: pa.Array) -> pa.Array:
    return pc.fill_null(mask, False)


def _np(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.to_numpy(zero_copy_only=False)


def map_joined(
    fn: Callable[[str], str], values: pa.Array, where: pa.Array | None = None
) -> pa.Array:
    """`fn` applied to each string of `values` (those `where` marks), in one call over them
    joined by NUL.

    Equal to one call per string for functions that act on characters and never across a
    NUL (Unicode normalization, case folding, HTML unescaping); strings holding a NUL
    themselves get one call each.
    """
    where = pc.is_valid(values) if where is None else _false_if_null(where)
    has_nul = _false_if_null(pc.match_substring(values, "\x00"))
    joined_rows = np.flatnonzero(_np(pc.and_(where, pc.invert(has_nul))))
    single_rows = np.flatnonzero(_np(pc.and_(where, has_nul)))
    if not len(joined_rows) and not len(single_rows):
        return values
    rows = np.concatenate([joined_rows, single_rows])
    texts = values.take(pa.array(joined_rows)).to_pylist()
    out = fn("\x00".join(texts)).split("\x00") if texts else []
    if len(out) != len(texts):
        raise AssertionError(f"{fn.__name__} joined {len(texts)} strings into {len(out)}")
    out += [fn(text) for text in values.take(pa.array(single_rows)).to_pylist()]
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    replacements = pa.array(np.array(out, dtype=object)[np.argsort(rows)], type=values.type)
    return pc.replace_with_mask(values, pa.array(mask), replacements)


def concat(*parts: str | pa.Array) -> pa.Array:
    """Strings and string arrays joined element by element (null where any part is null)."""
    values = [
        pa.scalar(p, pa.large_string()) if isinstance(p, str) else pc.cast(p, pa.large_string())
        for p in parts
    ]
    return pc.binary_join_element_wise(*values, pa.scalar("", pa.large_string()))


def trim_space(values: pa.Array) -> pa.Array:
    """str.strip() for each string."""
    return pc.utf8_trim(values, characters=PY_SPACE)


def normalize_texts(texts: pa.Array, rules: NormalizeRules) -> pa.Array:
    """`ingest.normalize.normalize_text` for each string."""
    if rules.normalize_newlines:
        texts = pc.replace_substring(pc.replace_substring(texts, "\r\n", "\n"), "\r", "\n")
    if rules.strip_control_chars:
        texts = pc.replace_substring_regex(texts, _CONTROL, "")
    if rules.unicode_form:
        form = rules.unicode_form

        def normalize(text: str) -> str:
            return unicodedata.normalize(form, text)  # type: ignore[arg-type]

        texts = map_joined(normalize, texts, pc.invert(pc.string_is_ascii(texts)))
    if rules.strip_whitespace:
        texts = trim_space(texts)
    return texts


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def dedupe_keys(texts: pa.Array) -> pa.Array:
    """`ingest.normalize.dedupe_key` for each string."""
    texts = map_joined(unescape_html, texts, pc.match_substring(texts, "&"))
    # A pattern is compiled on each call: skip the costly ones where nothing can match.
    if pc.any(pc.match_substring(texts, "<")).as_py():
        texts = pc.replace_substring_regex(texts, _TAG, " ")
    if not pc.all(pc.string_is_ascii(texts)).as_py():
        texts = pc.replace_substring_regex(texts, _INVISIBLE, "")
    texts = map_joined(_fold, texts, pc.invert(pc.string_is_ascii(texts)))
    texts = pc.ascii_lower(texts)
    texts = pc.replace_substring_regex(texts, _SPACE_RUN, " ")
    return pc.utf8_trim(texts, characters=" ")


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _ints(parts: pa.StructArray, name: str) -> np.ndarray:
    """A group of `_ISO`'s match as integers (0 where it did not match)."""
    text = pc.struct_field(parts, name)
    text = pc.if_else(_false_if_null(pc.not_equal(text, "")), text, "0")
    return _np(pc.cast(text, pa.int64()))


def published_stamps(values: pa.Array) -> pa.Array:
    """`parse_published_at` for each string, as microsecond timestamps (null: unusable).

    Stamps of the plain shape (`_ISO`) with in-range parts are computed here; anything else
    (other shapes, impossible dates, years at the ends of the range) by `parse_published_at`,
    once per distinct value.
    """
    n = len(values)
    parts = pc.extract_regex(pc.fill_null(values, ""), _ISO)
    matched = _np(pc.is_valid(parts))
    y, mo, d = _ints(parts, "y"), _ints(parts, "mo"), _ints(parts, "d")
    hh, mi, ss = _ints(parts, "h"), _ints(parts, "mi"), _ints(parts, "s")
    frac = _np(pc.utf8_length(pc.fill_null(pc.struct_field(parts, "f"), "")))
    micros = _ints(parts, "f") * np.where(frac == 3, 1000, 1)
    sign = np.where(_np(pc.equal(pc.fill_null(pc.struct_field(parts, "sign"), ""), "-")), -1, 1)
    off_h, off_m = _ints(parts, "oh"), _ints(parts, "om")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    dim = month_days[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
    # Years 1 and 9999 stay with fromisoformat: an offset can carry them out of range.
    ok = matched & (y >= 2) & (y <= 9998) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim)
    ok &= (hh <= 23) & (mi <= 59) & (ss <= 59) & (off_h <= 23) & (off_m <= 59)
    seconds = _days_from_civil(y, mo, d) * 86_400 + hh * 3600 + mi * 60 + ss
    seconds -= sign * (off_h * 3600 + off_m * 60)
    stamps = pa.array(np.where(ok, seconds * 1_000_000 + micros, 0), pa.int64())
    stamps = pc.if_else(
        pa.array(ok), stamps.cast(pa.timestamp("us")), pa.nulls(n, pa.timestamp("us"))
    )
    rest = pc.and_(pc.is_valid(values), pa.array(~ok))
    others = pc.unique(values.filter(rest))
    if len(others):
        parsed = pa.array([parse_published_at(v) for v in others.to_pylist()], pa.timestamp("us"))
        stamps = pc.if_else(rest, parsed.take(pc.index_in(values, others)), stamps)
    return stamps


class _Verdicts:
    """The first problem found for each record, as the reference's checks find them in order."""

    def __init__(self, n: int) -> None:
        self.reason = pa.nulls(n, pa.string())
        self.detail = pa.nulls(n, pa.large_string())

    def flag(self, where: pa.Array, reason: str, detail: str | pa.Array) -> None:
        where = pc.and_(_false_if_null(where), pc.is_null(self.reason))
        detail = pa.scalar(detail, pa.large_string()) if isinstance(detail, str) else detail
        self.reason = pc.if_else(where, pa.scalar(reason, pa.string()), self.reason)
        self.detail = pc.if_else(where, pc.cast(detail, pa.large_string()), self.detail)


def _text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.large_string())


def judge_fields(
    fields: Mapping[str, pa.Array],
    lines: np.ndarray,
    raw: pa.Array,
    landed: dt.date,
    policy: Policy,
) -> pa.Table:
    """Route and judge parsed records whose fields are all strings or null (`_validate`)."""
    n = len(raw)
    string_nulls = pa.nulls(n, pa.large_string())
    get = {name: _text(values) for name, values in fields.items()}
    for name in (*policy.required_fields, *_VALUE_FIELDS):
        get.setdefault(name, string_nulls)
    verdicts = _Verdicts(n)

    published = published_stamps(get["published_at"])
    pub_day = np.floor_divide(_np(pc.fill_null(published.cast(pa.int64()), 0)), _US_PER_DAY)
    landed_day = (landed - _EPOCH).days
    dated = _np(pc.is_valid(published))
    after = dated & (pub_day > landed_day)
    too_late = dated & ~after & (landed_day - pub_day > policy.late_arrival_days)
    owner = np.where(dated & ~after & ~too_late, pub_day, landed_day).astype(np.int32)
    routing_detail = concat("published_at=", get["published_at"])
    verdicts.flag(pa.array(after), "published_after_landing", routing_detail)
    verdicts.flag(pa.array(too_late), "published_too_late", routing_detail)
    for name in policy.required_fields:
        empty = pc.or_kleene(pc.is_null(get[name]), pc.equal(get[name], ""))
        verdicts.flag(empty, "missing_field", f"'{name}' is absent or empty")
    comment_id = trim_space(get["comment_id"])
    id_length = pc.utf8_length(comment_id)
    bad_id = pc.or_kleene(
        pc.equal(id_length, 0), pc.greater(id_length, policy.comment_id_max_length)
    )
    verdicts.flag(bad_id, "invalid_comment_id", f"length must be 1..{policy.comment_id_max_length}")
    text = get["text"]
    if policy.charset.control_chars == "quarantine":
        controls = pc.match_substring_regex(text, _CONTROL_NO_CR)
        verdicts.flag(controls, "forbidden_characters", "control characters in text")
    if policy.charset.reject_replacement_char:
        verdicts.flag(
            pc.match_substring(text, "\ufffd"),
            "forbidden_characters",
            "U+FFFD in text (earlier bad decode)",
        )
    text = normalize_texts(text, policy.normalize)
    length = pc.cast(pc.utf8_length(text), pa.large_string())
    low, high = policy.text_min_length, policy.text_max_length
    verdicts.flag(
        pc.less(pc.utf8_length(text), low),
        "text_too_short",
        concat(length, f" < {low} chars"),
    )
    verdicts.flag(
        pc.greater(pc.utf8_length(text), high),
        "text_too_long",
        concat(length, f" > {high} chars"),
    )
    author = get["author"]
    author_kept = pc.if_else(
        _false_if_null(pc.not_equal(author, "")), trim_space(author), string_nulls
    )
    return pa.table(
        {
            "record": pa.nulls(n, pa.int64()),
            "line": pa.array(lines, pa.int64()),
            "raw": _text(raw),
            "owner": pa.array(owner, pa.int32()).cast(pa.date32()),
            "published_at": published,
            "reason": verdicts.reason,
            "detail": verdicts.detail,
            "comment_id": comment_id,
            "author": author_kept,
            "text": text,
            "source": get["source"],
            "q_comment_id": get["comment_id"],
            "q_author": author,
            "q_text": get["text"],
        },
        schema=JUDGED_SCHEMA,
    )


_VALUE_FIELDS = ("comment_id", "author", "text", "source", "published_at")


def _records_table(records: list[_Record]) -> pa.Table:
    """Reference `_Record`s as a judged table (files and records the batch reader hands over)."""

    def safe(record: _Record, name: str) -> str | None:
        try:
            return _as_text((record.parsed.fields or {}).get(name))
        except TypeError:
            return None

    rows = [
        {
            "record": r.parsed.record,
            "line": r.parsed.line,
            "raw": r.parsed.raw,
            "owner": r.owner,
            "published_at": r.published_at,
            "reason": r.problem[0] if r.problem else None,
            "detail": r.problem[1] if r.problem else None,
            **{
                name: (r.values or {}).get(name)
                for name in ("comment_id", "author", "text", "source")
            },
            "q_comment_id": safe(r, "comment_id"),
            "q_author": safe(r, "author"),
            "q_text": safe(r, "text"),
        }
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=JUDGED_SCHEMA)


def _error_rows(
    lines: np.ndarray, raw: pa.Array, reason: str, detail: pa.Array, landed: dt.date
) -> pa.Table:
    n = len(lines)
    nulls = pa.nulls(n, pa.large_string())
    return pa.table(
        {
            "record": pa.nulls(n, pa.int64()),
            "line": pa.array(lines, pa.int64()),
            "raw": _text(raw),
            "owner": pa.array([landed] * n, pa.date32()),
            "published_at": pa.nulls(n, pa.timestamp("us")),
            "reason": pa.array([reason] * n, pa.string()),
            "detail": _text(detail),
            **{name: nulls for name in ("comment_id", "author", "text", "source")},
            **{name: nulls for name in ("q_comment_id", "q_author", "q_text")},
        },
        schema=JUDGED_SCHEMA,
    )


def _numbered(parts: list[pa.Table]) -> pa.Table:
    """The parts of a file in line order, numbered 1.. as the reference numbers records."""
    table = pa.concat_tables([p for p in parts if p.num_rows] or [JUDGED_SCHEMA.empty_table()])
    table = table.take(pc.sort_indices(table, [("line", "ascending")]))
    record = pa.array(np.arange(1, table.num_rows + 1), pa.int64())
    return table.set_column(0, "record", record).combine_chunks()


def _fallback(parsed: list[ParsedRecord], landed: dt.date, policy: Policy) -> pa.Table:
    return _records_table([judge_record(p, landed, policy) for p in parsed])


def _bad_utf8_lines(data: bytes, newlines: np.ndarray) -> np.ndarray:
    """Indexes of the lines holding bytes that are not UTF-8: decoded in 16 MB windows, one
    error at a time, so the cost is one pass whatever the number of bad lines."""
    view, size, window, pos = memoryview(data), len(data), 1 << 24, 0
    bad = []
    while pos < size:
        final = pos + window >= size
        try:
            _, used = codecs.utf_8_decode(view[pos : pos + window], "strict", final)
            pos += used if used else window
        except UnicodeDecodeError as err:
            bad.append(pos + err.start)
            end = data.find(b"\n", pos + err.start)
            pos = size if end < 0 else end + 1
    return np.unique(np.searchsorted(newlines, np.asarray(bad, dtype=np.int64)))


def _lines(data: bytes) -> tuple[pa.Array, np.ndarray]:
    """The lines of `data` (which ends in a newline) with their newlines, zero-copy, and the
    newlines' byte offsets."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    offsets = np.concatenate([[0], newlines + 1]).astype(np.int64)
    lines = pa.Array.from_buffers(
        pa.large_binary(), len(newlines), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return lines, newlines


def _as_strings(lines: pa.Array, bad: np.ndarray) -> pa.Array:
    """`lines` as strings, with the lines that are not UTF-8 emptied."""
    if len(bad):
        mask = np.zeros(len(lines), dtype=bool)
        mask[bad] = True
        lines = pc.if_else(pa.array(mask), pa.scalar(b"", pa.large_binary()), lines)
    return lines.cast(pa.large_string())


def read_jsonl(data: bytes, landed: dt.date, policy: Policy) -> pa.Table:
    """The records of a JSON Lines file (decoded, mark stripped) as a judged table."""
    import pyarrow.json as pj

    if not data.endswith(b"\n"):
        data += b"\n"  # an empty last line: blank, as the reference's last split piece
    binary, newlines = _lines(data)
    bad = _bad_utf8_lines(data, newlines)
    lines = pc.utf8_slice_codeunits(_as_strings(binary, bad), 0, -1)  # without the newline
    cr = pc.ends_with(lines, "\r")
    lines = pc.if_else(cr, pc.utf8_slice_codeunits(lines, 0, -1), lines)
    proven = _false_if_null(pc.match_substring_regex(lines, _JSON_OBJECT))
    names = list(dict.fromkeys((*_VALUE_FIELDS, *policy.required_fields)))
    for name in names:
        once = pc.less_equal(pc.count_substring_regex(lines, f'"{name}"{_JSON_WS}:'), 1)
        proven = pc.and_(proven, _false_if_null(once))
    blank = pc.match_substring_regex(lines, r"^[ \t\r]*$")
    is_bad = np.zeros(len(lines), dtype=bool)
    is_bad[bad] = True
    proven_np = proven.to_numpy(zero_copy_only=False) & ~is_bad
    other = np.flatnonzero(~proven_np & (~blank.to_numpy(zero_copy_only=False) | is_bad))
    parsed = []
    for index in other.tolist():
        text = binary[index].as_py()[:-1].decode("utf-8", "surrogateescape")
        record = parse_json_line(0, index + 1, text)
        if record is not None:
            parsed.append(record)
    parts = [_fallback(parsed, landed, policy)]
    rows = np.flatnonzero(proven_np)
    if len(rows):
        chosen = lines.take(pa.array(rows))
        body = concat(chosen, "\n")
        longest = pc.max(pc.binary_length(body)).as_py()
        schema = pa.schema([(name, pa.string()) for name in names])
        buffer = _values_buffer(body)
        table = pj.read_json(
            pa.BufferReader(buffer),
            read_options=pj.ReadOptions(block_size=max(2 * longest, min(1 << 24, buffer.size + 1))),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows != len(rows):
            raise AssertionError(f"pyarrow read {table.num_rows} of {len(rows)} proven lines")
        fields = {name: table.column(name).combine_chunks() for name in names}
        parts.append(judge_fields(fields, rows + 1, chosen, landed, policy))
    return _numbered(parts)


def _values_buffer(values: pa.Array) -> pa.Buffer:
    """The bytes of a (large) string array's values, back to back."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    return values.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


class _CsvPhase:
    """A CSV body cut into records at the newlines after which the count of quote characters
    has parity `phase`, each record marked proven (RFC 4180, UTF-8, no NUL) or not."""

    def __init__(
        self, data: bytes, newlines: np.ndarray, parity: np.ndarray, bad: np.ndarray, phase: int
    ) -> None:
        ends = np.flatnonzero(parity == phase)  # indexes of the lines that end a record
        self.first_lines, self.last_lines = ends[:-1] + 1, ends[1:]
        starts, stops = newlines[ends[:-1]] + 1, newlines[ends[1:]] + 1
        offsets = np.concatenate([starts[:1] if len(starts) else [0], stops]).astype(np.int64)
        binary = pa.Array.from_buffers(
            pa.large_binary(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        holds_bad = np.zeros(len(starts), dtype=bool)
        which = np.searchsorted(self.last_lines, bad)  # the record holding each bad line
        inside = which < len(starts)
        inside[inside] &= self.first_lines[which[inside]] <= bad[inside]
        holds_bad[which[inside]] = True
        self.text = _as_strings(binary, np.flatnonzero(holds_bad))
        proven = _np(_false_if_null(pc.match_substring_regex(self.text, _CSV_RECORD)))
        self.unproven = np.flatnonzero(~proven | holds_bad)

    def run_from(self, line: int) -> tuple[np.ndarray, int]:
        """The proven records from the one starting on `line` on, and the line after them."""
        first = int(np.searchsorted(self.first_lines, line))
        next_unproven = int(np.searchsorted(self.unproven, first))
        stop = (
            int(self.unproven[next_unproven])
            if next_unproven < len(self.unproven)
            else len(self.first_lines)
        )
        after = int(self.last_lines[stop - 1]) + 1 if stop > first else line
        return np.arange(first, stop), after


def read_csv(
    data: bytes, landed: dt.date, policy: Policy, reference: Callable[[], pa.Table]
) -> pa.Table:
    """The records of a CSV file (decoded, mark stripped) as a judged table.

    Proven records are read in batches; the csv module reads each record in between, one at
    a time, exactly as the reference does, and the batches resume after it.
    """
    if not data:
        return _numbered([])
    if not data.endswith(b"\n"):
        data += b"\n"  # the reference gives the last line its newline too
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    try:
        header = data[: newlines[0]].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return reference()
    if not header.strip() or any(ch in header for ch in '"\r\x00'):
        return reference()  # quoted, odd or empty headers: the reference reads the file
    columns = [h.strip().lower() for h in header.split(",")]
    quotes = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 34)
    parity = (np.searchsorted(quotes, newlines) % 2).astype(np.int8)
    bad = _bad_utf8_lines(data, newlines)
    phases: dict[int, _CsvPhase] = {}
    proven: list[tuple[_CsvPhase, np.ndarray]] = []
    fallback: list[ParsedRecord] = []
    text_lines: list[str] | None = None
    line = 1  # 0-based index of the line the next record starts on; line 0 is the header
    while line < len(newlines):
        phase = int(parity[line - 1])
        if phase not in phases:
            phases[phase] = _CsvPhase(data, newlines, parity, bad, phase)
        rows, line = phases[phase].run_from(line)
        if len(rows):
            proven.append((phases[phase], rows))
        if line >= len(newlines):
            break
        if text_lines is None:
            text_lines = csv_lines(data.decode("utf-8", "surrogateescape"))
        parsed, next_line = csv_record(
            csv_reader(text_lines, line + 1), text_lines, line + 1, 0, columns
        )
        if parsed is not None:
            fallback.append(parsed)
        line = next_line - 1
    parts = [_fallback(fallback, landed, policy)]
    for seq in phases.values():  # one batch per phase
        rows = [r for p, r in proven if p is seq]
        if rows:
            parts.extend(_csv_proven(seq, np.concatenate(rows), columns, landed, policy))
    return _numbered(parts)


def _csv_proven(
    seq: _CsvPhase, rows: np.ndarray, columns: list[str], landed: dt.date, policy: Policy
) -> list[pa.Table]:
    """Judged tables of proven CSV records: wrong field counts quarantined, the rest read."""
    import pyarrow.csv as pcsv

    text = seq.text.take(pa.array(rows))
    lines = seq.first_lines[rows] + 1
    blank = _np(_false_if_null(pc.match_substring_regex(text, _CSV_BLANK)))
    keep = np.flatnonzero(~blank)
    text, lines = text.take(pa.array(keep)), lines[keep]
    unquoted = pc.replace_substring_regex(text, _CSV_QUOTED, "")
    count = _np(pc.add(pc.count_substring(unquoted, ","), 1))
    wrong = np.flatnonzero(count != len(columns))
    got = pc.cast(pa.array(count[wrong], pa.int64()), pa.large_string())
    detail = concat(f"expected {len(columns)} fields, got ", got)
    parts = [_error_rows(lines[wrong], text.take(pa.array(wrong)), "malformed_csv", detail, landed)]
    right = np.flatnonzero(count == len(columns))
    if len(right):
        chosen = text.take(pa.array(right))
        names = [f"c{i}" for i in range(len(columns))]
        longest = pc.max(pc.binary_length(chosen)).as_py()
        table = pcsv.read_csv(
            pa.BufferReader(_values_buffer(chosen)),
            read_options=pcsv.ReadOptions(column_names=names, block_size=max(1 << 24, 2 * longest)),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if table.num_rows != len(right):
            raise AssertionError(f"pyarrow read {table.num_rows} of {len(right)} proven records")
        last = {name: i for i, name in enumerate(columns)}  # a repeated column: the last wins
        fields = {name: table.column(f"c{i}").combine_chunks() for name, i in last.items()}
        parts.append(judge_fields(fields, lines[right], chosen, landed, policy))
    return parts


def read_file(file: LandingFile, policy: Policy) -> pa.Table:
    """Every record of a file, routed to its day and judged on its own, as a judged table."""

    def reference() -> pa.Table:
        return _records_table(read_records(file, policy))

    fmt = file_format(file.key)
    if fmt is None:
        return reference()
    data = file.data
    if file.key.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return reference()
    if refused_encoding(data) is not None:
        return reference()
    data = data.removeprefix(b"\xef\xbb\xbf")
    if fmt == "csv":
        return read_csv(data, file.landed_date, policy, reference)
    return read_jsonl(data, file.landed_date, policy)


def _first_in_group(codes: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same code."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return first[inverse.ravel()]


def _codes(values: pa.Array) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return _np(pc.fill_null(pc.dictionary_encode(values).indices, -1)).astype(np.int64)


class _Day:
    """The judged records of every file a day reads, concatenated in arrival order."""

    def __init__(self, day: dt.date, ordered: list[LandingFile], judged: list[pa.Table]) -> None:
        self.rows = pa.concat_tables([JUDGED_SCHEMA.empty_table(), *judged])  # no copy
        self.file_of = np.repeat(np.arange(len(ordered)), [t.num_rows for t in judged])
        landed = np.array([(f.landed_date - _EPOCH).days for f in ordered], np.int64)
        self.landed = landed[self.file_of]
        self.keys = pa.array([f.key for f in ordered], pa.string())
        self.valid = _np(pc.is_null(self.rows.column("reason")))
        owner = self.rows.column("owner").cast(pa.int32())
        self.owned = _np(pc.equal(owner, (day - _EPOCH).days))
        self.reason = pa.nulls(len(self.valid), pa.string())
        self.detail = pa.nulls(len(self.valid), pa.large_string())
        self.remaining = self.valid & self.owned  # owned valid records not refused yet
        self._keyed = np.zeros(0, dtype=np.int64)  # rows whose dedupe key is in _keys
        self._keys = pa.array([], pa.large_string())

    def dedupe_keys(self, rows: np.ndarray) -> pa.Array:
        """`dedupe_keys` of the texts of `rows`, each computed once per day."""
        missing = rows[~np.isin(rows, self._keyed)]
        if len(missing):
            self._keyed = np.concatenate([self._keyed, missing])
            self._keys = pa.concat_arrays([self._keys, dedupe_keys(self.column("text", missing))])
        where = np.argsort(self._keyed)
        return self._keys.take(pa.array(where[np.searchsorted(self._keyed[where], rows)]))

    def column(self, name: str, rows: np.ndarray) -> pa.Array:
        return self.rows.column(name).take(pa.array(rows, pa.int64())).combine_chunks()

    def where(self, rows: np.ndarray) -> pa.Array:
        """`<key> record <n>` of each row, as details name earlier records."""
        record = pc.cast(self.column("record", rows), pa.string())
        key = self.keys.take(pa.array(self.file_of[rows], pa.int64()))
        return concat(key, " record ", record)

    def refuse(self, rows: np.ndarray, reason: str, detail: str | pa.Array) -> None:
        """Quarantine `rows` (owned, valid and not refused yet) for `reason`."""
        mask = np.zeros(len(self.valid), dtype=bool)
        mask[rows] = True
        if isinstance(detail, str):
            detail = pa.array([detail] * len(rows), pa.large_string())
        self.reason = pc.replace_with_mask(
            self.reason, pa.array(mask), pa.array([reason] * len(rows), pa.string())
        )
        self.detail = pc.replace_with_mask(
            self.detail, pa.array(mask), pc.cast(detail, pa.large_string())
        )
        self.remaining[rows] = False


def _duplicate_ids(state: _Day, lookback: int) -> None:
    """The first valid copy of an id, in arrival order, within `lookback` days before a
    record's landing day makes the record a duplicate (`earlier_copy`)."""
    at = np.flatnonzero(state.valid)
    if not len(at):
        return
    group = _codes(state.column("comment_id", at))
    landed = state.landed[at]  # non-decreasing: files are in arrival order, landing day first
    order = np.lexsort((np.arange(len(at)), group))
    span = 1 << 24  # more days than any landing day since 1970
    sorted_keys = group[order] * span + landed[order]
    first = order[np.searchsorted(sorted_keys, group * span + landed - lookback, side="left")]
    dup = (first < np.arange(len(at))) & state.owned[at]
    rows = at[dup]
    detail = concat("first seen in ", state.where(at[first[dup]]))
    state.refuse(rows, "duplicate_comment_id", detail)


def _duplicate_texts(state: _Day, has_author: np.ndarray) -> None:
    """A later record of the day with an earlier one's author and text (`dedupe_key`)."""
    at = np.flatnonzero(state.remaining & has_author)
    if not len(at):
        return
    text_codes = _codes(state.dedupe_keys(at))
    first = _first_in_group(_codes(state.column("author", at)) * (len(at) + 1) + text_codes)
    dup = first < np.arange(len(at))
    detail = concat("same text as ", state.where(at[first[dup]]))
    state.refuse(at[dup], "duplicate_author_text", detail)


def _near_duplicates(state: _Day, day: dt.date, rules: NearDuplicateRules) -> None:
    """A record whose text repeats, nearly, an earlier one of the day or the look-back
    (`ingest.near_duplicates`): ranked by owning day, then arrival order."""
    owner = _np(state.rows.column("owner").cast(pa.int32())).astype(np.int64)
    newest = (day - _EPOCH).days
    at = np.flatnonzero(state.valid & (owner >= newest - rules.lookback_days) & (owner <= newest))
    keys = state.dedupe_keys(at)
    filled = _np(pc.not_equal(keys, ""))
    at, keys = at[filled], keys.filter(pa.array(filled))
    if not len(at):
        return
    rank = np.empty(len(at), dtype=np.int64)
    rank[np.lexsort((at, owner[at]))] = np.arange(len(at))
    distinct = pc.dictionary_encode(keys)  # equal keys: one signature
    codes = _np(distinct.indices).astype(np.int64)
    sigs = signatures(distinct.dictionary, rules)
    first = repeats(sigs, rank, state.remaining[at], rules, codes)
    found = first >= 0
    rows, earlier = at[found], at[first[found]]
    where = state.where(earlier)
    detail = concat("repeats comment ", state.column("comment_id", earlier), " (", where, ")")
    state.refuse(rows, "near_duplicate", detail)


def _over_cap(state: _Day, has_author: np.ndarray, cap: int) -> None:
    """An author's records of the day after the first `cap` still standing."""
    at = np.flatnonzero(state.remaining & has_author)
    if not len(at):
        return
    group = _codes(state.column("author", at))
    order = np.lexsort((np.arange(len(at)), group))
    rank = np.empty(len(at), dtype=np.int64)
    rank[order] = np.arange(len(at)) - np.searchsorted(group[order], group[order], side="left")
    state.refuse(at[rank >= cap], "author_cap_exceeded", f"cap is {cap} per day")


def ingest_day_batch(
    day: dt.date,
    files: list[LandingFile],
    policy: Policy,
    cache: TableCache | None = None,
) -> IngestResult:
    """`ingest.day.ingest_day_reference`'s rows, decided a column at a time."""
    cache = {} if cache is None else cache
    ordered = sorted(files, key=lambda f: f.arrival_order)
    judged = []
    for file in ordered:
        table = cache.get((file.key, file.etag))
        if table is None:
            table = cache[(file.key, file.etag)] = read_file(file, policy)
        judged.append(table)
    state = _Day(day, ordered, judged)
    if policy.dedupe.comment_id:
        _duplicate_ids(state, policy.dedupe.comment_id_lookback_days)
    has_author = _np(_false_if_null(pc.not_equal(state.rows.column("author"), "")))
    if policy.dedupe.author_text:
        _duplicate_texts(state, has_author)
    if policy.near_duplicate.enabled:
        _near_duplicates(state, day, policy.near_duplicate)
    if policy.author_daily_cap is not None:
        _over_cap(state, has_author, policy.author_daily_cap)
    return _result(day, files, ordered, state, policy.version)


def _result(
    day: dt.date, files: list[LandingFile], ordered: list[LandingFile], state: _Day, version: str
) -> IngestResult:
    kept_rows = np.flatnonzero(state.remaining)
    out_rows = np.flatnonzero(state.owned & ~state.remaining)

    def lineage(rows: np.ndarray) -> dict[str, pa.Array]:
        n = len(rows)
        return {
            "partition_date": pa.array([day] * n, pa.date32()),
            "landed_date": pa.array(state.landed[rows].astype(np.int32)).cast(pa.date32()),
            "source_file": state.keys.take(pa.array(state.file_of[rows], pa.int64())),
            "source_record": state.column("record", rows),
            "source_line": state.column("line", rows),
            "policy_version": pa.array([version] * n, pa.string()),
        }

    kept = pa.table(
        {
            name: state.column(name, kept_rows)
            for name in ("comment_id", "author", "text", "published_at", "source")
        }
        | lineage(kept_rows)
    )
    refused = pa.array(state.valid[out_rows])
    taken = pa.array(out_rows, pa.int64())
    quarantined = pa.table(
        lineage(out_rows)
        | {
            "reason": pc.if_else(
                refused, state.reason.take(taken), state.column("reason", out_rows)
            ),
            "detail": pc.if_else(
                refused, state.detail.take(taken), state.column("detail", out_rows)
            ),
            "comment_id": state.column("q_comment_id", out_rows),
            "author": state.column("q_author", out_rows),
            "text": state.column("q_text", out_rows),
            "raw_record": state.column("raw", out_rows),
        }
    )
    stats = {f.key: FileStats(f.key, f.size, f.etag, f.landed_date.isoformat()) for f in files}
    for i, file in enumerate(ordered):
        mine = state.file_of == i
        s = stats[file.key]
        s.records_owned = int((state.owned & mine).sum())
        s.kept = int((state.remaining & mine).sum())
        s.quarantined = s.records_owned - s.kept
    later = np.flatnonzero(~state.owned & (state.landed >= (day - _EPOCH).days))
    counts = pc.value_counts(state.column("owner", later)).to_pylist()
    elsewhere = Counter({c["values"].isoformat(): c["counts"] for c in counts})
    return IngestResult(
        day=day,
        kept=kept.select(RAW_COMMENTS_SCHEMA.names).cast(RAW_COMMENTS_SCHEMA).combine_chunks(),
        quarantined=quarantined.select(QUARANTINE_SCHEMA.names)
        .cast(QUARANTINE_SCHEMA)
        .combine_chunks(),
        files=list(stats.values()),
        routed_elsewhere=elsewhere,
    )
