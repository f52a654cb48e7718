"""Video routes on a real uvicorn server, fed by the real grabber through a real Redis: the
long-poll snapshot, the MJPEG stream, the multiplexed wall stream, placeholders, and fan-out
(many viewers, one Redis read per frame)."""

from __future__ import annotations

import asyncio
import threading
import time

import cv2
import httpx
import numpy as np
import pytest
import uvicorn

from app import create_app
from data.db.engine import make_engine
from data.live_store import LiveStore
from data.models import CameraHealth
from runner import prepare_database, start_workers
from settings import load_settings
from tests.accounts import session_for
from tests.ports import free_port
from tests.waiting import wait_for


@pytest.fixture
def served(request, redis_url, tmp_path, city):
    grab = getattr(request, "param", True)
    settings = load_settings(
        redis_url=redis_url,
        data_dir=tmp_path,
        roles="grab",
        camera_fps=8,
        camera_stalled_after_s=2,
        camera_offline_after_s=4,
    )
    stop = threading.Event()
    threads = start_workers(settings, city, stop) if grab else []
    app = create_app(settings, city)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app.server, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    session = session_for(engine, "operator")
    with httpx.Client(cookies=session.cookies, timeout=10) as http:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                answer = http.get(f"{base}/video/simpang-sudirman.jpg")
                state = answer.headers.get("x-camera-state")
                if state == "live" or (not grab and state):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield base, app.server.state.frame_hub, settings, app.server.state.video, http
    server.should_exit = True
    stop.set()
    thread.join(timeout=10)
    for worker in threads:
        worker.join(timeout=10)


def parts(body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body by Content-Length, as the tile script does."""
    found = []
    while True:
        end = body.find(b"\r\n\r\n")
        if end < 0:
            return found
        lines = body[:end].decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers["content-length"])
        if len(body) < end + 4 + length:
            return found
        found.append((headers, body[end + 4 : end + 4 + length]))
        body = body[end + 4 + length + 2 :]


def read_stream(http: httpx.Client, url: str, seconds: float) -> bytes:
    received = b""
    with http.stream("GET", url) as response:
        assert response.status_code == 200
        started = time.monotonic()
        for chunk in response.iter_bytes():
            received += chunk
            if time.monotonic() - started > seconds:
                break
    return received


def test_snapshot_after_waits_for_the_next_frame(served):
    base, *_, http = served
    first = http.get(f"{base}/video/simpang-sudirman.jpg")
    seq = int(first.headers["x-frame-seq"])
    started = time.monotonic()
    nxt = http.get(f"{base}/video/simpang-sudirman.jpg?after={seq}")
    assert int(nxt.headers["x-frame-seq"]) > seq
    assert time.monotonic() - started < 1.0  # ~1/8 s at 8 fps, not the 2 s cap
    assert nxt.content != first.content


def test_mjpeg_stream_delivers_frames_at_the_camera_rate(served):
    base, *_, http = served
    received = parts(read_stream(http, f"{base}/video/sdn1-gerbang.mjpg", 2.0))
    assert 10 <= len(received) <= 20  # 8 fps for ~2 s
    headers, body = received[-1]
    assert headers["x-camera"] == "sdn1-gerbang" and headers["x-camera-state"] == "live"
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)
    seqs = [int(h["x-frame-seq"]) for h, _ in received]
    assert seqs == sorted(set(seqs))  # each frame once, in order


def test_one_wall_stream_carries_every_camera(served):
    base, *_, http = served
    received = parts(
        read_stream(
            http, f"{base}/video/wall.stream?cameras=sdn1-gerbang,simpang-sudirman&fps=4", 2.0
        )
    )
    cameras = [h["x-camera"] for h, _ in received]
    assert cameras.count("sdn1-gerbang") >= 5 and cameras.count("simpang-sudirman") >= 5
    assert cameras.count("sdn1-gerbang") <= 11  # the requested 4 fps, not the camera's 8


def test_bad_requests(served):
    base, *_, http = served
    assert http.get(f"{base}/video/nope.jpg").status_code == 404
    assert http.get(f"{base}/video/nope.mjpg").status_code == 404
    assert http.get(f"{base}/video/wall.stream?cameras=sdn1-gerbang,nope").status_code == 404
    assert http.get(f"{base}/video/wall.stream").status_code == 400


@pytest.mark.parametrize("served", [False], indirect=True)  # no grabber: nothing live
def test_a_camera_that_stopped_gets_a_placeholder_in_the_stream(served, live_store):
    base, _, settings, _, http = served
    store = LiveStore(live_store.client, settings.redis_namespace)
    old = time.time() - 600
    store.publish_frame(
        "sdn1-gerbang",
        b"\xff\xd8old-frame",
        CameraHealth(state="live", seq=7, frame_ts=old, updated_ts=old),
    )
    received = parts(read_stream(http, f"{base}/video/sdn1-gerbang.mjpg", 1.5))
    assert received and all(h["x-camera-state"] == "offline" for h, _ in received)
    image = cv2.imdecode(np.frombuffer(received[0][1], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and b"old-frame" not in received[0][1]  # a JPEG placeholder


def test_many_viewers_share_one_redis_read_per_frame(served):
    base, hub, *_, http = served

    async def viewers(count: int, seconds: float) -> list[int]:
        async with httpx.AsyncClient(
            base_url=base,
            timeout=10,
            limits=httpx.Limits(max_connections=count),
            cookies=dict(http.cookies),
        ) as client:

            async def one() -> int:
                frames, seq = 0, 0
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    response = await client.get(f"/video/simpang-sudirman.jpg?after={seq}")
                    seq = int(response.headers["x-frame-seq"])
                    frames += 1
                return frames

            return await asyncio.gather(*(one() for _ in range(count)))

    before = hub.redis_reads
    counts = asyncio.run(viewers(40, 2.0))
    reads = hub.redis_reads - before
    # The clients share this process (and its GIL) with the server and the grabbers, so rates
    # per viewer vary here; bench/video measures them from a separate process.
    # Every viewer is served (the exact rate is bench/video's: here clients and server share
    # one process and, in CI, two cores with the rest of the suite).
    assert min(counts) >= 2, sorted(counts)
    assert reads <= 3 * 2.0 * 8 + 5  # about one read per frame, not one per viewer per frame
    assert sum(counts) > 10 * reads


def test_streams_end_on_the_server_when_their_viewers_go(served):
    # uvicorn's send() to a closed connection returns quietly: a stream that did not watch for
    # the disconnect would run (and read frames) forever for a viewer who left.
    base, _, _, video, http = served
    host, port = base.removeprefix("http://").split(":")

    async def watch_then_leave() -> int:
        paths = ["/video/sdn1-gerbang.mjpg"] * 6 + ["/video/wall.stream?cameras=sdn1-gerbang"]
        writers = []
        for path in paths:
            reader, writer = await asyncio.open_connection(host, int(port))
            cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
            await reader.readuntil(b"--komandoframe")  # the stream has started
            writers.append(writer)
        watching = video.open_streams
        for writer in writers:
            writer.close()
        return watching

    assert asyncio.run(watch_then_leave()) == 7
    wait_for(lambda: video.open_streams == 0, timeout_s=5, what="the streams to end")


def test_methods_other_than_get_are_refused(served):
    base, *_, http = served
    assert http.post(f"{base}/video/sdn1-gerbang.jpg").status_code == 405
    assert http.head(f"{base}/video/sdn1-gerbang.mjpg").status_code == 405
    head = http.head(f"{base}/video/sdn1-gerbang.jpg")
    assert head.status_code == 200 and head.headers["content-type"] == "image/jpeg"
