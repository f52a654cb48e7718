"""Dash 4 on its default Flask backend; served by `gunicorn -k gthread flask_app:server`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from dash import Dash, Input, Output
from flask import Response
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

# redis-py's pool is thread-safe; with gthread each worker thread borrows one connection.
rds = redis.Redis(
    connection_pool=redis.BlockingConnectionPool.from_url(
        redis_url(), max_connections=REDIS_MAX_CONNECTIONS, timeout=REDIS_POOL_TIMEOUT_S
    )
)

app = Dash(__name__)
app.layout = make_layout()
server = app.server


@app.callback(Output("out", "children"), Input("inp", "value"))
def echo(value: str | None) -> str:
    return callback_text(value, rds.get(SEQ_KEY))


def _frames() -> Iterator[bytes]:
    # A sync generator pins one gthread worker thread for the whole life of the viewer;
    # that is exactly the cost this bench is meant to expose.
    last_seq: bytes | None = None
    deadline = time.monotonic() + MAX_STREAM_S
    while time.monotonic() < deadline:
        seq = rds.get(SEQ_KEY)
        if seq != last_seq:
            frame = rds.get(FRAME_KEY)
            if frame:
                last_seq = seq
                yield mjpeg_part(frame)
        time.sleep(POLL_S)


@server.route(VIDEO_PATH)
def cam() -> Response:
    return Response(_frames(), mimetype=MJPEG_MEDIA_TYPE, direct_passthrough=True)
