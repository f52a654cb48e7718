"""The soak bench's network cameras: N HTTP MJPEG cameras in one process, one port each.

Each camera is bench/video/camera_server.py's `Camera` (the clip looped in real time, every
frame JPEG-encoded once and the same bytes sent to every client, a client that stops reading
dropped), serving the demo clip resized to `--width`x`--height` at `--fps`: what a modest IP
camera sends. The frames are encoded once at start; serving costs a socket write per frame.

Prints `LISTENING <port> <port> ...` once every camera listens; SIGTERM ends it.

    python bench/soak/cameras.py --ports 8601,8602 --clip video/samples/car-detection.mp4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.video.camera_server import Camera  # noqa: E402


def encode_frames(clip: Path, width: int, height: int, quality: int, limit: int) -> list[bytes]:
    """The clip's first `limit` frames, resized and JPEG-encoded once."""
    capture = cv2.VideoCapture(str(clip))
    frames: list[bytes] = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            frames.append(buffer.tobytes())
    capture.release()
    if not frames:
        raise SystemExit(f"no frames in {clip}")
    return frames


async def serve(ports: list[int], fps: float, frames: list[bytes]) -> None:
    servers = []
    for port in ports:
        camera = Camera(fps, frames, None)
        # asyncio sets SO_REUSEADDR; each camera has its own port, accept count and clock.
        servers.append(await asyncio.start_server(camera.handle, "127.0.0.1", port, backlog=16))
    print("LISTENING " + " ".join(map(str, ports)), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", required=True, help="comma-separated, one camera per port")
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--frames", type=int, default=150, help="frames of the clip to loop")
    args = parser.parse_args()
    frames = encode_frames(args.clip, args.width, args.height, args.quality, args.frames)
    ports = [int(p) for p in args.ports.split(",")]
    # Camera's stream ends on a client's timeout or reset; the SIGTERM above ends the process.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(ports, args.fps, frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
