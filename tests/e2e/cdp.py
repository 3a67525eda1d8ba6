"""A page in headless Chromium driven over the DevTools protocol: load it, run JavaScript in
it (to click what a user would click), read its DOM and take a screenshot.

`--dump-dom` shows a page as it first renders; what a user only sees after a click (the
UI's "[Show Markdown]" dialog) needs a browser that stays open and takes commands. This
speaks the protocol's JSON messages over the websocket Chromium opens on a loopback port.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.conftest import free_port
from tests.harness import stop_process_group


class Page:
    """One browser tab: `evaluate` runs JavaScript and returns its (JSON) value."""

    def __init__(self, socket: Any) -> None:
        self._socket, self._ids = socket, itertools.count(1)

    def send(self, method: str, **params: Any) -> dict:
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:  # events (no "id") arrive in between; only the answer is wanted
            reply = json.loads(self._socket.recv(timeout=120))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float) -> Any:
        """Poll `expression` until it is truthy; its last value when the time is up."""
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(expression)) and time.monotonic() < deadline:
            time.sleep(1)
        return value

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))


def _debugger_url(port: int, deadline: float) -> str:
    """The websocket of Chromium's first page, once its DevTools endpoint answers."""
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("Chromium's DevTools endpoint did not come up")
        time.sleep(0.5)


@contextlib.contextmanager
def open_page(chromium: str, url: str, profile: Path, size: str = "1600,2400") -> Iterator[Page]:
    """Chromium on `url`, headless, its DevTools on a free loopback port; stopped after."""
    port = free_port()
    process = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--window-size={size}",
         "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={port}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        socket_url = _debugger_url(port, time.monotonic() + 60)
        with connect(socket_url, max_size=None, open_timeout=30) as socket:
            yield Page(socket)
    finally:
        stop_process_group(process, grace_seconds=10)
