"""One capture loop per camera: capture -> resize -> mask -> JPEG once -> Redis.

Each loop owns its source (a `cv2.VideoCapture`, or an HTTP client for snapshot cameras) and
never shares it with another thread; it keeps only the newest frame, dropping rather than
queueing, and reconnects with exponential backoff and full jitter when the source fails, so a
city's cameras do not stampede an NVR after a power cut.

The cameras of one process form a `GrabberPool`. Its supervisor thread renews the process's
camera leases in Redis (so no camera is grabbed by two workers, whatever their shards say) and
watches the loops: a loop stuck in a blocking read cannot say its camera stalled, the
supervisor can.

Health states written to Redis: connecting, live, stalled (had frames recently, none now),
offline (none for `offline_after_s`, or never and the source failed) and disabled (outside the
camera's enabled hours: it is not opened at all).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import redis

from data.city import EnabledHours, source_type_of
from data.live_store import LiveStore
from data.models import CameraHealth
from video.diagnose import describe_open_failure, preflight
from video.masks import MaskPainter, Polygon
from video.sources import redact

log = logging.getLogger(__name__)

# RTSP over TCP (interleaved), not UDP: over a city's Wi-Fi and 4G links lost UDP packets turn
# into grey smears and frozen macroblocks, NVRs behind NAT or a firewall often cannot send UDP
# back at all, and TCP makes a dead camera a closed connection we notice at once. OpenCV's
# FFmpeg backend reads this variable at every open; an operator's own value is kept.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

THUMB_QUALITY = 70


@dataclass(frozen=True)
class GrabTiming:
    """Every time bound of a capture loop (defaults fit production; tests shorten them)."""

    open_timeout_s: float = 5.0  # connect + handshake + probe of a stream
    read_timeout_s: float = 5.0  # longest a read may block before the stream counts as dead
    # Reconnect delays grow 0.5, 1, 2, 4, 6 s (full jitter below each): 200 cameras that lost
    # power together come back spread over a few seconds, and a camera that returns is live
    # again within ~6 s of the first retry that finds it.
    backoff_first_s: float = 0.5
    backoff_max_s: float = 6.0
    stalled_after_s: float = 3.0  # as KOMANDO_CAMERA_STALLED_AFTER_S
    offline_after_s: float = 10.0  # as KOMANDO_CAMERA_OFFLINE_AFTER_S
    thumb_every_s: float = 1.0
    thumb_width: int = 192
    hours_check_s: float = 1.0  # how often a camera looks at the clock for its enabled hours
    report_every_s: float = 5.0  # refresh of a non-live camera's health (keeps it fresh)


class Backoff:
    """Exponential backoff with full jitter: the n-th delay is uniform in
    [0, min(max_s, first_s * 2**n)] (the "full jitter" of AWS's backoff study), which spreads
    retries best when many clients failed at the same moment."""

    def __init__(self, first_s: float, max_s: float, rng: random.Random | None = None) -> None:
        if not 0 < first_s <= max_s:
            raise ValueError("backoff needs 0 < first_s <= max_s")
        self.first_s = first_s
        self.max_s = max_s
        self.rng = rng or random.Random()
        self.attempt = 0

    @property
    def cap(self) -> float:
        """Upper bound of the next delay."""
        return min(self.max_s, self.first_s * 2 ** min(self.attempt, 60))

    def next(self) -> float:
        delay = self.rng.uniform(0.0, self.cap)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


# -- frames -----------------------------------------------------------------------------------
def resize_to_width(frame: np.ndarray, width: int) -> np.ndarray:
    """Scale down to `width`, keeping the aspect ratio. Never up: a bigger JPEG of the same
    picture only costs bandwidth on every viewer's link."""
    height, src_width = frame.shape[:2]
    if src_width <= width:
        return frame
    new_height = max(2, round(height * width / src_width))
    return cv2.resize(frame, (width, new_height), interpolation=cv2.INTER_AREA)


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def prepare_frame(frame: np.ndarray, width: int, masks: MaskPainter | None = None) -> np.ndarray:
    """Resize and black out the privacy masks: the picture exactly as it will be published."""
    out = resize_to_width(frame, width)
    if masks:
        if out is frame:
            out = frame.copy()  # the capture may reuse its buffer
        masks.paint(out)
    return out


def encode_frame(
    frame: np.ndarray, width: int, quality: int, masks: MaskPainter | None = None
) -> bytes:
    """Resize, black out the privacy masks, encode: once per published frame."""
    return encode_jpeg(prepare_frame(frame, width, masks), quality)


def open_capture(source: str, kind: str, timing: GrabTiming) -> cv2.VideoCapture | None:
    """Open a stream, file or device; None when it does not open."""
    if kind == "device":
        spec = source.removeprefix("device:")
        capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
    else:
        # Timeouts must be given at open: without them a dead RTSP camera hangs this thread
        # in FFmpeg for good. They bound the open and every later read.
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            round(timing.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            round(timing.read_timeout_s * 1000),
        ]
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        return None
    return capture


class _Abandoned(Exception):
    """A blocking call was left to finish on its own: the loop had to stop."""


def call_interruptibly(
    fn: Callable[[], Any],
    should_stop: Callable[[], bool],
    cleanup: Callable[[Any], None] = lambda _: None,
    poll_s: float = 0.05,
    name: str = "grab-open",
) -> Any:
    """Run `fn` (an open that may block for its whole timeout) in a helper thread and wait for it
    while checking `should_stop`; on stop, raise `_Abandoned` at once and let the helper pass its
    late result to `cleanup` (release the capture). Exceptions of `fn` are re-raised here."""
    lock = threading.Lock()
    done = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # handed to the waiting thread
            result, error = None, exc
        with lock:
            if box.get("abandoned"):
                if error is None:
                    cleanup(result)
                return
            box["result"], box["error"] = result, error
            done.set()

    threading.Thread(target=work, name=name, daemon=True).start()
    while not done.wait(poll_s):
        if should_stop():
            with lock:
                if not done.is_set():
                    box["abandoned"] = True
                    raise _Abandoned
    if box["error"] is not None:
        raise box["error"]
    return box["result"]


# -- leases -----------------------------------------------------------------------------------
def make_worker_id() -> str:
    """host:pid:tag — unique per process run, readable in `camera_lease` keys and health."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class CameraLease:
    """This worker's claim on one camera (a Redis key with a TTL). The camera's loop takes it
    before opening the source; the pool's supervisor renews it and marks it lost if another
    worker holds it."""

    def __init__(
        self, store: LiveStore, camera_id: str, owner: str, ttl_s: float, lock: threading.Lock
    ) -> None:
        self.store = store
        self.camera_id = camera_id
        self.owner = owner
        self.ttl_s = ttl_s
        self._lock = lock  # shared with the renewals: a release never races a renewal
        self._held = threading.Event()

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def acquire(self) -> bool:
        try:
            taken = self.store.acquire_camera_lease(self.camera_id, self.owner, self.ttl_s)
        except redis.RedisError:
            return self.held  # cannot know; nobody else can take it without Redis either
        if taken:
            self._held.set()
        else:
            self._held.clear()
        return taken

    def lost(self) -> None:
        self._held.clear()

    def release(self) -> None:
        with self._lock:
            if not self._held.is_set():
                return
            self._held.clear()
            try:
                self.store.release_camera_lease(self.camera_id, self.owner)
            except redis.RedisError as exc:  # it expires by itself
                log.warning("camera %s: lease not released: %s", self.camera_id, exc)


# -- one camera -------------------------------------------------------------------------------
class CameraGrabber:
    """The capture loop of one camera. Run `run(stop)` in its own thread."""

    def __init__(
        self,
        camera_id: str,
        source: str,
        store: LiveStore,
        fps: float = 5.0,
        width: int = 640,
        quality: int = 80,
        *,
        source_type: str = "auto",
        masks: Sequence[Polygon] = (),
        hours: EnabledHours | None = None,
        zone: tzinfo | None = None,
        zone_label: str = "",
        timing: GrabTiming | None = None,
        lease: CameraLease | None = None,
        rng: random.Random | None = None,
        now_local: Callable[[], datetime] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.source = source
        self.kind = source_type_of(source, source_type)  # ValueError names the mismatch
        self.store = store
        self.period = 1.0 / fps
        self.width = width
        self.quality = quality
        self.masks = MaskPainter(masks)
        self.hours = hours
        zone = zone or ZoneInfo("Asia/Jakarta")
        self._now_local = now_local or (lambda: datetime.now(zone))
        self.zone_label = zone_label
        self.timing = timing or GrabTiming()
        self.lease = lease
        self.rng = rng or random.Random()
        self.release_on_stop = True  # False: stop as a crashed worker would (tests)
        # Counters, for health and for tests: how often the source was opened.
        self.opens = 0
        self.seq = 0
        self.reconnects = 0
        self.measured_fps = 0.0
        self.last_error = ""
        self.state = "connecting"
        self._lock = threading.Lock()  # state, counters and health writes
        self._last_frame_ts = 0.0
        self._last_publish_mono = 0.0
        self._last_thumb_mono = 0.0
        self._frame_size = (0, 0)
        self._reported_mono = 0.0
        self._next_hours_check = 0.0
        self._in_hours = True
        self._redis_down = False

    # -- health -------------------------------------------------------------------------------
    @property
    def worker(self) -> str:
        return self.lease.owner if self.lease else ""

    def _owns_camera(self) -> bool:
        return self.lease is None or self.lease.held

    def _health(self, now: float) -> CameraHealth:
        return CameraHealth(
            state=self.state,
            seq=self.seq,
            frame_ts=self._last_frame_ts,
            updated_ts=now,
            fps=round(self.measured_fps, 2),
            width=self._frame_size[0],
            height=self._frame_size[1],
            reconnects=self.reconnects,
            error=self.last_error,
            worker=self.worker,
        )

    def _write_health(self, now: float) -> None:
        """Caller holds `_lock`."""
        if not self._owns_camera():
            return
        self._reported_mono = time.monotonic()
        try:
            self.store.set_camera_health(self.camera_id, self._health(now))
        except redis.RedisError as exc:
            log.warning("camera %s: cannot report %s to Redis: %s", self.camera_id, self.state, exc)

    def _set_state(self, state: str, error: str | None = None) -> None:
        with self._lock:
            self.state = state
            if error is not None:
                self.last_error = error
            self._write_health(time.time())

    def _failure_state(self, now: float) -> str:
        """After a failed open or read: stalled while the last frame is recent, then offline."""
        if self._last_frame_ts and now - self._last_frame_ts < self.timing.offline_after_s:
            return "stalled"
        return "offline"

    def watch(self, now: float) -> None:
        """Called by the supervisor about twice a second, from its own thread: notice a loop
        that has gone quiet (a read blocking up to its timeout) and keep non-live health fresh."""
        if not self._lock.acquire(blocking=False):
            return  # the loop is publishing right now: not stalled
        try:
            if not self._owns_camera():
                return
            stalled_after = max(self.timing.stalled_after_s, 2.5 * self.period)
            age = now - self._last_frame_ts if self._last_frame_ts else None
            new_state = self.state
            if self.state in ("live", "stalled") and age is not None:
                if age >= self.timing.offline_after_s:
                    new_state = "offline"
                elif age >= stalled_after:
                    new_state = "stalled"
            if new_state != self.state:
                if self.state == "live":
                    self.last_error = f"tidak ada gambar baru selama {age:.0f} dtk (no new frame)"
                self.state = new_state
                self._write_health(now)
            elif (
                self.state != "live"
                and time.monotonic() - self._reported_mono >= self.timing.report_every_s
            ):
                self._write_health(now)
        finally:
            self._lock.release()

    def _publish(self, frame: np.ndarray) -> None:
        # Masked before any encoding: no published byte (frame or thumbnail) shows a masked area.
        out = prepare_frame(frame, self.width, self.masks)
        jpeg = encode_jpeg(out, self.quality)
        mono = time.monotonic()
        thumb = None
        if mono - self._last_thumb_mono >= self.timing.thumb_every_s:
            thumb = encode_jpeg(resize_to_width(out, self.timing.thumb_width), THUMB_QUALITY)
            self._last_thumb_mono = mono
        with self._lock:
            now = time.time()
            if self._last_publish_mono:
                instant = 1.0 / max(mono - self._last_publish_mono, 1e-3)
                self.measured_fps = (
                    instant if not self.measured_fps else 0.8 * self.measured_fps + 0.2 * instant
                )
            self._last_publish_mono = mono
            self.seq += 1
            self._last_frame_ts = now
            self._frame_size = (out.shape[1], out.shape[0])
            self.state = "live"
            self.last_error = ""
            if not self._owns_camera():
                return
            try:
                self.store.publish_frame(self.camera_id, jpeg, self._health(now))
                if thumb is not None:
                    self.store.publish_thumbnail(self.camera_id, thumb)
                self._reported_mono = mono
                if self._redis_down:
                    log.info("camera %s: Redis is back", self.camera_id)
                    self._redis_down = False
            except redis.RedisError as exc:
                # The frame is dropped, as a live picture should be; the loop keeps reading.
                if not self._redis_down:
                    log.warning(
                        "camera %s: Redis unavailable, frames dropped: %s", self.camera_id, exc
                    )
                    self._redis_down = True

    def _adopt_published_state(self) -> None:
        """Continue the camera's sequence where the previous owner (or run) left it: viewers
        wait for a seq above the last one they saw, so it must never go back."""
        try:
            _, health = self.store.camera(self.camera_id)
        except redis.RedisError:
            return
        if health is None:
            return
        with self._lock:
            if health.seq > self.seq:
                self.seq = health.seq
                self._last_frame_ts = max(self._last_frame_ts, health.frame_ts)
                self._frame_size = (health.width, health.height)

    # -- the loop -----------------------------------------------------------------------------
    def _interruption(self, stop: threading.Event) -> str | None:
        """Why the current session must end now, if it must: stopped, lease lost, hours over."""
        if stop.is_set():
            return "stopped"
        if not self._owns_camera():
            return "lease"
        if self.hours is not None and time.monotonic() >= self._next_hours_check:
            self._next_hours_check = time.monotonic() + self.timing.hours_check_s
            self._in_hours = self.hours.is_on(self._now_local())
        if not self._in_hours:
            return "hours"
        return None

    def _wait(self, stop: threading.Event, seconds: float) -> str | None:
        """Sleep up to `seconds`, waking for an interruption (checked at least every 0.25 s)."""
        deadline = time.monotonic() + seconds
        while True:
            reason = self._interruption(stop)
            remaining = deadline - time.monotonic()
            if reason or remaining <= 0:
                return reason
            stop.wait(min(remaining, 0.25))

    def _hold_lease(self, stop: threading.Event) -> bool:
        if self.lease is None or self.lease.held:
            return True
        if self.lease.acquire():
            log.info("camera %s: lease taken by %s", self.camera_id, self.lease.owner)
            self._adopt_published_state()
            return True
        # Another worker grabs it; look again before its lease could run out unrenewed.
        stop.wait(self.lease.ttl_s * self.rng.uniform(0.25, 0.5))
        return False

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(self.timing.backoff_first_s, self.timing.backoff_max_s, self.rng)
        logged_error = ""
        if self.lease is None:
            self._adopt_published_state()
        try:
            while not stop.is_set():
                if not self._hold_lease(stop):
                    continue
                if self.hours is not None:
                    self._in_hours = self.hours.is_on(self._now_local())
                    self._next_hours_check = time.monotonic() + self.timing.hours_check_s
                    if not self._in_hours:
                        self._disabled(stop)
                        continue
                reason, published = self._session(stop)
                if reason == "stopped" or stop.is_set():
                    break
                if reason in ("lease", "hours"):
                    if reason == "lease":
                        log.warning("camera %s: lease lost to another worker", self.camera_id)
                    continue
                if published:
                    backoff.reset()
                    logged_error = ""
                self.reconnects += 1
                self._set_state(self._failure_state(time.time()))
                # Once per distinct problem: 200 dead cameras must not flood the log.
                level = logging.WARNING if self.last_error != logged_error else logging.DEBUG
                logged_error = self.last_error
                log.log(
                    level, "camera %s: %s; retrying (%s)", self.camera_id, logged_error, self.state
                )
                self._wait(stop, backoff.next())
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self.release_on_stop:
            return  # as a crash: nothing said, the lease left to expire
        if self._owns_camera():
            self._set_state("offline", self.last_error or "grabber dihentikan (stopped)")
        if self.lease is not None:
            self.lease.release()

    def _disabled(self, stop: threading.Event) -> None:
        label = self.hours.label if self.hours else ""
        reason = f"di luar jam aktif ({label}{' ' + self.zone_label if self.zone_label else ''})"
        if self.state != "disabled" or self.last_error != reason:
            log.info("camera %s: %s", self.camera_id, reason)
            self._set_state("disabled", reason)
        stop.wait(self.timing.hours_check_s)

    def _session(self, stop: threading.Event) -> tuple[str, int]:
        """Open the source and read it until it fails or must stop: (why it ended, frames)."""
        if not self._last_frame_ts and self.state != "offline":
            # First contact (or back from disabled hours / a lease taken over). A camera that
            # never answered stays offline, with its reason, while it is retried.
            self._set_state("connecting")
        self.opens += 1
        if self.kind == "snapshot":
            return self._snapshot_session(stop)

        def attempt() -> tuple[cv2.VideoCapture | None, str]:
            problem = preflight(self.source, self.kind, self.timing.open_timeout_s)
            if problem:
                return None, problem
            began = time.monotonic()
            capture = open_capture(self.source, self.kind, self.timing)
            if capture is not None:
                return capture, ""
            return None, describe_open_failure(
                self.source, self.kind, time.monotonic() - began, self.timing.open_timeout_s
            )

        try:
            capture, error = call_interruptibly(
                attempt,
                lambda: self._interruption(stop) is not None,
                cleanup=lambda result: result[0] is not None and result[0].release(),
                name=f"open-{self.camera_id}",
            )
        except _Abandoned:
            return self._interruption(stop) or "stopped", 0
        if capture is None:
            self.last_error = error
            log.debug("camera %s: cannot open %s", self.camera_id, redact(self.source))
            return "failed", 0
        try:
            if self.kind == "file":
                return self._replay_file(capture, stop)
            return self._read_stream(capture, stop)
        finally:
            capture.release()

    def _replay_file(self, capture: cv2.VideoCapture, stop: threading.Event) -> tuple[str, int]:
        """Play a clip in real time, looped, decoding only the frames due at `fps`."""
        native_fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        started = time.monotonic()
        position = 0  # frames consumed since `started`
        published = 0
        next_due = started
        while True:
            reason = self._wait(stop, next_due - time.monotonic())
            if reason:
                return reason, published
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
                    self.last_error = (
                        "berkas tidak berisi video yang dapat dibaca (no decodable frame)"
                    )
                    return "failed", 0
                # End of clip: loop it, as a camera never ends.
                if not capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                    self.last_error = "berkas video tidak dapat diulang (seek failed)"
                    return "failed", published
                started, position = time.monotonic(), 0
                continue
            self._publish(frame)
            published += 1

    def _read_stream(self, capture: cv2.VideoCapture, stop: threading.Event) -> tuple[str, int]:
        """Drain a live stream and publish at `fps`.

        Every frame is grab()bed as it arrives, so none goes stale in a buffer (a slow reader
        would see ever older pictures). For H.264/H.265 grab() still decodes, as later frames
        depend on earlier ones; what is saved on the frames thrown away is retrieve(): the
        conversion to BGR and everything after it.
        """
        published = 0
        next_due = time.monotonic()
        while True:
            reason = self._interruption(stop)
            if reason:
                return reason, published
            if not capture.grab():
                if published == 1 and self.kind == "mjpeg":
                    self.last_error = (
                        "alamat ini memberi satu gambar, bukan aliran: gunakan source_type: "
                        "snapshot (stream ended after one frame)"
                    )
                else:
                    self.last_error = "aliran video terputus (read failed or timed out)"
                return "failed", published
            if time.monotonic() < next_due:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                continue
            next_due = max(next_due + self.period, time.monotonic())
            self._publish(frame)
            published += 1

    def _snapshot_session(self, stop: threading.Event) -> tuple[str, int]:
        """Poll a snapshot URL at `fps`: each request is one picture, so nothing is decoded
        that is not published."""
        from video.snapshot import SnapshotError, SnapshotSource

        source = SnapshotSource(
            self.source,
            connect_timeout_s=self.timing.open_timeout_s,
            read_timeout_s=self.timing.read_timeout_s,
        )
        published = 0
        try:
            next_due = time.monotonic()
            while True:
                reason = self._wait(stop, next_due - time.monotonic())
                if reason:
                    return reason, published
                next_due = max(next_due + self.period, time.monotonic())
                try:
                    if published == 0:
                        # The first request may wait its whole timeout on an address that never
                        # answers: keep the loop responsive to stop meanwhile.
                        frame = call_interruptibly(
                            source.fetch,
                            lambda: self._interruption(stop) is not None,
                            name=f"open-{self.camera_id}",
                        )
                    else:
                        frame = source.fetch()
                except _Abandoned:
                    return self._interruption(stop) or "stopped", 0
                except SnapshotError as exc:
                    self.last_error = str(exc)
                    return "failed", published
                self._publish(frame)
                published += 1
        finally:
            # An abandoned first request still runs in its helper: closing the client
            # ends it with an error that nobody waits for.
            source.close()


# -- a worker's cameras -----------------------------------------------------------------------
@dataclass(frozen=True)
class CameraSpec:
    """What the grab role needs of one camera, with the global defaults already applied."""

    camera_id: str
    source: str  # resolved: never committed, never logged unredacted
    source_type: str = "auto"
    fps: float = 5.0
    width: int = 640
    quality: int = 80
    masks: tuple[tuple[tuple[float, float], ...], ...] = ()
    hours: EnabledHours | None = None


@dataclass
class GrabberPool:
    """The capture loops of one worker process and their supervisor.

    Each loop runs with its own stop event, so one camera can be added, changed or retired while
    the others run (an admin's edit, data/city_edits.py); the pool's stop ends them all."""

    store: LiveStore
    grabbers: list[CameraGrabber]
    worker_id: str
    lease_ttl_s: float
    leases: bool = True
    watch_every_s: float = 0.5
    threads: list[threading.Thread] = field(default_factory=list)
    _lease_lock: threading.Lock = field(default_factory=threading.Lock)
    # What new loops are made with (start_grabbers sets them).
    timing: GrabTiming | None = None
    zone: tzinfo | None = None
    zone_label: str = ""
    rng: random.Random = field(default_factory=random.Random)
    specs: dict[str, CameraSpec] = field(default_factory=dict)
    _stops: dict[str, threading.Event] = field(default_factory=dict)
    _started: bool = False

    def make(self, spec: CameraSpec) -> CameraGrabber:
        self.specs[spec.camera_id] = spec
        return CameraGrabber(
            spec.camera_id,
            spec.source,
            self.store,
            fps=spec.fps,
            width=spec.width,
            quality=spec.quality,
            source_type=spec.source_type,
            masks=spec.masks,
            hours=spec.hours,
            zone=self.zone,
            zone_label=self.zone_label,
            timing=self.timing,
            lease=self.new_lease(spec.camera_id) if self.leases else None,
            rng=random.Random(self.rng.random()),
        )

    def _run(self, grabber: CameraGrabber) -> None:
        own = self._stops.setdefault(grabber.camera_id, threading.Event())
        thread = threading.Thread(
            target=grabber.run, args=(own,), name=f"grab-{grabber.camera_id}", daemon=True
        )
        thread.start()
        self.threads.append(thread)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        for grabber in self.grabbers:
            self._run(grabber)
        supervisor = threading.Thread(
            target=self._supervise, args=(stop,), name="grab-supervisor", daemon=True
        )
        supervisor.start()
        self.threads.append(supervisor)
        self._started = True
        return self.threads

    def reconcile(self, specs: Sequence[CameraSpec]) -> tuple[list[str], list[str]]:
        """Make the running loops match `specs`: a new camera is started, a changed one
        restarted, one no longer listed retired. Returns (started, retired) camera ids."""
        wanted = {spec.camera_id: spec for spec in specs}
        retired = [cid for cid, spec in self.specs.items() if wanted.get(cid) != spec]
        for camera_id in retired:
            self._stops.pop(camera_id).set()  # the loop releases its lease as it ends
            self.specs.pop(camera_id)
            self.grabbers = [g for g in self.grabbers if g.camera_id != camera_id]
        started = [cid for cid in wanted if cid not in self.specs]
        for camera_id in started:
            grabber = self.make(wanted[camera_id])
            self.grabbers.append(grabber)
            if self._started:
                self._run(grabber)
        self.threads = [t for t in self.threads if t.is_alive()]
        return started, [cid for cid in retired if cid not in wanted]

    def _supervise(self, stop: threading.Event) -> None:
        # Renew at a third of the TTL: two renewals can fail before a lease runs out.
        renew_every = self.lease_ttl_s / 3
        next_renewal = time.monotonic() + renew_every
        next_beat = 0.0
        while not stop.wait(self.watch_every_s):
            now = time.time()
            for grabber in list(self.grabbers):
                grabber.watch(now)
            if self.leases and time.monotonic() >= next_renewal:
                next_renewal = time.monotonic() + renew_every
                self.renew_leases()
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + 5.0
                with contextlib.suppress(redis.RedisError):
                    self.store.beat("grab")
        for own in list(self._stops.values()):
            own.set()

    def renew_leases(self) -> None:
        with self._lease_lock:
            held = [g.lease for g in self.grabbers if g.lease is not None and g.lease.held]
            if not held:
                return
            try:
                still = self.store.renew_camera_leases(
                    self.worker_id, [lease.camera_id for lease in held], self.lease_ttl_s
                )
            except redis.RedisError as exc:
                log.warning("grab worker %s: leases not renewed: %s", self.worker_id, exc)
                return
            for lease in held:
                if not still.get(lease.camera_id, False):
                    lease.lost()

    def new_lease(self, camera_id: str) -> CameraLease:
        return CameraLease(
            self.store, camera_id, self.worker_id, self.lease_ttl_s, self._lease_lock
        )


def start_grabbers(
    cameras: Sequence[CameraSpec],
    store: LiveStore,
    stop: threading.Event,
    *,
    timing: GrabTiming | None = None,
    zone: tzinfo | None = None,
    zone_label: str = "",
    worker_id: str | None = None,
    lease_ttl_s: float = 10.0,
    leases: bool = True,
    rng: random.Random | None = None,
) -> GrabberPool:
    """Start one capture loop per camera and the supervisor; `pool.threads` to join.

    With `leases` (always, outside tests of a single loop) a camera's loop opens its source only
    while it holds the camera's lease, so two workers given the same cameras never both grab one.
    """
    pool = GrabberPool(
        store,
        [],
        worker_id or make_worker_id(),
        lease_ttl_s,
        leases,
        timing=timing,
        zone=zone,
        zone_label=zone_label,
        rng=rng or random.Random(),
    )
    for spec in cameras:
        pool.grabbers.append(pool.make(spec))
    pool.start(stop)
    return pool
