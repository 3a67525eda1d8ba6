"""The landing-file parsers: every record delimited, every problem named, nothing raised."""

import gzip
import json

from ingest.parsers import file_format, parse_file


def records(name: str, data: bytes):
    return list(parse_file(name, data))


def test_formats_by_extension():
    assert file_format("a.jsonl") == "jsonl"
    assert file_format("a.CSV.gz") == "csv"
    assert file_format("a.jsonl.gz") == "jsonl"
    assert file_format("a.parquet") is None


def test_jsonl_positions_and_blank_lines():
    data = b'{"comment_id": "1", "text": "a"}\n\n{"comment_id": "2", "text": "b"}\n'
    out = records("x.jsonl", data)
    assert [(r.record, r.line) for r in out] == [(1, 1), (2, 3)]
    assert out[1].fields == {"comment_id": "2", "text": "b"}


def test_malformed_json_line_is_one_bad_record_between_good_ones():
    data = b'{"comment_id": "1", "text": "a"}\n{"comment_id": "2", "text": \n{"comment_id": "3"}\n'
    out = records("x.jsonl", data)
    assert [r.error for r in out] == [None, "malformed_json", None]
    assert out[1].line == 2 and "column" in out[1].detail
    assert out[1].raw == '{"comment_id": "2", "text": '


def test_json_that_is_not_an_object():
    out = records("x.jsonl", b"[1, 2]\n")
    assert out[0].error == "malformed_json" and "list" in out[0].detail


def test_invalid_utf8_bytes_quarantine_only_their_record():
    data = b'{"comment_id": "1", "text": "caf\xe9"}\n{"comment_id": "2", "text": "ok"}\n'
    out = records("x.jsonl", data)
    assert out[0].error == "invalid_utf8"
    assert "0xe9" in out[0].detail
    assert "\\xe9" in out[0].raw  # the bad byte survives, escaped
    assert out[1].fields == {"comment_id": "2", "text": "ok"}


def test_utf16_file_with_a_byte_order_mark_is_rejected_as_a_whole():
    data = '{"comment_id": "1", "text": "a"}\n'.encode("utf-16")
    out = records("x.jsonl", data)
    assert len(out) == 1 and out[0].error == "unsupported_encoding" and out[0].record == 0


def test_empty_file_has_no_records():
    assert records("x.jsonl", b"") == []
    assert records("x.csv", b"") == []


def test_csv_quoted_newlines_and_positions():
    data = b'comment_id,text\n1,"two\nlines"\n2,plain\n'
    out = records("x.csv", data)
    assert [(r.record, r.line) for r in out] == [(1, 2), (2, 4)]
    assert out[0].fields == {"comment_id": "1", "text": "two\nlines"}


def test_csv_unicode_line_separator_inside_field_is_not_a_record_break():
    data = "comment_id,text\n1,a\u2028b\n".encode()
    out = records("x.csv", data)
    assert len(out) == 1 and out[0].fields["text"] == "a\u2028b"


def test_csv_unclosed_quote_quarantines_the_rest_of_the_file():
    data = b'comment_id,text\n1,fine\n2,"never closed\n3,lost?\n'
    out = records("x.csv", data)
    assert out[0].fields == {"comment_id": "1", "text": "fine"}
    assert out[1].error == "malformed_csv" and out[1].line == 3
    assert "3,lost?" in out[1].raw  # kept verbatim, not silently dropped


def test_csv_wrong_field_count():
    out = records("x.csv", b"comment_id,text\n1,a,extra\n")
    assert out[0].error == "malformed_csv" and "expected 2 fields, got 3" in out[0].detail


def test_gzip_and_broken_gzip():
    payload = json.dumps({"comment_id": "1", "text": "a"}).encode() + b"\n"
    assert records("x.jsonl.gz", gzip.compress(payload))[0].fields["comment_id"] == "1"
    broken = records("x.jsonl.gz", b"not gzip at all")
    assert broken[0].error == "unreadable_file"


def test_unsupported_extension():
    assert records("x.parquet", b"PAR1")[0].error == "unsupported_file_type"


def test_bom_at_file_start_is_not_part_of_the_first_field():
    out = records("x.csv", "\ufeffcomment_id,text\n1,a\n".encode())
    assert out[0].fields == {"comment_id": "1", "text": "a"}


def test_csv_field_longer_than_the_csv_modules_limit_costs_nothing_after_it():
    """Python's csv stops at 131,072 characters a field; that must not swallow later rows."""
    long_text = "x" * 200_000
    data = f"comment_id,text\n1,a\n2,{long_text}\n3,b\n4,c\n".encode()
    out = records("x.csv", data)
    assert [r.record for r in out] == [1, 2, 3, 4]
    assert all(r.error is None for r in out)
    assert out[1].fields["text"] == long_text and out[3].fields["text"] == "c"


def test_nul_byte_in_a_utf8_jsonl_record_quarantines_that_record_only():
    data = b'{"comment_id": "1", "text": "a"}\n{"comment_id": "2", "text": "a\x00b"}\n'
    data += b'{"comment_id": "3", "text": "c"}\n'
    out = records("x.jsonl", data)
    assert [r.error for r in out] == [None, "malformed_json", None]


def test_nul_byte_in_a_csv_record_quarantines_that_record_only():
    out = records("x.csv", b"comment_id,text\n1,a\x00b\n2,ok\n")
    assert [r.error for r in out] == ["malformed_csv", None]
    assert "NUL byte" in out[0].detail and out[1].fields == {"comment_id": "2", "text": "ok"}


def test_wide_encodings_are_decided_by_byte_order_mark_or_nul_density():
    line = '{"comment_id": "1", "text": "a"}\n'
    for encoding in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
        out = records("x.jsonl", line.encode(encoding))
        assert len(out) == 1 and out[0].error == "unsupported_encoding", encoding
        assert "UTF-8" in out[0].detail  # says what to do
