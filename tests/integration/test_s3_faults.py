"""S3 faults between boto3 and a real moto server over HTTP, injected by a proxy in this file.

The proxy forwards each request to moto and, as planned, cuts a body short (the full
Content-Length promised, the connection closed after a few bytes), closes the connection
before answering, or answers 503 SlowDown / 500 InternalError for a seeded fraction of
requests. It listens on 127.0.0.1 only, and every socket has a timeout.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from resources.stores import LandingZoneResource, _s3_client
from resources.warehouse import WarehouseResource
from storage.object_store import S3ObjectStore
from tests.conftest import free_port
from tests.integration.test_raw_comments import land_two_days, run, tables

SOCKET_TIMEOUT_SECONDS = 10
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
ERRORS = {  # status -> body, as S3 answers them
    "503": b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
    "500": b"<Error><Code>InternalError</Code><Message>Internal error.</Message></Error>",
}


@dataclass
class Faults:
    """What goes wrong, counted per distinct request (method and path with its query)."""

    cut: int = 0  # the first `cut` answers to each GET (object or listing page) stop short
    cut_after: int = 100  # body bytes sent before the connection is closed
    drop: int = 0  # the first `drop` attempts of each request are closed without an answer
    error_rate: float = 0.0  # this fraction of requests is answered 503 SlowDown or 500
    page_size: int | None = None  # listings paged this small, so pages are many
    seed: int = 0
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def plan(self, method: str, path: str) -> str | None:
        """The fault for this request: 'drop', 'cut', '503', '500' or None."""
        with self._lock:
            self.seen[method, path] += 1
            attempt = self.seen[method, path]
            fault = None
            if attempt <= self.drop:
                fault = "drop"
            elif self._random.random() < self.error_rate:
                fault = self._random.choice(sorted(ERRORS))
            elif method == "GET" and attempt - self.drop <= self.cut:
                fault = "cut"
            if fault:
                self.injected[fault] += 1
            return fault

    def requests(self, method: str, path_part: str) -> int:
        """How many `method` requests reached the proxy for paths containing `path_part`."""
        return sum(n for (m, p), n in self.seen.items() if m == method and path_part in p)


class FaultProxy(ThreadingHTTPServer):
    """An HTTP proxy on 127.0.0.1 in front of `upstream` that injects `faults`."""

    daemon_threads = True

    def __init__(self, upstream: str, faults: Faults) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream)
        self.faults = faults

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    timeout = SOCKET_TIMEOUT_SECONDS
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms stall
    server: FaultProxy

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows the assertions, not an access log."""

    def _forward(self) -> None:
        faults = self.server.faults
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = faults.plan(self.command, self.path)
        if fault == "drop":
            self._close()
            return
        if fault in ERRORS:
            self._answer(int(fault), [("Content-Type", "application/xml")], ERRORS[fault])
            return
        path = self.path
        if faults.page_size and "list-type=2" in path:
            path += f"&max-keys={faults.page_size}"
        upstream = http.client.HTTPConnection(
            self.server.upstream.hostname, self.server.upstream.port, timeout=SOCKET_TIMEOUT_SECONDS
        )
        try:
            upstream.request(self.command, path, body=body, headers=dict(self.headers))
            response = upstream.getresponse()
            payload = response.read()
        finally:
            upstream.close()
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        if self.command == "HEAD":  # no body, but the object's length
            headers.append(("Content-Length", response.getheader("Content-Length", "0")))
        if fault == "cut" and len(payload) > faults.cut_after:
            self._answer(response.status, headers, payload, send=faults.cut_after)
            self._close()
            return
        self._answer(response.status, headers, payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def _answer(
        self, status: int, headers: list[tuple[str, str]], payload: bytes, send: int | None = None
    ) -> None:
        """`status`, `headers` and the payload's length, then `send` bytes of it (all: None)."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[:send])
        self.wfile.flush()

    def _close(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def through_proxy(
    moto_endpoint: str, s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Faults], Faults]]:
    """Start a proxy with the given faults in front of moto and point boto3 at it
    (`AWS_ENDPOINT_URL`, and a fresh client for the code location's resources)."""
    servers: list[FaultProxy] = []

    def start(faults: Faults) -> Faults:
        server = FaultProxy(moto_endpoint, faults)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        _s3_client.cache_clear()
        return faults

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    _s3_client.cache_clear()  # the next test's client talks to moto again


def some_bytes(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.mark.parametrize(
    "plan",
    [{"cut": 2}, {"drop": 2}, {"drop": 1, "cut": 1}],
    ids=["body-cut-twice", "closed-before-answer-twice", "closed-then-cut"],
)
def test_a_broken_read_is_retried_and_the_bytes_are_exact(
    plan, s3_bucket, through_proxy, monkeypatch
):
    data = some_bytes(300_000)
    S3ObjectStore(s3_bucket).put_bytes("comments/dt=2024-05-01/big.jsonl", data)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    faults = through_proxy(Faults(**plan))
    store = S3ObjectStore(s3_bucket)
    assert store.get_bytes("comments/dt=2024-05-01/big.jsonl") == data
    assert faults.requests("GET", "big.jsonl") == 3
    assert sum(faults.injected.values()) == 2


@pytest.mark.parametrize(
    ("plan", "cause"),
    [
        ({"cut": 99}, r"ResponseStreamingError: .*IncompleteRead"),
        ({"drop": 99}, r"ConnectionClosedError: Connection was closed"),
        ({"error_rate": 1.0}, r"ClientError: .*\((SlowDown|InternalError)\)"),
    ],
    ids=["body-always-cut", "server-gone", "always-5xx"],
)
def test_a_fault_that_persists_names_the_object_and_the_cause(
    plan, cause, s3_bucket, through_proxy, monkeypatch
):
    S3ObjectStore(s3_bucket, "landing").put_bytes("comments/dt=2024-05-01/a.jsonl", some_bytes(500))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    faults = through_proxy(Faults(**plan))
    store = S3ObjectStore(s3_bucket, "landing")
    started = time.monotonic()
    with pytest.raises(ConnectionError) as raised:
        store.get_bytes("comments/dt=2024-05-01/a.jsonl")
    assert time.monotonic() - started < 15
    message = str(raised.value)
    assert f"GetObject s3://{s3_bucket}/landing/comments/dt=2024-05-01/a.jsonl" in message
    assert "failed after 3 attempts" in message and re.search(cause, message)
    # One setting governs botocore's retries and the store's re-reads: 3 requests, not 3 x 3.
    assert faults.requests("GET", "a.jsonl") == 3


def test_an_endpoint_that_refuses_connections_names_the_listing(s3_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    store = S3ObjectStore("sluice-nowhere", "landing")
    with pytest.raises(ConnectionError, match=r"ListObjectsV2 s3://sluice-nowhere/landing/comm"):
        list(store.list("comments/"))
    with pytest.raises(ConnectionError, match=r"HeadObject .*EndpointConnectionError"):
        store.head("comments/a.jsonl")


@pytest.mark.parametrize(
    "plan",
    [{"error_rate": 0.2, "seed": 11}, {"cut": 1, "drop": 1}],
    ids=["20-percent-5xx", "every-request-dropped-and-every-body-cut-once"],
)
def test_listings_heads_and_reads_survive(plan, s3_bucket, through_proxy, monkeypatch):
    objects = {
        f"comments/dt=2024-05-0{i % 3 + 1}/f{i:02}.jsonl": some_bytes(200 + i, i) for i in range(40)
    }
    direct = S3ObjectStore(s3_bucket)
    for key, data in objects.items():
        direct.put_bytes(key, data)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "8")
    faults = through_proxy(Faults(page_size=7, **plan))
    store = S3ObjectStore(s3_bucket)
    listing = list(store.list("comments/"))
    assert [o.key for o in listing] == sorted(objects)
    after = "comments/dt=2024-05-02/f28.jsonl"
    assert [o.key for o in store.list("comments/", after)] == [
        k for k in sorted(objects) if k > after
    ]
    assert {key: store.head(key).size for key in objects} == {k: len(v) for k, v in objects.items()}
    assert {key: store.get_bytes(key) for key in objects} == objects
    assert faults.requests("GET", "list-type=2") > 2 * 40 // 7  # many pages, each through faults
    assert sum(faults.injected.values()) > 20


def test_raw_comments_through_faults_gives_the_same_tables(
    s3_bucket, tmp_path, through_proxy, monkeypatch
):
    zone = LandingZoneResource(uri=f"s3://{s3_bucket}/landing")
    land_two_days(zone.store())
    clean = str(tmp_path / "clean.duckdb")
    run({"landing_zone": zone, "warehouse": WarehouseResource(path=clean)})

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "8")
    faults = through_proxy(Faults(cut=1, cut_after=20, drop=1, error_rate=0.2, page_size=2))
    faulty = str(tmp_path / "faulty.duckdb")
    run({"landing_zone": zone, "warehouse": WarehouseResource(path=faulty)})
    assert tables(faulty) == tables(clean)
    assert {"drop", "cut"} <= faults.injected.keys()
    assert faults.injected["503"] + faults.injected["500"] > 0
