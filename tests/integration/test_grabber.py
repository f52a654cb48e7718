"""The OpenCV grabber on real encoded video, on a dead source, and across a Redis restart."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from data.camera_status import camera_status
from data.live_store import LiveStore, connect
from data.redis_server import EmbeddedRedis
from video.grabber import CameraGrabber, encode_frame
from video.sources import SAMPLES_DIR, resolve_source


def run_grabber(grabber: CameraGrabber, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=grabber.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_encode_resizes_once_keeping_aspect():
    frame = np.zeros((432, 768, 3), np.uint8)
    jpeg = encode_frame(frame, 640, 80)
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)


def test_clip_is_replayed_in_real_time_at_the_target_rate(live_store):
    source = resolve_source("street", "sample:car-detection.mp4")
    grabber = CameraGrabber("street", source, live_store, fps=10, width=320)
    run_grabber(grabber, 2.0)
    frame, health = live_store.camera("street")
    assert frame is not None
    assert (
        12 <= health.seq <= 22
    )  # ~10 fps for 2 s: frames are neither queued nor skipped wholesale
    assert health.width == 320 and health.height == 180


def test_short_clip_loops_like_a_camera_that_never_ends(tmp_path, live_store):
    clip = tmp_path / "short.mp4"
    source = cv2.VideoCapture(str(SAMPLES_DIR / "car-detection.mp4"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.5, (768, 432))
    for _ in range(6):  # half a second of video
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    source.release()
    grabber = CameraGrabber("loop", str(clip), live_store, fps=10, width=320)
    run_grabber(grabber, 2.0)
    assert grabber.seq >= 12  # kept publishing well past the clip's end


def test_dead_source_reports_offline_with_a_reason_and_no_frame(live_store):
    grabber = CameraGrabber("gone", "/nonexistent/camera.mp4", live_store, fps=5)
    run_grabber(grabber, 1.5)
    frame, health = live_store.camera("gone")
    assert frame is None
    assert health.state == "offline"
    assert "open" in health.error
    assert grabber.reconnects >= 1
    assert camera_status(health, time.time(), 3, 10).state == "offline"


def test_not_a_video_reports_a_clear_error(tmp_path, live_store):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not video")
    grabber = CameraGrabber("bogus", str(bogus), live_store, fps=5)
    run_grabber(grabber, 1.5)
    frame, health = live_store.camera("bogus")
    assert frame is None
    assert health.state == "offline"
    assert health.error


def test_grabber_keeps_running_through_a_redis_restart(tmp_path):
    with EmbeddedRedis(directory=tmp_path / "r") as server:
        store = LiveStore(connect(server.url), "komando:test")
        source = resolve_source("street", "sample:car-detection.mp4")
        grabber = CameraGrabber("street", source, store, fps=10, width=320)
        stop = threading.Event()
        thread = threading.Thread(target=grabber.run, args=(stop,), daemon=True)
        thread.start()
        try:
            time.sleep(1.0)
            server.restart()  # the live state is gone with the old server
            deadline = time.monotonic() + 5
            frame = None
            while time.monotonic() < deadline and frame is None:
                time.sleep(0.2)
                frame, _ = store.camera("street")
            assert frame is not None, "frames did not come back after Redis restarted"
            assert thread.is_alive()
        finally:
            stop.set()
            thread.join(timeout=10)


def test_embedded_redis_is_restarted_and_the_live_state_rebuilt(tmp_path, city):
    from data.history import BatchWriter, make_engine
    from data.ingest import IngestWorker

    with EmbeddedRedis(directory=tmp_path / "r") as server:
        stop = threading.Event()
        watchdog = server.supervise(stop, check_every_s=0.2)
        store = LiveStore(connect(server.url), "komando:test")
        writer = BatchWriter(make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}"))
        worker = IngestWorker(city, store, writer, interval_s=0.2)
        ingest = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        ingest.start()
        try:
            time.sleep(0.5)
            assert len(store.sensors()[1]) == len(city.config.sensors)
            old_pid = server.process.pid
            server.process.kill()  # as the kernel's OOM killer would
            deadline = time.monotonic() + 8
            points = None
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    points = store.sensors()[1]
                except Exception:
                    continue
                if points and len(points) == len(city.config.sensors):
                    break
            assert points and len(points) == len(city.config.sensors)
            assert server.process.pid != old_pid  # a new server, rebuilt by the ingest ticks
            assert writer.pending + writer.written >= worker.ticks * len(city.config.sensors)
        finally:
            stop.set()
            ingest.join(timeout=10)
            watchdog.join(timeout=10)
