"""One capture loop per camera: capture -> resize -> JPEG once -> Redis.

Each loop owns its `cv2.VideoCapture` (never shared between threads), drops frames rather than
queueing them, and reconnects with exponential backoff and jitter when the source fails, so a
city's cameras do not stampede an NVR after a power cut.
"""

from __future__ import annotations

import logging
import random
import threading
import time

import cv2
import numpy as np
import redis

from data.live_store import LiveStore
from data.models import CameraHealth
from video.sources import is_file_source

log = logging.getLogger(__name__)

OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0


def encode_frame(frame: np.ndarray, width: int, quality: int) -> bytes:
    """Resize to `width` (keeping aspect) and encode as JPEG, once per published frame."""
    height, src_width = frame.shape[:2]
    if src_width != width:
        new_height = max(2, round(height * width / src_width))
        interpolation = cv2.INTER_AREA if width < src_width else cv2.INTER_LINEAR
        frame = cv2.resize(frame, (width, new_height), interpolation=interpolation)
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def open_capture(source: str) -> cv2.VideoCapture | None:
    # Timeouts must be given at open: a dead RTSP camera would otherwise hang this thread.
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        OPEN_TIMEOUT_MS,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        READ_TIMEOUT_MS,
    ]
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        return None
    return capture


class CameraGrabber:
    def __init__(
        self,
        camera_id: str,
        source: str,
        store: LiveStore,
        fps: float = 5.0,
        width: int = 640,
        quality: int = 80,
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self.store = store
        self.period = 1.0 / fps
        self.width = width
        self.quality = quality
        self.seq = 0
        self.reconnects = 0
        self.measured_fps = 0.0
        self.last_error = ""
        self._last_frame_ts = 0.0
        self._frame_size = (0, 0)
        self._redis_down = False

    # -- health -----------------------------------------------------------------------------
    def _health(self, state: str, now: float) -> CameraHealth:
        return CameraHealth(
            state=state,
            seq=self.seq,
            frame_ts=self._last_frame_ts,
            updated_ts=now,
            fps=round(self.measured_fps, 2),
            width=self._frame_size[0],
            height=self._frame_size[1],
            reconnects=self.reconnects,
            error=self.last_error,
        )

    def _report(self, state: str) -> None:
        try:
            self.store.set_camera_health(self.camera_id, self._health(state, time.time()))
        except redis.RedisError as exc:
            log.warning("camera %s: cannot report %s to Redis: %s", self.camera_id, state, exc)

    def _publish(self, frame: np.ndarray) -> None:
        jpeg = encode_frame(frame, self.width, self.quality)
        now = time.time()
        if self._last_frame_ts:
            instant = 1.0 / max(now - self._last_frame_ts, 1e-3)
            self.measured_fps = (
                instant if not self.measured_fps else (0.8 * self.measured_fps + 0.2 * instant)
            )
        self.seq += 1
        self._last_frame_ts = now
        self._frame_size = (self.width, round(frame.shape[0] * self.width / frame.shape[1]))
        try:
            self.store.publish_frame(self.camera_id, jpeg, self._health("live", now))
            if self._redis_down:
                log.info("camera %s: Redis is back", self.camera_id)
                self._redis_down = False
        except redis.RedisError as exc:
            # The frame is dropped, as a live picture should be; the loop keeps reading.
            if not self._redis_down:
                log.warning("camera %s: Redis unavailable, frames dropped: %s", self.camera_id, exc)
                self._redis_down = True

    # -- loops ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        backoff = BACKOFF_FIRST_S
        while not stop.is_set():
            self._report("connecting")
            capture = open_capture(self.source)
            if capture is None:
                self.last_error = "tidak dapat membuka sumber video (open failed)"
                log.warning("camera %s: cannot open source", self.camera_id)
            else:
                try:
                    published = self._read_loop(capture, stop)
                finally:
                    capture.release()
                if published:
                    backoff = BACKOFF_FIRST_S
            if stop.is_set():
                break
            self._report("offline")
            self.reconnects += 1
            # Full jitter: many cameras failing together retry spread over the window.
            delay = random.uniform(0.5 * backoff, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            stop.wait(delay)
        self._report("offline")

    def _read_loop(self, capture: cv2.VideoCapture, stop: threading.Event) -> int:
        if is_file_source(self.source):
            return self._replay_file(capture, stop)
        return self._read_stream(capture, stop)

    def _replay_file(self, capture: cv2.VideoCapture, stop: threading.Event) -> int:
        """Play a clip in real time, looped, decoding only the frames due at `fps`."""
        native_fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        started = time.monotonic()
        position = 0  # frames consumed since `started`
        published = 0
        next_due = started
        while not stop.wait(max(0.0, next_due - time.monotonic())):
            next_due += self.period
            if next_due < time.monotonic():  # fell behind (busy machine): skip, do not queue
                next_due = time.monotonic() + self.period
            wanted = int((time.monotonic() - started) * native_fps)
            while position < wanted and capture.grab():
                position += 1
            ok, frame = capture.read()
            position += 1
            if not ok or frame is None:
                if published == 0 and position <= 1:
                    self.last_error = "sumber tidak berisi video yang dapat dibaca"
                    return 0
                # End of clip: loop it, as a camera never ends.
                if not capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                    return published
                started, position = time.monotonic(), 0
                continue
            self.last_error = ""
            self._publish(frame)
            published += 1
        return published

    def _read_stream(self, capture: cv2.VideoCapture, stop: threading.Event) -> int:
        """Drain a live stream (grab every frame so none go stale in a buffer), decode at `fps`."""
        published = 0
        next_due = time.monotonic()
        while not stop.is_set():
            if not capture.grab():
                self.last_error = "aliran video terputus (read failed)"
                return published
            if time.monotonic() < next_due:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                continue
            next_due = max(next_due + self.period, time.monotonic())
            self.last_error = ""
            self._publish(frame)
            published += 1
        return published


def start_grabbers(
    cameras: list[tuple[str, str]],
    store: LiveStore,
    stop: threading.Event,
    fps: float,
    width: int,
    quality: int,
) -> list[threading.Thread]:
    """Start one loop per (camera_id, resolved source)."""
    threads = []
    for camera_id, source in cameras:
        grabber = CameraGrabber(camera_id, source, store, fps=fps, width=width, quality=quality)
        thread = threading.Thread(
            target=grabber.run, args=(stop,), name=f"grab-{camera_id}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads
