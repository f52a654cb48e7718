"""Load client for the video bench: many camera viewers of Komando's web server, in one process.

Viewers are raw asyncio protocols (no HTTP library), because on a 2-core machine a full HTTP
client per viewer would cost more CPU than the server under test (the technique of
bench/backend/loadgen.py, made cheaper still: JPEG bodies are counted and skipped, never copied).
- `mjpeg`: one `GET /video/<id>.mjpg` per viewer; chunked transfer and the multipart parts are
  parsed by Content-Length, and a part counts as a frame when it is a JPEG of a live camera with
  a sequence number other than the last one this viewer saw.
- `poll`: `GET /video/<id>.jpg?after=<seq>` in a loop on one keep-alive connection per viewer,
  as the camera tiles do.
- `--stall K`: K more viewers of the first camera that send the request and then never read
  (a tiny receive buffer, so the server feels it at once).

Talks to the driver over stdin/stdout: connects every viewer, prints `READY <viewers with a
frame>`, waits for `GO`, counts for `--seconds`, prints `WINDOW_END`, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time

HOST = "127.0.0.1"
MAX_HEAD = 16 * 1024
MAX_BODY = 8 * 1024 * 1024

# The session of bench/signed_in.py (the web role refuses anonymous viewers); the bare fan-out
# floor server ignores it.
AUTH = (
    f"Cookie: {os.environ['KOMANDO_BENCH_COOKIE']}\r\n"
    if os.environ.get("KOMANDO_BENCH_COOKIE")
    else ""
)


class Timeline:
    """Frames received by all viewers, per bucket of time since GO."""

    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.start = 0.0
        self.counts: list[int] = []
        self.on = False

    def add(self) -> None:
        if self.on:
            i = int((time.monotonic() - self.start) / self.bucket_s)
            if i >= len(self.counts):
                self.counts.extend([0] * (i + 1 - len(self.counts)))
            self.counts[i] += 1


class Viewer(asyncio.Protocol):
    """Common bookkeeping: frames seen (with new live seqs), errors, connection state."""

    def __init__(self, camera: str, timeline: Timeline) -> None:
        self.camera = camera
        self.timeline = timeline
        self.frames = 0  # since GO
        self.total = 0  # since connect
        self.last_seq = -1
        self.error: str | None = None
        self.connected = False
        self.transport: asyncio.Transport | None = None

    def frame(self, seq: int, state: str, soi: bool) -> None:
        if not soi:
            self.fail("part is not a JPEG")
            return
        # A new frame is any other sequence number: a restarted grabber counts from 1 again.
        if state in ("live", "stalled") and seq != self.last_seq:
            self.last_seq = seq
            self.frames += 1
            self.total += 1
            self.timeline.add()

    def fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connected = False
        if self.error is None:
            self.error = "closed by server" if exc is None else type(exc).__name__


def _headers(block: bytes) -> tuple[str, dict[bytes, bytes]]:
    lines = block.split(b"\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    return lines[0].decode("latin-1"), fields


class MjpegViewer(Viewer):
    """One multipart stream. Layers: HTTP head, chunked framing, multipart parts."""

    def __init__(self, camera: str, path: str, timeline: Timeline) -> None:
        super().__init__(camera, timeline)
        self.path = path
        self.head = bytearray()
        self.in_body = False
        self.chunked = False
        self.chunk_left = 0  # bytes of chunk data still to come
        self.chunk_line = bytearray()
        self.chunk_crlf = 0  # CRLF bytes after a chunk still to skip
        # multipart state
        self.part_head = bytearray()
        self.body_left = -1  # -1: reading a part's head
        self.trail_left = 0
        self.part_seq = 0
        self.part_state = ""
        self.part_soi = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connected = True
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: */*\r\n{AUTH}\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        if self.error is not None:
            return
        view = memoryview(data)
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HEAD:
                    self.fail("response head too long")
                return
            status, fields = _headers(bytes(self.head[:end]))
            if " 200 " not in status + " ":
                self.fail(status)
                return
            if not fields.get(b"content-type", b"").startswith(b"multipart/"):
                self.fail("not multipart")
                return
            self.chunked = b"chunked" in fields.get(b"transfer-encoding", b"").lower()
            self.in_body = True
            view = memoryview(bytes(self.head[end + 4 :]))
            self.head = bytearray()
        if self.chunked:
            self._dechunk(view)
        else:
            self._parts(view)

    def _dechunk(self, view: memoryview) -> None:
        pos, size = 0, len(view)
        while pos < size:
            if self.chunk_crlf:
                skip = min(self.chunk_crlf, size - pos)
                self.chunk_crlf -= skip
                pos += skip
            elif self.chunk_left:
                take = min(self.chunk_left, size - pos)
                self._parts(view[pos : pos + take])
                self.chunk_left -= take
                pos += take
                if not self.chunk_left:
                    self.chunk_crlf = 2
            else:
                take = min(size - pos, 32)
                before = len(self.chunk_line)
                self.chunk_line += view[pos : pos + take]
                end = self.chunk_line.find(b"\r\n")
                if end < 0:  # the size line is split across reads (rare)
                    pos += take
                    if len(self.chunk_line) > 64:
                        self.fail("bad chunk size line")
                        return
                    continue
                pos += end + 2 - before
                line = bytes(self.chunk_line[:end])
                self.chunk_line = bytearray()
                try:
                    self.chunk_left = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    self.fail("bad chunk size line")
                    return
                if self.chunk_left == 0:
                    self.fail("stream ended")
                    return

    def _parts(self, view: memoryview) -> None:
        pos, size = 0, len(view)
        while pos < size:
            if self.trail_left:
                skip = min(self.trail_left, size - pos)
                self.trail_left -= skip
                pos += skip
            elif self.body_left >= 0:
                take = min(self.body_left, size - pos)
                if len(self.part_soi) < 2:
                    self.part_soi += bytes(view[pos : pos + min(take, 2 - len(self.part_soi))])
                self.body_left -= take
                pos += take
                if self.body_left == 0:
                    self.frame(self.part_seq, self.part_state, self.part_soi == b"\xff\xd8")
                    self.body_left = -1
                    self.trail_left = 2
            else:
                # Heads are ~200 bytes: look at a little at a time, never copy a JPEG body.
                take = min(size - pos, 1024)
                before = len(self.part_head)
                self.part_head += view[pos : pos + take]
                end = self.part_head.find(b"\r\n\r\n", max(0, before - 3))
                if end < 0:
                    pos += take
                    if len(self.part_head) > MAX_HEAD:
                        self.fail("part head too long")
                        return
                    continue
                pos += end + 4 - before
                _, fields = _headers(bytes(self.part_head[:end]))
                self.part_head = bytearray()
                try:
                    length = int(fields[b"content-length"])
                    self.part_seq = int(fields.get(b"x-frame-seq", b"0"))
                except (KeyError, ValueError):
                    self.fail("part without Content-Length")
                    return
                if length > MAX_BODY:
                    self.fail("part too large")
                    return
                self.part_state = fields.get(b"x-camera-state", b"").decode()
                self.part_soi = b""
                self.body_left = length
                if length == 0:
                    self.body_left = -1
                    self.trail_left = 2


class PollViewer(Viewer):
    """`?after=<seq>` long-polls on one keep-alive connection, one request at a time."""

    def __init__(self, camera: str, timeline: Timeline) -> None:
        super().__init__(camera, timeline)
        self.buf = bytearray()
        self.body_left = -1
        self.seq = 0
        self.state = ""
        self.soi = b""

    def request(self) -> None:
        after = f"?after={self.last_seq}" if self.last_seq >= 0 else ""
        assert self.transport is not None
        self.transport.write(
            f"GET /video/{self.camera}.jpg{after} HTTP/1.1\r\nHost: {HOST}\r\n{AUTH}\r\n".encode()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connected = True
        self.request()

    def data_received(self, data: bytes) -> None:
        if self.error is not None:
            return
        view = memoryview(data)
        pos, size = 0, len(view)
        while pos < size:
            if self.body_left >= 0:
                take = min(self.body_left, size - pos)
                if len(self.soi) < 2:
                    self.soi += bytes(view[pos : pos + min(take, 2 - len(self.soi))])
                self.body_left -= take
                pos += take
                if self.body_left == 0:
                    self.body_left = -1
                    self.frame(self.seq, self.state, self.soi == b"\xff\xd8")
                    if self.error is None:
                        self.request()
            else:
                take = min(size - pos, 1024)
                before = len(self.buf)
                self.buf += view[pos : pos + take]
                end = self.buf.find(b"\r\n\r\n", max(0, before - 3))
                if end < 0:
                    pos += take
                    if len(self.buf) > MAX_HEAD:
                        self.fail("response head too long")
                        return
                    continue
                pos += end + 4 - before
                status, fields = _headers(bytes(self.buf[:end]))
                self.buf = bytearray()
                if " 200 " not in status + " ":
                    self.fail(status)
                    return
                try:
                    self.body_left = int(fields[b"content-length"])
                    self.seq = int(fields.get(b"x-frame-seq", b"0"))
                except (KeyError, ValueError):
                    self.fail("response without Content-Length")
                    return
                self.state = fields.get(b"x-camera-state", b"").decode()
                self.soi = b""


async def open_stalled(port: int, path: str) -> socket.socket:
    """A viewer that asks for the stream and never reads a byte of it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (HOST, port))
    await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{AUTH}\r\n".encode())
    return sock


async def run(args: argparse.Namespace) -> dict:
    loop = asyncio.get_running_loop()
    timeline = Timeline(args.bucket)
    viewers: list[Viewer] = []
    plan = []
    for spec in args.target:
        camera, _, count = spec.partition(":")
        plan += [camera] * int(count or 1)
    # Interleave cameras so that each camera's viewers connect over the whole ramp.
    rank: dict[str, int] = {}
    order = []
    for camera in plan:
        rank[camera] = rank.get(camera, -1) + 1
        order.append((rank[camera], camera))
    plan = [camera for _, camera in sorted(order, key=lambda item: item[0])]
    for i, camera in enumerate(plan):
        if args.kind == "mjpeg":
            viewer: Viewer = MjpegViewer(camera, f"/video/{camera}.mjpg", timeline)
        else:
            viewer = PollViewer(camera, timeline)
        try:
            await asyncio.wait_for(loop.create_connection(lambda v=viewer: v, HOST, args.port), 5)
        except (OSError, TimeoutError) as exc:
            viewer.error = f"connect: {type(exc).__name__}"
        viewers.append(viewer)
        if i % 25 == 24:
            await asyncio.sleep(0.02)  # a ramp, not a SYN flood
    stalled = []
    for _ in range(args.stall):
        stalled.append(await open_stalled(args.port, f"/video/{plan[0]}.mjpg"))
    deadline = time.monotonic() + args.ready_timeout
    while time.monotonic() < deadline:
        if all(v.total or v.error for v in viewers):
            break
        await asyncio.sleep(0.05)
    ready = sum(1 for v in viewers if v.total)
    print(f"READY {ready} {len(viewers)}", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        raise SystemExit(2)
    for v in viewers:
        v.frames = 0
    timeline.start = time.monotonic()
    timeline.on = True
    await asyncio.sleep(args.seconds)
    elapsed = time.monotonic() - timeline.start
    counts = [v.frames for v in viewers]  # frozen at the window's end
    timeline.on = False
    print("WINDOW_END", flush=True)
    errors: dict[str, int] = {}
    for v in viewers:
        if v.error:
            errors[v.error] = errors.get(v.error, 0) + 1
    connected = sum(1 for v in viewers if v.connected and v.error is None)
    for v in viewers:
        if v.transport is not None:
            v.transport.abort()
    for sock in stalled:
        sock.close()
    return {
        "seconds": elapsed,
        "cameras": [v.camera for v in viewers],
        "frames": counts,
        "errors": errors,
        "connected_at_end": connected,
        "timeline": timeline.counts,
        "bucket_s": args.bucket,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=("mjpeg", "poll"), default="mjpeg")
    parser.add_argument(
        "--target", action="append", required=True, help="camera:viewers, repeatable"
    )
    parser.add_argument("--stall", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bucket", type=float, default=0.5)
    parser.add_argument("--ready-timeout", type=float, default=15.0)
    args = parser.parse_args()
    runner = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop  # cheaper per event: more of the 2 cores left for the server under test

        runner = uvloop.run
    result = runner(run(args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
