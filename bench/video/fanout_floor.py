"""The floor for serving MJPEG on this machine: the least a Python web process can do per frame.

A bare uvloop server with no framework. Like Komando's web role it learns of new frames from the
grabber's Redis announcements, reads each frame from Redis once and sends it to every viewer of
the camera; unlike it, it builds each multipart part (already chunk-framed) once per frame and
hands the same bytes to every socket, with one `write` per viewer and no task, lock or
middleware per viewer. A viewer whose socket is still full of earlier frames skips this one, as
Komando's streams do (newest frame only). The bench serves the same viewers through it to show
how much of Komando's CPU per viewer-frame is the kernel and the event loop, which no change to
the serving code can remove.

    python bench/video/fanout_floor.py --port 9000 --redis-url unix:///… --camera solo
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis.asyncio as aioredis

from data.live_keys import KeySpace

BOUNDARY = "floorframe"
HIGH_WATER = 64 * 1024  # uvicorn's (asyncio's) default: above it a stream waits


class Viewer(asyncio.Protocol):
    def __init__(self, viewers: set[asyncio.Transport]) -> None:
        self.viewers = viewers
        self.head = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.transport in self.viewers:
            return
        self.head += data
        if b"\r\n\r\n" in self.head:
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary="
                + BOUNDARY.encode()
                + b"\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n"
            )
            self.viewers.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.viewers.discard(self.transport)  # type: ignore[arg-type]


def chunk(seq: int, jpeg: bytes) -> bytes:
    """One multipart part inside one HTTP chunk, as uvicorn frames a streamed body."""
    part = (
        (
            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
            f"X-Frame-Seq: {seq}\r\nX-Camera-State: live\r\n\r\n"
        ).encode()
        + jpeg
        + b"\r\n"
    )
    return b"%x\r\n" % len(part) + part + b"\r\n"


async def serve(port: int, redis_url: str, namespace: str, camera: str) -> None:
    keys = KeySpace(namespace)
    client = aioredis.Redis.from_url(redis_url)
    viewers: set[asyncio.Transport] = set()
    server = await asyncio.get_running_loop().create_server(
        lambda: Viewer(viewers), "127.0.0.1", port, backlog=2048
    )
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.frames_channel)
    print(f"LISTENING {port}", flush=True)
    async with server:
        async for message in pubsub.listen():
            camera_id, _, seq = message["data"].decode().partition(" ")
            if camera_id != camera or not viewers:
                continue
            jpeg = await client.get(keys.camera_frame(camera))
            if jpeg is None:
                continue
            data = chunk(int(seq), jpeg)
            for transport in viewers:
                if transport.get_write_buffer_size() <= HIGH_WATER:
                    transport.write(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--camera", required=True)
    args = parser.parse_args()
    import uvloop  # what uvicorn runs on here (uvicorn[standard])

    uvloop.run(serve(args.port, args.redis_url, args.namespace, args.camera))
    return 0


if __name__ == "__main__":
    sys.exit(main())
