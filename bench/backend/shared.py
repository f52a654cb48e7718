"""Constants and helpers shared by the two bench apps and the bench driver.

Both apps must serve byte-identical streams and callbacks so the only variable is the
web backend (Flask/WSGI under gunicorn vs FastAPI/ASGI under uvicorn).
"""

from __future__ import annotations

import os

from dash import dcc, html

FRAME_KEY = "bench:cam:frame"
SEQ_KEY = "bench:cam:seq"
BOUNDARY = "frame"
MJPEG_MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
VIDEO_PATH = "/video/cam.mjpg"

# Streams poll the sequence key at twice the camera rate so each new frame is picked up
# within half a frame period, without hammering Redis with a tight loop.
POLL_S = 0.05
# redis-py 8 pools default to max_connections=100 and RAISE "Too many connections" when
# more commands are in flight; with hundreds of async streams that kills streams at once.
# A blocking pool makes excess callers wait for a free connection instead.
REDIS_MAX_CONNECTIONS = 100
REDIS_POOL_TIMEOUT_S = 5.0
# Hard cap on one stream's lifetime so a leaked connection can never loop forever.
MAX_STREAM_S = 180.0


def redis_url() -> str:
    """Redis URL handed to the app subprocess by the bench driver."""
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def mjpeg_part(jpeg: bytes) -> bytes:
    """One multipart part; Content-Length lets the client parse without scanning JPEG data."""
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    ).encode("ascii")
    return head + jpeg + b"\r\n"


def make_layout() -> html.Div:
    """Minimal layout: one input driving one output div."""
    return html.Div([dcc.Input(id="inp", value="x", type="text"), html.Div(id="out")])


def callback_text(value: str | None, seq: bytes | None) -> str:
    """Callback result; includes the Redis value so the bench can check the GET happened."""
    return f"{value}:{(seq or b'-').decode()}"
