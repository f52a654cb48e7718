"""Load client for the wall bench: N wall displays refreshing the live feed once a second.

Each display is one keep-alive HTTP/1.1 connection written and read with raw asyncio streams (no
HTTP library), so the bytes counted are exactly those on the wire both ways: request line,
headers and body up; status line, headers and body (with any chunk framing) down. Each sends the
request the browser's dash-renderer sends for the wall feed (`callbacks/live_feed.py`): input
`wall-tick.n_intervals`, state `live-feed-versions.data`, with a Chromium's request headers.

- `--mode follow`: a display keeps the versions each 200 brings, as the browser does;
- `--mode stale`: a display always sends the versions it started with (only the sections it
  wants), so every refresh makes the server read, build and send everything;
- `--want`: the sections asked for (`--want ""`: none, the cheapest callback there is).

Displays are staggered evenly over the second. A refresh due while the previous one is still
out is sent when that one returns (and counted as late), as the browser's interval would.

Talks to the driver over stdin/stdout: connects every display and does one refresh each (as a
page load does), prints `READY`, waits for `GO`, refreshes for `--seconds`, prints `WINDOW_END`,
then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from layouts import ids

HOST = "127.0.0.1"
PATH = "/_dash-update-component"
TIMEOUT_S = 10.0

# The session of bench/signed_in.py: a signed-in wall sends its cookie and Dash's CSRF header.
AUTH_HEADERS = (
    f"Cookie: {os.environ.get('KOMANDO_BENCH_COOKIE', '')}\r\n"
    f"X-CSRFToken: {os.environ.get('KOMANDO_BENCH_CSRF', '')}\r\n"
)
# What Chromium 131 sends with dash-renderer's fetch.
BROWSER_HEADERS = (
    'sec-ch-ua-platform: "Linux"\r\n'
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Accept: application/json\r\n"
    'sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"\r\n'
    "Content-Type: application/json\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "Origin: http://{host}\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: cors\r\n"
    "Sec-Fetch-Dest: empty\r\n"
    "Referer: http://{host}/\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7\r\n"
)


def feed_body(tick: int, known: dict) -> bytes:
    """The wall feed callback as dash-renderer posts it (compact JSON, keys in its order)."""
    outputs = [{"id": ids.FEED, "property": "data"}, {"id": ids.FEED_VERSIONS, "property": "data"}]
    body = {
        "output": f"..{ids.FEED}.data...{ids.FEED_VERSIONS}.data..",
        "outputs": outputs,
        "inputs": [{"id": ids.WALL_TICK, "property": "n_intervals", "value": tick}],
        "changedPropIds": [f"{ids.WALL_TICK}.n_intervals"],
        "state": [
            {"id": ids.FEED_VERSIONS, "property": "data", "value": known},
            # The wall's map view (its shading KPI, no kecamatan in focus), as the page sends it.
            [{"id": ids.MAP_VIEW, "property": "data", "value": {"shade": "", "focus": ""}}],
        ],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def request(host: str, body: bytes) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n"
        f"Content-Length: {len(body)}\r\n"
        + BROWSER_HEADERS.format(host=host)
        + AUTH_HEADERS
        + "\r\n"
    )
    return head.encode() + body


class Display:
    def __init__(self, port: int, want: list[str], mode: str) -> None:
        self.host = f"{HOST}:{port}"
        self.port = port
        self.mode = mode
        self.known: dict = {"want": want, "lang": "id"}  # as layouts/live_feed.py sets it
        self.tick = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        # Counted only while `on` (the window).
        self.on = False
        self.latencies_ms: list[float] = []
        self.statuses: dict[str, int] = {}
        self.up = 0
        self.down = 0
        self.body_down = 0
        self.late = 0
        self.max_bytes = 0
        self.errors: dict[str, int] = {}
        self.sizes: dict[str, int] = {}  # the last response's head and body sizes, by status

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def refresh(self) -> None:
        assert self.reader is not None and self.writer is not None
        self.tick += 1
        wire = request(self.host, feed_body(self.tick, self.known))
        t0 = time.perf_counter()
        self.writer.write(wire)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode()
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            if b":" in line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        body, framing = b"", 0
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size_line = await self.reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                framing += len(size_line) + 2
                parts.append(chunk[:-2])
                if size == 0:
                    break
            body = b"".join(parts)
        latency = 1000 * (time.perf_counter() - t0)
        if status == "200" and self.mode == "follow":
            versions = json.loads(body)["response"].get(ids.FEED_VERSIONS)
            if versions is not None:
                self.known = versions["data"]
        if status not in ("200", "204"):
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        self.sizes[status] = len(head) + len(body) + framing
        if self.on:
            self.latencies_ms.append(latency)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.up += len(wire)
            self.down += len(head) + len(body) + framing
            self.body_down += len(body)
            self.max_bytes = max(self.max_bytes, len(wire) + len(head) + len(body) + framing)

    def fail(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1

    async def run(self, start: float, seconds: float) -> None:
        """Refresh at start + k s for k = 0, 1, … while inside the window."""
        k = 0
        while True:
            due = start + k
            if due >= start + seconds:
                return
            now = time.monotonic()
            if now < due:
                await asyncio.sleep(due - now)
            elif now - due > 0.05:
                self.late += 1
            try:
                await asyncio.wait_for(self.refresh(), TIMEOUT_S)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
                self.fail(exc)
                if self.writer is not None:
                    self.writer.close()
                await self.connect()
            k += 1


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--displays", type=int, default=1)
    parser.add_argument("--mode", choices=("follow", "stale"), default="follow")
    parser.add_argument("--want", default="alerts,cameras,freshness,kpis,regions,sensors")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    want = sorted(s for s in args.want.split(",") if s)
    displays = [Display(args.port, want, args.mode) for _ in range(args.displays)]
    for display in displays:  # a page load: connect, one full refresh
        await display.connect()
        await display.refresh()
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        return
    start = time.monotonic() + 0.05
    for _i, display in enumerate(displays):
        display.on = True
    tasks = [
        asyncio.create_task(d.run(start + i / len(displays), args.seconds))
        for i, d in enumerate(displays)
    ]
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    print("WINDOW_END", flush=True)
    result = {
        "seconds": elapsed,
        "latencies_ms": [x for d in displays for x in d.latencies_ms],
        "statuses": {},
        "up": sum(d.up for d in displays),
        "down": sum(d.down for d in displays),
        "body_down": sum(d.body_down for d in displays),
        "late": sum(d.late for d in displays),
        "errors": {},
        "sizes": displays[0].sizes,
        "max_bytes": max(d.max_bytes for d in displays),
    }
    for d in displays:
        for key in ("statuses", "errors"):
            for name, n in getattr(d, key).items():
                result[key][name] = result[key].get(name, 0) + n
    print(json.dumps(result), flush=True)
    for d in displays:
        if d.writer is not None:
            d.writer.close()
    await loop.run_in_executor(None, sys.stdin.readline)  # STOP (or EOF)


if __name__ == "__main__":
    asyncio.run(main())
