"""Load client: N concurrent MJPEG viewers plus a steady trickle of Dash callback POSTs.

Runs as its own process so its CPU is not charged to the driver, and talks to the driver
over stdin/stdout: prints READY, waits for GO, runs the window, prints WINDOW_END, then
prints one JSON result line. Viewers use raw asyncio sockets (HTTP/1.1, chunked decoding,
multipart parsing by Content-Length) because a full HTTP client per viewer would cost
more CPU than the servers under test on a 2-core box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

HOST = "127.0.0.1"
BOUNDARY_LINE = b"--frame\r\n"
CALLBACK_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
# A part is ~40 KB; anything far larger means the parser lost sync.
MAX_PART_BYTES = 4 * 1024 * 1024


def callback_body(value: str) -> dict[str, Any]:
    """Body the Dash renderer POSTs to /_dash-update-component for our one callback."""
    return {
        "output": "out.children",
        "outputs": {"id": "out", "property": "children"},
        "inputs": [{"id": "inp", "property": "value", "value": value}],
        "changedPropIds": ["inp.value"],
        "state": [],
    }


def callback_ok(resp: httpx.Response, value: str) -> bool:
    """True if the response is the correct Dash update for `value`."""
    if resp.status_code != 200:
        return False
    try:
        children = resp.json()["response"]["out"]["children"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(children, str) and children.startswith(f"{value}:")


class StreamError(Exception):
    """The server sent something that is not a well-formed MJPEG stream."""


class _BodyReader:
    """Yields the decoded HTTP body of a response, handling chunked or identity framing."""

    def __init__(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        self._reader = reader
        self._chunked = chunked

    async def read(self) -> bytes:
        if not self._chunked:
            return await self._reader.read(256 * 1024)
        size_line = await self._reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            return b""
        data = await self._reader.readexactly(size)
        await self._reader.readexactly(2)
        return data


async def _open_stream(port: int, path: str) -> tuple[asyncio.StreamReader, Any, _BodyReader]:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(HOST, port, limit=1024 * 1024), CONNECT_TIMEOUT_S
    )
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: */*\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if " 200 " not in lines[0] + " ":
        raise StreamError(f"status line {lines[0]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if not headers.get("content-type", "").startswith("multipart/x-mixed-replace"):
        raise StreamError(f"content-type {headers.get('content-type')!r}")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    return reader, writer, _BodyReader(reader, chunked)


def _parse_parts(buf: bytearray) -> int:
    """Consume every complete part at the front of buf; return how many were valid JPEGs."""
    frames = 0
    while True:
        if len(buf) < len(BOUNDARY_LINE):
            return frames
        if not buf.startswith(BOUNDARY_LINE):
            raise StreamError("lost multipart boundary")
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return frames
        length = None
        for line in bytes(buf[len(BOUNDARY_LINE) : head_end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None or length > MAX_PART_BYTES:
            raise StreamError("part without usable Content-Length")
        end = head_end + 4 + length + 2
        if len(buf) < end:
            return frames
        jpeg = buf[head_end + 4 : head_end + 4 + length]
        if jpeg[:2] != b"\xff\xd8" or jpeg[-2:] != b"\xff\xd9":
            raise StreamError("part is not a JPEG")
        del buf[:end]
        frames += 1


@dataclass
class ViewerResult:
    frames: int = 0
    error: str | None = None
    first_frame_s: float | None = None


async def viewer(port: int, path: str, t0: float, stop_at: float) -> ViewerResult:
    """Hold one MJPEG connection until stop_at (time.monotonic), counting complete frames."""
    res = ViewerResult()
    writer = None
    try:
        # One deadline for connect + read: a starved server must not extend the window.
        async with asyncio.timeout(max(0.0, stop_at - time.monotonic())):
            _, writer, body = await _open_stream(port, path)
            buf = bytearray()
            while True:
                data = await body.read()
                if not data:
                    res.error = "server closed stream"
                    break
                buf += data
                got = _parse_parts(buf)
                if got and res.first_frame_s is None:
                    res.first_frame_s = time.monotonic() - t0
                res.frames += got
    except TimeoutError:
        pass  # the window ended; the normal way a viewer finishes
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, StreamError) as e:
        res.error = type(e).__name__
    finally:
        if writer is not None:
            writer.close()
    return res


@dataclass
class CallbackStats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0


async def _one_callback(client: httpx.AsyncClient, value: str, stats: CallbackStats) -> None:
    t = time.perf_counter()
    try:
        resp = await client.post("/_dash-update-component", json=callback_body(value))
    except httpx.HTTPError:
        stats.errors += 1
        return
    if callback_ok(resp, value):
        stats.latencies_ms.append((time.perf_counter() - t) * 1000.0)
    else:
        stats.errors += 1


async def callbacks(
    client: httpx.AsyncClient, rate_hz: float, stop_at: float, stats: CallbackStats
) -> list[asyncio.Task[None]]:
    """Fire callbacks on a fixed schedule (open loop) so a slow server can't slow the load."""
    tasks: list[asyncio.Task[None]] = []
    period = 1.0 / rate_hz
    next_t = time.monotonic()
    max_count = int((stop_at - next_t) * rate_hz) + 1
    for i in range(max_count):
        if next_t >= stop_at:
            break
        stats.sent += 1
        tasks.append(asyncio.create_task(_one_callback(client, f"v{i}", stats)))
        next_t += period
        await asyncio.sleep(max(0.0, next_t - time.monotonic()))
    return tasks


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    idx = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[idx]


async def run_load(port: int, viewers: int, seconds: float, cb_rate: float) -> dict[str, Any]:
    """Run one measurement window and return its raw results."""
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    timeout = httpx.Timeout(CALLBACK_TIMEOUT_S)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}", limits=limits, timeout=timeout
    ) as client:
        t0 = time.monotonic()
        stop_at = t0 + seconds
        viewer_tasks = [
            asyncio.create_task(viewer(port, "/video/cam.mjpg", t0, stop_at))
            for _ in range(viewers)
        ]
        stats = CallbackStats()
        cb_tasks = await callbacks(client, cb_rate, stop_at, stats)
        results = await asyncio.gather(*viewer_tasks)
        elapsed = time.monotonic() - t0
        # The driver snapshots server CPU here, before late callbacks drain.
        print("WINDOW_END", flush=True)
        await asyncio.gather(*cb_tasks)
    errors: dict[str, int] = {}
    for r in results:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    firsts = [r.first_frame_s for r in results if r.first_frame_s is not None]
    return {
        "viewers": viewers,
        "seconds": elapsed,
        "frames": sum(r.frames for r in results),
        "viewers_with_frames": len(firsts),
        "first_frame_p95_s": _percentile(firsts, 0.95),
        "viewer_errors": errors,
        "cb_sent": stats.sent,
        "cb_ok": len(stats.latencies_ms),
        "cb_errors": stats.errors,
        "cb_p50_ms": _percentile(stats.latencies_ms, 0.50),
        "cb_p95_ms": _percentile(stats.latencies_ms, 0.95),
    }


async def verify(port: int) -> None:
    """Fail loudly unless the callback answers correctly and the stream yields frames."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10.0) as client:
        resp = await client.post("/_dash-update-component", json=callback_body("x"))
        if not callback_ok(resp, "x"):
            raise RuntimeError(f"callback check failed: {resp.status_code} {resp.text[:200]}")
    t0 = time.monotonic()
    res = await viewer(port, "/video/cam.mjpg", t0, t0 + 1.5)
    if res.error or res.frames < 2:
        raise RuntimeError(f"stream check failed: frames={res.frames} error={res.error}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--viewers", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--cb-rate", type=float, default=5.0)
    args = ap.parse_args()
    print("READY", flush=True)
    # If the driver dies, stdin hits EOF and readline returns "", so this cannot hang.
    line = sys.stdin.readline()
    if line.strip() != "GO":
        sys.exit(2)
    result = asyncio.run(run_load(args.port, args.viewers, args.seconds, args.cb_rate))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
