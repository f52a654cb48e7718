"""Dash 4 on its FastAPI backend; served by `uvicorn fastapi_app:server`.

BENCH_CB_MODE selects the callback flavour:
  sync  - plain `def` callback with blocking redis-py. Dash's FastAPI dispatcher is an
          `async def` that calls the callback inline, so this runs ON the event loop.
  async - `async def` callback with redis.asyncio (awaited by the dispatcher).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import redis
import redis.asyncio as aredis
from dash import Dash, Input, Output
from fastapi.responses import StreamingResponse
from shared import (
    FRAME_KEY,
    MAX_STREAM_S,
    MJPEG_MEDIA_TYPE,
    POLL_S,
    REDIS_MAX_CONNECTIONS,
    REDIS_POOL_TIMEOUT_S,
    SEQ_KEY,
    VIDEO_PATH,
    callback_text,
    make_layout,
    mjpeg_part,
    redis_url,
)

CB_MODE = os.environ.get("BENCH_CB_MODE", "async")

# The asyncio client connects lazily, so creating it at import (before uvicorn's loop
# exists) is safe: connections are opened inside the running loop on first use.
ards = aredis.Redis(
    connection_pool=aredis.BlockingConnectionPool.from_url(
        redis_url(), max_connections=REDIS_MAX_CONNECTIONS, timeout=REDIS_POOL_TIMEOUT_S
    )
)
# Only the "sync" callback uses this; it is called from the event loop thread only.
rds = redis.Redis.from_url(redis_url())

app = Dash(__name__, backend="fastapi")
app.layout = make_layout()
server = app.server

if CB_MODE == "sync":

    @app.callback(Output("out", "children"), Input("inp", "value"))
    def echo(value: str | None) -> str:
        return callback_text(value, rds.get(SEQ_KEY))

else:

    @app.callback(Output("out", "children"), Input("inp", "value"))
    async def echo(value: str | None) -> str:
        return callback_text(value, await ards.get(SEQ_KEY))


async def _frames() -> AsyncIterator[bytes]:
    last_seq: bytes | None = None
    deadline = time.monotonic() + MAX_STREAM_S
    while time.monotonic() < deadline:
        seq = await ards.get(SEQ_KEY)
        if seq != last_seq:
            frame = await ards.get(FRAME_KEY)
            if frame:
                last_seq = seq
                yield mjpeg_part(frame)
        await asyncio.sleep(POLL_S)


# Registered at import time on purpose: Dash's FastAPI backend appends a GET catch-all
# `/{path:path}` (serving index.html) during ASGI lifespan startup. Starlette matches
# routes in order, so any GET route added after that point would be shadowed.
@server.get(VIDEO_PATH, include_in_schema=False)
async def cam() -> StreamingResponse:
    return StreamingResponse(_frames(), media_type=MJPEG_MEDIA_TYPE)
