"""Batch ingest gives the reference's kept and quarantined rows, byte for byte.

Each case ingests the same landing files with `ingest_day` (the batch path) and
`ingest_day_reference` (one record at a time) and compares the tables, their data versions,
the per-file counts and the records routed to other days. The synthetic stream with noise
and the YouTube files must also go through the batch parser: a spy on the reference's
per-record judge counts how many records fell back to it.
"""

import datetime as dt
import gzip

import pytest
import yaml

import ingest.batch
from demo.synthetic import FORMATS, generate
from demo.youtube import land_youtube, video_files
from ingest.day import LandingFile, folders_read_for, ingest_day, ingest_day_reference
from ingest.landing import comments_prefix
from ingest.policy import Policy
from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore

YOUTUBE = PROJECT_ROOT.parent / "shared" / "datasets" / "youtube_spam"
DAY = dt.date(2024, 3, 10)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")


@pytest.fixture
def fallbacks(monkeypatch) -> list[int]:
    """How many records the batch reader handed to the per-record judge (a spy: it still
    judges them)."""
    calls = [0]
    judge = ingest.batch.judge_record

    def counting(*args, **kwargs):
        calls[0] += 1
        return judge(*args, **kwargs)

    monkeypatch.setattr(ingest.batch, "judge_record", counting)
    return calls


def assert_same(day, files, policy, caches=None) -> int:
    """Compare both paths on one day; return the records the day owns. `caches` keep each
    path's parsed files across the days of a range, as `ingest_days` does."""
    caches = caches or ({}, {})
    batch = ingest_day(day, files, policy, caches[0])
    reference = ingest_day_reference(day, files, policy, caches[1])
    assert batch.kept.schema == reference.kept.schema
    assert batch.quarantined.schema == reference.quarantined.schema
    for name in reference.kept.schema.names:
        assert batch.kept.column(name).to_pylist() == reference.kept.column(name).to_pylist(), name
    for name in reference.quarantined.schema.names:
        got, want = batch.quarantined.column(name), reference.quarantined.column(name)
        assert got.to_pylist() == want.to_pylist(), name
    assert batch.kept.equals(reference.kept) and batch.quarantined.equals(reference.quarantined)
    assert batch.data_version() == reference.data_version()
    assert batch.files == reference.files
    assert batch.routed_elsewhere == reference.routed_elsewhere
    return reference.records_in


def store_days(store: LocalObjectStore, days: list[dt.date], policy: Policy):
    for day in days:
        files = [
            LandingFile(info.key, folder, store.get_bytes(info.key), info.etag, info.last_modified)
            for folder in folders_read_for(day, policy)
            for info in store.list(comments_prefix(folder))
        ]
        yield day, files


def test_synthetic_stream_with_noise_in_every_format(tmp_path, policy, fallbacks):
    store = LocalObjectStore(tmp_path)
    start = dt.date(2024, 5, 1)
    report = generate(store, start, days=3, per_day=6000, seed=3, formats=FORMATS)
    assert (
        report.noise["bad_line"] and report.noise["invalid_utf8"] and report.noise["duplicate_id"]
    )
    days = [start + dt.timedelta(days=i) for i in range(-2, 3)]
    caches = ({}, {})
    owned = sum(
        assert_same(day, files, policy, caches) for day, files in store_days(store, days, policy)
    )
    assert owned == 3 * 6000
    # Only records no pattern can prove go one by one: the malformed ones, a few per file.
    assert 0 < fallbacks[0] < 0.01 * owned


HOSTILE_JSONL = [
    b'{"comment_id": "a1", "text": "plain", "author": "ann", "published_at": "2024-03-10T01:00"}',
    b'{"comment_id": 12, "text": "a number id", "author": "bo"}',
    b'{"comment_id": "a2", "text": "nested", "extra": {"x": [1, 2]}}',
    b'{"comment_id": "a3", "comment_id": "a3b", "text": "same key twice"}',
    b'{"comment_id": "a4", "text": "escapes \\u00e9 \\ud83d\\ude00 \\n \\t \\" \\\\ \\/"}',
    b'{"comment_id": "a6", "text": true}',
    b'{"comment_id": "a7", "text": "  \\u00a0 spaced \\u2003 ", "author": "  "}',
    b'{"comment_id": " a8 ", "text": "Cafe\\u0301 needs NFC", "author": "cy"}',
    b'{"comment_id": "a9", "text": "caf\xe9 latin-1"}',
    b'{"comment_id": "a10", "text": "nul \x00 raw"}',
    b'{"comment_id": "a11", "text": "\\u0000 escaped nul and \\u0007 bell"}',
    b"   ",
    b"\t\r",
    b"\x1c",
    b"[1, 2]",
    b'{"comment_id": "a12", "text": "cut off',
    b'{"comment_id": "a13", "text": "crlf line"}\r',
    b'{"comment_id": "a14", "text": "two crs"}\r\r',
    b'{"comment_id": "a15", "text": "&amp;lt;b&amp;gt;Hi&lt;/b&gt; &#39;there&#39;", '
    b'"author": "dee"}',
    b'{"comment_id": "a16", "text": "<b>hi</b> \'there\'", "author": "dee"}',
    b'{"comment_id": "a17", "text": "STRASSE \\u00df", "author": "eve"}',
    b'{"comment_id": "a18", "text": "strasse ss", "author": "eve"}',
    b'{"comment_id": "a19", "text": "dated", "published_at": "2024-03-09T23:59:59.5"}',
    b'{"comment_id": "a20", "text": "dated", "published_at": "2024-03-10T00:30:00+02:00"}',
    b'{"comment_id": "a21", "text": "dated", "published_at": "2024-03-09T23:30:00-01:00"}',
    b'{"comment_id": "a22", "text": "dated", "published_at": "2024-02-30T10:00:00"}',
    b'{"comment_id": "a23", "text": "dated", "published_at": " 2024-03-08T10:00:00 "}',
    b'{"comment_id": "a24", "text": "dated", "published_at": "2024-03-01T10:00:00Z"}',
    b'{"comment_id": "a25", "text": "dated", "published_at": "2024-03-11T10:00:00"}',
    b'{"comment_id": "a26", "text": "dated", "published_at": "2024-03-08T10:00:00.123"}',
    b'{"comment_id": "a27", "text": "dated", "published_at": "20240308T100000"}',
    b'{"comment_id": "a28", "text": "dated", "published_at": "0001-01-01T00:00:00"}',
    b'{"comment_id": "a29", "text": "replacement \xef\xbf\xbd char"}',
    b'{"comment_id": "", "text": "empty id"}',
    b'{"comment_id": "a30", "text": ""}',
    b'{"comment_id": "a31", "text": "ctl \\u0085 and \\u009f"}',
    b'{"comment_id": "a1", "text": "same id again", "author": "zed"}',
    b'{"comment_id": "a32", "text": "plain", "author": "ann"}',
    b'{"comment_id": "a33", "text": "PLAIN\\u200b", "author": "ann"}',
    b"{}",
    b'{"text": "no id"}',
    b'{"comment_id": "a34", "text": "x", "author": null, "source": null}',
    b'{"comment_id": "a35", "text": "\\uFEFFbom inside"}',
]

HOSTILE_CSV = (
    b"\xef\xbb\xbfComment_ID , Text,author,published_at,source\r\n"
    b"c1,plain,ann,2024-03-10T10:00:00,s\r\n"
    b'c2,"quoted, with comma",bo,,s\n'
    b'c3,"spans\ntwo lines ""quoted""",cy,,s\n'
    b'c4,"crlf inside\r\nfield",dee,,s\n'
    b"c5,too,many,fields,here,now\n"
    b"c6,too few\n"
    b",,,,\n"
    b'"  ",,," ",\n'
    b"\n"
    b'c7,stray "quote" inside,eve,,s\n'
    b'c8,"closed"then,eve,,s\n'
    b"c9,caf\xe9 latin-1,fay,,s\n"
    b"c10,nul \x00 here,gus,,s\n"
    b"c11,lone\rcr,hal,,s\n"
    b"c12,after the odd ones,ivy,2024-03-09T10:00:00,s\n"
    b'c13,"odd "" inside",jo,,s\n'
    b'c14," leading space ",kim,,s\n'
    b"c15,ok again,lee,,s\n"
    b'c16,"never closed,mo,,s\n'
    b"c17,swallowed,ned,,s\n"
)


def hostile_files(day: dt.date) -> list[LandingFile]:
    jsonl = b"\n".join(HOSTILE_JSONL) + b"\n"
    files = {
        "a.jsonl": jsonl,
        "b.jsonl.gz": gzip.compress(jsonl, mtime=0),
        "c.csv": HOSTILE_CSV,
        "d.csv.gz": gzip.compress(HOSTILE_CSV.replace(b"\r\n", b"\n"), mtime=0),
        "e.csv": HOSTILE_CSV.rsplit(b"c16,", 1)[0].rstrip(b"\n"),  # no final newline
        "f.csv": b'"quoted header",text\n1,x\n',
        "g.csv": b"comment_id,text\n",
        "h.jsonl": b"",
        "i.jsonl.gz": b"not gzip",
        "j.jsonl": "\ufeff".encode("utf-16-le") + '{"comment_id": "w"}\n'.encode("utf-16-le"),
        "k.txt": b"comment_id,text\n1,x\n",
        "l.csv": b'comment_id,text\n1,x\n2,"y"\n3,"open\n',
        "m.jsonl": b'{"comment_id": "m1", "text": "' + b"x" * 6000 + b'"}\n',
    }
    return [
        LandingFile(f"comments/dt={day}/{name}", day, data, etag=f"etag-{name}")
        for name, data in files.items()
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"author_daily_cap": 1},
        {"charset": {"control_chars": "quarantine", "reject_replacement_char": False}},
        {"normalize": {"unicode_form": "NFKD", "strip_control_chars": False}},
        {"dedupe": {"comment_id": False, "author_text": False}},
        {"required_fields": ["comment_id", "text", "author"]},
    ],
)
def test_hostile_files_give_the_reference_rows(tmp_path, policy, changes):
    path = tmp_path / "ingest.yml"
    base = yaml.safe_load((PROJECT_ROOT / "policies" / "ingest.yml").read_text())
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(base))
    changed = Policy.load(path)
    files = hostile_files(DAY)
    owned = assert_same(DAY, files, changed)
    assert owned > 60
    # the days the late and future records are routed to see the same files
    for other in (DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=2)):
        assert_same(other, files, changed)


@pytest.mark.skipif(not YOUTUBE.is_dir(), reason=f"the YouTube Spam Collection is not at {YOUTUBE}")
def test_youtube_files_give_the_reference_rows(tmp_path, policy, fallbacks):
    store = LocalObjectStore(tmp_path / "landing")
    report = land_youtube(YOUTUBE, store)
    # The original CSVs too, once as they are and once with the policy's column names.
    for path in video_files(YOUTUBE):
        data = path.read_bytes()
        renamed = data.replace(b"DATE,CONTENT", b"published_at,text", 1)
        store.put_bytes(f"comments/dt={report.days[-1]}/{path.stem}.csv", data)
        store.put_bytes(f"comments/dt={report.days[-1]}/{path.stem}-renamed.csv", renamed)
    caches = ({}, {})
    owned = sum(
        assert_same(day, files, policy, caches)
        for day, files in store_days(store, report.days, policy)
    )
    landed_rows = sum(f.records for f in report.files)
    assert owned >= landed_rows
    assert fallbacks[0] < 0.02 * owned


def test_a_file_whose_lines_no_pattern_proves_is_read_one_record_at_a_time(policy, fallbacks):
    numbers = b"".join(b'{"comment_id": %d, "text": "t%d"}\n' % (i, i) for i in range(50))
    files = [LandingFile(f"comments/dt={DAY}/n.jsonl", DAY, numbers, etag="n")]
    assert assert_same(DAY, files, policy) == 50
    assert fallbacks[0] == 50


def test_records_are_read_once_per_file_across_the_days_of_a_range(tmp_path, policy):
    store = LocalObjectStore(tmp_path)
    generate(store, DAY, days=2, per_day=300, seed=1)
    cache: dict = {}
    for day, files in store_days(store, [DAY, DAY + dt.timedelta(days=1)], policy):
        ingest_day(day, files, policy, cache)
    assert set(cache) == {(info.key, info.etag) for info in store.list("comments/")}
