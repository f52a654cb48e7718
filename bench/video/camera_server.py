"""A network camera for the video bench: the demo clip served as HTTP MJPEG, looped in real time.

Every accepted connection is counted: one line `<epoch> <peer>` is appended to `--accept-log`
(flushed at once) and `ACCEPT <n>` is printed on stdout, so the bench can count how often the
grabber reconnects after this process is killed and started again on the same port.

The clip's frames are decoded and JPEG-encoded once (cached in `--cache`, so a restart serves
within a fraction of a second); each client then gets the frame due at the clip's own rate.

    python bench/video/camera_server.py --port 8554 --clip video/samples/car-detection.mp4 \
        --cache /tmp/cam.frames --accept-log /tmp/cam.accepts
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys
import time
from pathlib import Path

import cv2

BOUNDARY = "benchcamframe"
WRITE_STALL_S = 5.0  # a client that takes no data for this long is dropped, as a camera would


def encode_clip(clip: Path, max_frames: int, quality: int) -> tuple[float, list[bytes]]:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames: list[bytes] = []
    while len(frames) < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            frames.append(buffer.tobytes())
    capture.release()
    if not frames:
        raise SystemExit(f"no frames in {clip}")
    return fps, frames


def load_frames(clip: Path, cache: Path | None, max_frames: int, quality: int):
    """(fps, JPEGs) from the cache file, or encoded from the clip and written to it."""
    if cache is not None and cache.is_file():
        data = cache.read_bytes()
        fps, count = struct.unpack_from("<dI", data)
        offset, frames = 12, []
        for _ in range(count):
            (size,) = struct.unpack_from("<I", data, offset)
            frames.append(data[offset + 4 : offset + 4 + size])
            offset += 4 + size
        return fps, frames
    fps, frames = encode_clip(clip, max_frames, quality)
    if cache is not None:
        blob = bytearray(struct.pack("<dI", fps, len(frames)))
        for frame in frames:
            blob += struct.pack("<I", len(frame)) + frame
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(cache)
    return fps, frames


class Camera:
    def __init__(self, fps: float, frames: list[bytes], accept_log: Path | None) -> None:
        self.fps = fps
        self.parts = [
            (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(f)}\r\n\r\n"
            ).encode()
            + f
            + b"\r\n"
            for f in frames
        ]
        self.started = time.monotonic()
        self.accepts = 0
        self.accept_log = accept_log.open("a", buffering=1) if accept_log else None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        peer = writer.get_extra_info("peername")
        if self.accept_log is not None:
            self.accept_log.write(f"{time.time():.3f} {peer[0]}:{peer[1]}\n")
        print(f"ACCEPT {self.accepts}", flush=True)
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            writer.write(
                (
                    "HTTP/1.0 200 OK\r\n"
                    f"Content-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n"
                    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
                ).encode()
            )
            period = 1.0 / self.fps
            index = int((time.monotonic() - self.started) * self.fps)
            next_due = self.started + index * period
            while True:
                writer.write(self.parts[index % len(self.parts)])
                await asyncio.wait_for(writer.drain(), WRITE_STALL_S)
                index += 1
                next_due += period
                delay = next_due - time.monotonic()
                if delay < -1.0:  # this client fell behind: jump to now, as a camera would
                    index = int((time.monotonic() - self.started) * self.fps)
                    next_due = self.started + index * period
                await asyncio.sleep(max(0.0, delay))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def serve(port: int, camera: Camera) -> None:
    # asyncio sets SO_REUSEADDR: a restarted camera binds the same port at once.
    server = await asyncio.start_server(camera.handle, "127.0.0.1", port, backlog=64)
    print(f"LISTENING {port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--accept-log", type=Path)
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--quality", type=int, default=85)
    parser.add_argument("--encode-only", action="store_true", help="fill --cache and exit")
    args = parser.parse_args()
    fps, frames = load_frames(args.clip, args.cache, args.max_frames, args.quality)
    if args.encode_only:
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, Camera(fps, frames, args.accept_log)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
