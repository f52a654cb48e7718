"""A page in headless Chromium driven over the bare DevTools protocol, for runs of hours.

Playwright enables DevTools' Network domain on every page it drives, and the browser then keeps
a record of every request for the inspector: on a wall that asks for its feed every second that
is a slow growth that a real wall screen does not have. This harness starts Chromium itself and
uses only the Runtime, Page, Performance and HeapProfiler domains, so what grows is the page's own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect


class CdpPage:
    """One tab of a Chromium this object starts, at 1920×1080; `close()` ends both."""

    def __init__(self, chromium: str, *, width: int = 1920, height: int = 1080) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="komando-cdp-")
        self._process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--no-first-run",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._port = self._devtools_port(Path(self._profile.name) / "DevToolsActivePort")
        self._ids = itertools.count(1)
        self._browser = connect(self._endpoint("version"), max_size=None)
        page = next(t for t in self._list_targets() if t["type"] == "page")
        self._page = connect(page["webSocketDebuggerUrl"], max_size=None)

    def _devtools_port(self, active_port_file: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if active_port_file.exists():
                first = active_port_file.read_text().split("\n", 1)[0].strip()
                if first:
                    return int(first)
            if self._process.poll() is not None:
                raise RuntimeError(f"Chromium ended at start (exit {self._process.returncode})")
            time.sleep(0.1)
        raise RuntimeError("Chromium did not open its DevTools port within 30 s")

    def _json(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/json/{path}", timeout=10) as r:
            return json.load(r)

    def _endpoint(self, path: str) -> str:
        return self._json(path)["webSocketDebuggerUrl"]

    def _list_targets(self) -> list[dict[str, Any]]:
        return self._json("list")

    @staticmethod
    def _call(
        socket,
        message_id: int,
        method: str,
        params: dict[str, Any],
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(socket.recv(timeout=120))
            if answer.get("id") != message_id:
                # An event of an enabled domain: passed on if asked, else dropped (events
                # that come between commands are read, and dropped, by the next command).
                if on_event and "method" in answer:
                    on_event(answer["method"], answer.get("params", {}))
                continue
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            return answer.get("result", {})

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """A command to the page's target."""
        return self._call(self._page, next(self._ids), method, params)

    def send_with_events(
        self, method: str, on_event: Callable[[str, dict[str, Any]], None], **params: Any
    ) -> dict[str, Any]:
        """A command to the page's target; `on_event(name, params)` gets each event that comes
        before its answer (HeapProfiler.takeHeapSnapshot sends the snapshot as events)."""
        return self._call(self._page, next(self._ids), method, params, on_event)

    def set_cookies(self, base_url: str, cookies: dict[str, str]) -> None:
        """Cookies for `base_url`, set on the browser (no Network domain on the page)."""
        self._call(
            self._browser,
            next(self._ids),
            "Storage.setCookies",
            {"cookies": [{"name": k, "value": v, "url": base_url} for k, v in cookies.items()]},
        )

    def add_init_script(self, source: str) -> None:
        # The script is only installed with the Page domain on (its events: a few per navigation).
        self.send("Page.enable")
        self.send("Page.addScriptToEvaluateOnNewDocument", source=source)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} still false after {timeout_s:.0f} s")
            time.sleep(0.5)

    def close(self) -> None:
        for socket in (self._page, self._browser):
            with contextlib.suppress(Exception):  # the browser may be gone already
                socket.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._profile.cleanup()
