"""Fan-out of camera frames inside one web process.

Grabbers announce each new frame on a Redis channel. Each web process listens with one pub/sub
connection, fetches a frame from Redis once when someone is watching that camera, and hands the
same bytes to every viewer: hundreds of viewers of a camera cost one Redis read per frame.
When the announcement channel is down (Redis restarting), viewers fall back to reading Redis at
the camera's pace, so nothing waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import redis

from data.live_reader import LiveReader
from data.models import CameraHealth

log = logging.getLogger(__name__)

FALLBACK_POLL_S = 0.2
# How often a waiting viewer is woken when its camera sends nothing (to see a deadline pass or a
# camera go stale). One ticker per process, not one timer per viewer per wait: arming and
# disarming 300 timers ten times a second was 16% of the server's CPU.
HEARTBEAT_S = 0.25


@dataclass(frozen=True)
class Frame:
    camera_id: str
    jpeg: bytes | None  # None: no frame in Redis (expired, or never published)
    health: CameraHealth | None
    fetched_at: float
    announcement: int = 0  # how many announcements of the camera had come when it was read

    @property
    def seq(self) -> int:
        return self.health.seq if self.health else 0


class FrameHub:
    def __init__(self, reader: LiveReader) -> None:
        self.reader = reader
        self._latest: dict[str, Frame] = {}
        self._announced: dict[str, int] = {}
        # Counted, not compared by seq: a frame read from Redis can be ahead of the last
        # announcement handled (the loop was busy), and a seq can go back (grabber restart).
        self._announcements: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._fetching: dict[str, asyncio.Lock] = {}
        self._prefetching: set[str] = set()
        self._listener: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._woken_at: dict[str, float] = {}
        self.listening = False
        self.redis_reads = 0  # frames fetched from Redis (what fan-out keeps low)

    # -- listening ---------------------------------------------------------------------------
    def _ensure_running(self) -> None:
        self._ensure_listener()
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _tick(self) -> None:
        """Wake the viewers of cameras that have been quiet for a beat. Cameras whose frames
        flow are left alone: their viewers are woken by the frames."""
        while True:
            period = HEARTBEAT_S if self.listening else FALLBACK_POLL_S
            await asyncio.sleep(period)
            now = time.monotonic()
            for camera_id in list(self._events):
                if self.listening and now - self._woken_at.get(camera_id, 0.0) < period:
                    continue
                self._wake(camera_id, now)

    def _wake(self, camera_id: str, now: float) -> None:
        self._woken_at[camera_id] = now
        event = self._events.pop(camera_id, None)
        if event is not None:
            event.set()  # wakes every waiter at once; no lock to hand round

    async def _listen(self) -> None:
        channel = self.reader.keys.frames_channel
        announced_down = False
        while True:
            pubsub = self.reader.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                self.listening = True
                if announced_down:
                    log.info("frame announcements back")
                    announced_down = False
                async for message in pubsub.listen():
                    self._on_announcement(message.get("data"))
            except (redis.RedisError, OSError) as exc:
                self.listening = False
                if not announced_down:
                    log.warning("frame announcements unavailable, polling instead: %s", exc)
                    announced_down = True
                await asyncio.sleep(1.0)
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _on_announcement(self, data: object) -> None:
        if not isinstance(data, (bytes, str)):
            return
        text = data.decode() if isinstance(data, bytes) else data
        camera_id, _, seq = text.partition(" ")
        if not seq.isdigit():
            return
        self._announced[camera_id] = int(seq)
        self._announcements[camera_id] = self._announcements.get(camera_id, 0) + 1
        if camera_id not in self._events:
            return  # nobody waiting: the next viewer reads it when it comes
        if camera_id not in self._prefetching:
            self._prefetching.add(camera_id)
            asyncio.get_running_loop().create_task(self._prefetch(camera_id))

    async def _prefetch(self, camera_id: str) -> None:
        """Read the announced frame, then wake the viewers: they find it waiting instead of
        queueing on the read one after another."""
        try:
            while True:
                frame = await self.latest(camera_id)
                if frame.announcement == self._announcements.get(camera_id, 0):
                    break  # no newer announcement came while reading
        except redis.RedisError:
            pass  # the viewers, once woken, meet the error themselves
        finally:
            self._prefetching.discard(camera_id)
            self._wake(camera_id, time.monotonic())

    # -- reading -----------------------------------------------------------------------------
    async def latest(self, camera_id: str, max_age_s: float = 0.05) -> Frame:
        """The newest frame, read from Redis at most once per announcement (or per `max_age_s`
        when announcements are down), however many viewers ask at once."""
        self._ensure_running()
        cached = self._latest.get(camera_id)
        fresh_enough = cached is not None and (
            cached.announcement == self._announcements.get(camera_id, 0)
            if self.listening
            else time.monotonic() - cached.fetched_at < max_age_s
        )
        if fresh_enough:
            return cached  # type: ignore[return-value]
        lock = self._fetching.setdefault(camera_id, asyncio.Lock())
        async with lock:
            cached = self._latest.get(camera_id)
            count = self._announcements.get(camera_id, 0)
            if cached is not None and (
                cached.announcement == count
                if self.listening
                else time.monotonic() - cached.fetched_at < max_age_s
            ):
                return cached
            jpeg, health = await self.reader.camera(camera_id)
            self.redis_reads += 1
            frame = Frame(camera_id, jpeg, health, time.monotonic(), count)
            self._latest[camera_id] = frame
            return frame

    async def next_frame(self, camera_id: str, after_seq: int, timeout_s: float) -> Frame:
        """The first frame other than `after_seq`, or the latest one when `timeout_s` has
        passed (kept to within HEARTBEAT_S)."""
        deadline = time.monotonic() + timeout_s
        while True:
            frame = await self.latest(camera_id)
            remaining = deadline - time.monotonic()
            # "Different", not "greater": a grabber that restarts its count (a Redis restart
            # lost the health hash it continues from) must not freeze the camera for viewers.
            if frame.seq != after_seq or remaining <= 0:
                return frame
            if self.listening and self._announcements.get(camera_id, 0) != frame.announcement:
                continue  # announced since it was read: read again (latest() awaits Redis)
            # One Event per camera per frame, replaced at each wake-up: set() wakes every
            # viewer at once, where Condition.notify_all() makes each re-take the lock in turn.
            # No timeout of its own: the ticker wakes quiet cameras' viewers every beat, so a
            # deadline is kept to within HEARTBEAT_S.
            event = self._events.get(camera_id)
            if event is None:
                event = self._events[camera_id] = asyncio.Event()
            await event.wait()
