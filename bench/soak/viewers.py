"""The soak bench's camera viewers: signed-in MJPEG viewers of the web role, in one process, for
as long as the bench runs.

Each viewer is bench/video/loadgen.py's raw asyncio `MjpegViewer` (chunked transfer and the
multipart parts parsed by Content-Length; a frame is a JPEG of a live camera with a new sequence
number), with its own session cookie. A viewer whose stream ends is connected again after a
second, as the wall's tile does, and the bench counts it: reconnects and their reasons. It also
counts gaps: a time between two frames longer than `--gap` seconds.

The cookies come in a JSON file (one `Cookie:` value per viewer, spread over the cameras in the
order given). The status (per viewer: frames, the longest gap, gaps, reconnects) is written as
JSON to `--status` every 10 s and at the end. SIGUSR1 marks the start of the measured window
(counters since then are reported apart from the warm-up); SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.video.loadgen import HOST, MjpegViewer, Timeline  # noqa: E402

STATUS_EVERY_S = 10.0
RECONNECT_AFTER_S = 1.0


@dataclass
class Stats:
    camera: str
    frames: int = 0  # since start
    last_frame: float = 0.0  # monotonic
    longest_gap_s: float = 0.0  # since the mark
    gaps: int = 0  # since the mark
    reconnects: int = 0  # since start
    reasons: Counter[str] = field(default_factory=Counter)
    frames_at_mark: int = 0
    reconnects_at_mark: int = 0
    connected: bool = False


class SoakViewer(MjpegViewer):
    def __init__(self, stats: Stats, cookie: str, gap_s: float) -> None:
        super().__init__(stats.camera, f"/video/{stats.camera}.mjpg", Timeline(1.0))
        self.stats = stats
        self.cookie = cookie
        self.gap_s = gap_s
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connected = True
        self.stats.connected = True
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: */*\r\n"
            f"Cookie: {self.cookie}\r\n\r\n".encode()
        )

    def frame(self, seq: int, state: str, soi: bool) -> None:
        before = self.total
        super().frame(seq, state, soi)
        if self.total != before:
            now = time.monotonic()
            stats = self.stats
            if stats.last_frame:
                gap = now - stats.last_frame
                stats.longest_gap_s = max(stats.longest_gap_s, gap)
                if gap > self.gap_s:
                    stats.gaps += 1
            stats.last_frame = now
            stats.frames += 1

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.stats.connected = False
        if not self.closed.done():
            self.closed.set_result(None)


async def watch(stats: Stats, port: int, cookie: str, gap_s: float, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    first = True
    while not stop.is_set():
        if not first:
            stats.reconnects += 1
        first = False
        viewer = SoakViewer(stats, cookie, gap_s)
        try:
            await asyncio.wait_for(loop.create_connection(lambda v=viewer: v, HOST, port), 5)
        except (OSError, TimeoutError) as exc:
            stats.reasons[f"connect: {type(exc).__name__}"] += 1
        else:
            closed = asyncio.ensure_future(viewer.closed)
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                if viewer.transport is not None:
                    viewer.transport.abort()
                return
            stats.reasons[viewer.error or "closed"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RECONNECT_AFTER_S)


def write_status(path: Path, all_stats: list[Stats], mark: float | None, final: bool) -> None:
    now = time.monotonic()
    viewers = [
        {
            "camera": s.camera,
            "frames": s.frames,
            "frames_since_mark": s.frames - s.frames_at_mark,
            "longest_gap_s": round(s.longest_gap_s, 3),
            "current_gap_s": round(now - s.last_frame, 3) if s.last_frame else None,
            "gaps": s.gaps,
            "reconnects": s.reconnects,
            "reconnects_since_mark": s.reconnects - s.reconnects_at_mark,
            "reasons": dict(s.reasons),
            "connected": s.connected,
        }
        for s in all_stats
    ]
    data = {
        "at": time.time(),
        "final": final,
        "seconds_since_mark": now - mark if mark is not None else None,
        "viewers": viewers,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


async def run(args: argparse.Namespace) -> None:
    cookies = json.loads(args.cookies.read_text(encoding="utf-8"))
    cameras = args.cameras.split(",")
    all_stats = [Stats(cameras[i % len(cameras)]) for i in range(len(cookies))]
    stop = asyncio.Event()
    mark: list[float | None] = [None]

    def set_mark() -> None:
        mark[0] = time.monotonic()
        for s in all_stats:
            s.frames_at_mark, s.reconnects_at_mark = s.frames, s.reconnects
            s.longest_gap_s, s.gaps = 0.0, 0

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, set_mark)
    tasks = [
        asyncio.create_task(watch(s, args.port, cookie, args.gap, stop))
        for s, cookie in zip(all_stats, cookies, strict=True)
    ]
    while not stop.is_set():
        write_status(args.status, all_stats, mark[0], final=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
    write_status(args.status, all_stats, mark[0], final=True)
    await asyncio.wait(tasks, timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cameras", required=True, help="comma-separated camera ids")
    parser.add_argument("--cookies", type=Path, required=True, help="JSON list, one per viewer")
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds that count as a gap")
    args = parser.parse_args()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
