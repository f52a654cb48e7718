"""What the access gate (issue 6) adds to each request, in-process, against the same ASGI app
called bare in the same run.

Each camera frame of a long-polling viewer and each wall refresh is one request, so the gate's
own work (reading the cookie, the principal kept for 2 s, the CSRF token, the header wrapper)
is paid per frame. The principal lookup is stubbed out here: in the app it is cached per
process for 2 s (server/access_gate.py), so it is not per-request work.

    .venv/bin/python bench/gate_overhead.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.access import Principal
from server.access_gate import AccessGate, SecurityHeaders, csrf_token_for
from server.callback_policy import CallbackPolicy

TOKEN = "Zr0mQ3sQbYk1hJ4kq0l6g2n7R0tW9pX8cV5bN1mL2kE"


class KnownSession:
    def __init__(self) -> None:
        self.on_revoke: list = []

    def principal(self, _token: str) -> Principal:
        return Principal(kind="user", id=1, name="bench", role="operator")


async def frame_app(_scope, _receive, send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"image/jpeg")],
        }
    )
    await send({"type": "http.response.body", "body": b"\xff\xd8frame"})


async def per_request_us(app, requests: int) -> float:
    cookie = f"komando_session={TOKEN}; _csrf_token={csrf_token_for(TOKEN)}".encode()
    scope = {
        "type": "http",
        "path": "/video/simpang-sudirman.jpg",
        "method": "GET",
        "query_string": b"after=3",
        "headers": [(b"host", b"komando"), (b"cookie", cookie)],
    }

    async def receive():
        return {"type": "http.request"}

    async def send(_message) -> None:
        return None

    for _ in range(1000):  # warm-up (and the gate's 2 s principal cache)
        await app(dict(scope), receive, send)
    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int) -> None:
    gate = AccessGate(frame_app, KnownSession(), CallbackPolicy(), SecurityHeaders([], [], ""))
    rounds = []
    for _ in range(3):  # interleaved, best of three: these machines are noisy
        rounds.append(
            (await per_request_us(frame_app, requests), await per_request_us(gate, requests))
        )
    bare = min(r[0] for r in rounds)
    gated = min(r[1] for r in rounds)
    print(f"bare app      {bare:6.1f} µs/request")
    print(f"through gate  {gated:6.1f} µs/request")
    print(f"gate adds     {gated - bare:6.1f} µs/request ({gated / bare:.1f}× the bare app)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    asyncio.run(main(parser.parse_args().requests))
