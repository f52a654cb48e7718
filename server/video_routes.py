"""Camera frames over HTTP, straight from what the grabber published — the web process never
touches a camera, and each frame was JPEG-encoded once, whatever the number of viewers.

- `/video/<id>.jpg`: the latest frame; `?after=<seq>` waits (up to 2 s) for a newer one.
- `/video/<id>.mjpg`: a multipart MJPEG stream at the camera's rate (`?fps=` lowers it).
- `/video/wall.stream?cameras=a,b,…`: ONE multipart stream carrying the frames of many cameras,
  each part labelled with `X-Camera`: a 16-tile wall holds one connection instead of sixteen, so
  the browser's ~6 connections per host stay free for the page's callbacks.
A camera that is not live gets a placeholder saying so — never a frozen last frame — with its
state in `X-Camera-State`, its sequence in `X-Frame-Seq` and the frame's age in `X-Frame-Age-Ms`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import redis
from starlette.types import Receive, Scope, Send

from data.access import PARENT, Principal, camera_access, current_principal
from data.camera_status import CameraStatus, camera_status
from data.camera_views import CameraViewLog
from data.city import CameraConfig, City
from layouts.formatting import format_hhmm
from server.frame_hub import Frame, FrameHub
from server.metrics import LONG_POLLS, STREAMS_OPEN
from server.placeholder import placeholder_jpeg, placeholder_svg
from server.web_server import KomandoServer
from settings import Settings

log = logging.getLogger(__name__)

NO_CACHE_RAW = [(b"cache-control", b"no-store, max-age=0"), (b"pragma", b"no-cache")]
BOUNDARY = "komandoframe"
LONG_POLL_S = 2.0
MAX_STREAM_CAMERAS = 64


class VideoService:
    """What the routes share: the hub, the city's cameras and how to judge their state."""

    def __init__(self, hub: FrameHub, city: City, settings: Settings) -> None:
        self.hub = hub
        self.settings = settings
        self.city = city
        self.zone = ZoneInfo(city.config.timezone)
        self._cameras: tuple[object, dict[str, CameraConfig]] = (None, {})
        self._parts: dict[str, tuple[Frame, bytes, bool, float]] = {}
        self.open_streams = 0  # MJPEG and wall streams being served now (for metrics and tests)

    @property
    def cameras(self) -> dict[str, CameraConfig]:
        """The city's cameras now (an admin may add or change one while the server runs)."""
        config = self.city.config
        if self._cameras[0] is not config:
            self._cameras = (config, {c.id: c for c in config.cameras})
        return self._cameras[1]

    def status(self, frame: Frame) -> CameraStatus:
        return camera_status(
            frame.health,
            time.time(),
            self.settings.camera_stalled_after_s,
            self.settings.camera_offline_after_s,
        )

    def placeholder_text(self, status: CameraStatus) -> tuple[str, str]:
        if status.state == "connecting":
            return "Menyambung…", "menunggu gambar pertama"
        if status.state == "unavailable":
            return "Tidak tersedia", "data langsung tidak terjangkau"
        if status.state == "disabled":
            return "Di luar jam aktif", status.error or "kamera tidak direkam saat ini"
        since = (
            f"sejak {format_hhmm(status.last_frame_ts, self.zone)} "
            f"{self.city.config.timezone_label}"
            if status.last_frame_ts
            else "belum pernah mengirim gambar"
        )
        return "Kamera offline", since

    def picture(
        self, camera_id: str, frame: Frame, jpeg_only: bool
    ) -> tuple[bytes, str, dict[str, str]]:
        """(body, media type, headers) for one frame or its placeholder."""
        status = self.status(frame)
        headers = {"X-Camera-State": status.state, "X-Frame-Seq": str(frame.seq)}
        if frame.jpeg is not None and status.state in ("live", "stalled"):
            headers["X-Frame-Age-Ms"] = str(int((status.frame_age_s or 0) * 1000))
            return frame.jpeg, "image/jpeg", headers
        title, subtitle = self.placeholder_text(status)
        name = self.cameras[camera_id].name
        if jpeg_only:
            return placeholder_jpeg(title, subtitle, name), "image/jpeg", headers
        return placeholder_svg(title, subtitle, name), "image/svg+xml", headers

    def part(self, camera_id: str, frame: Frame) -> tuple[bytes, bool]:
        """The multipart part for `frame`, built once and shared by every viewer."""
        cached = self._parts.get(camera_id)
        if cached is not None and cached[0] is frame and time.monotonic() - cached[3] < 0.5:
            return cached[1], cached[2]
        body, media_type, headers = self.picture(camera_id, frame, jpeg_only=True)
        live = headers["X-Camera-State"] in ("live", "stalled")
        part = _part(camera_id, body, media_type, headers)
        self._parts[camera_id] = (frame, part, live, time.monotonic())
        return part, live


def _part(camera_id: str, body: bytes, media_type: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"--{BOUNDARY}",
        f"Content-Type: {media_type}",
        f"Content-Length: {len(body)}",
        f"X-Camera: {camera_id}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body + b"\r\n"


async def _frame_or_unavailable(
    service: VideoService, camera_id: str, after: int, timeout_s: float
) -> Frame:
    try:
        return await service.hub.next_frame(camera_id, after, timeout_s)
    except redis.RedisError as exc:
        log.warning("video %s: Redis unavailable: %s", camera_id, exc)
        await asyncio.sleep(min(timeout_s, 1.0))
        return Frame(camera_id, None, None, time.monotonic())


async def _stream(service: VideoService, camera_ids: list[str], fps: float) -> AsyncIterator[bytes]:
    """Frames of `camera_ids` as they come, each camera at most `fps` per second. Only the
    newest frame of a camera is ever sent; a slow client receives fewer frames, never a queue
    of old ones (the ASGI server's flow control makes `send` wait for a slow reader)."""
    if len(camera_ids) == 1:
        async for part in _stream_one(service, camera_ids[0], fps):
            yield part
        return
    period = 1.0 / fps
    sent: dict[str, int] = dict.fromkeys(camera_ids, -1)
    due: dict[str, float] = dict.fromkeys(camera_ids, 0.0)
    placeholder_sent_at: dict[str, float] = {}
    heartbeat_s = max(1.0, service.settings.camera_stalled_after_s)
    waiting: dict[str, asyncio.Task] = {}
    try:
        while True:
            now = time.monotonic()
            for camera_id in camera_ids:
                if camera_id not in waiting:
                    delay = max(0.0, due[camera_id] - now)
                    waiting[camera_id] = asyncio.create_task(
                        _after_delay(delay, service, camera_id, sent[camera_id], heartbeat_s)
                    )
            done, _ = await asyncio.wait(
                waiting.values(), timeout=heartbeat_s, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                frame: Frame = task.result()
                camera_id = frame.camera_id
                del waiting[camera_id]
                part, live = service.part(camera_id, frame)
                if live and frame.seq == sent[camera_id]:
                    continue  # nothing new (woken by the heartbeat)
                if not live and time.monotonic() - placeholder_sent_at.get(camera_id, 0) < 2.0:
                    due[camera_id] = time.monotonic() + 1.0
                    continue  # a placeholder twice a second is plenty
                sent[camera_id] = frame.seq
                if not live:
                    placeholder_sent_at[camera_id] = time.monotonic()
                # On a schedule, not "period after this send": a send that came late must not
                # push every later frame back until one is dropped.
                due[camera_id] = max(due[camera_id] + period, time.monotonic() - period)
                yield part
    finally:
        for task in waiting.values():
            task.cancel()


async def _stream_one(service: VideoService, camera_id: str, fps: float) -> AsyncIterator[bytes]:
    # At the camera's own rate the grabber already paces: send each new frame as it comes.
    period = 0.0 if fps >= service.settings.camera_fps else 1.0 / fps
    sent, due, placeholder_sent_at = -1, 0.0, 0.0
    heartbeat_s = max(1.0, service.settings.camera_stalled_after_s)
    while True:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = await _frame_or_unavailable(service, camera_id, sent, heartbeat_s)
        part, live = service.part(camera_id, frame)
        if live and frame.seq == sent:
            continue
        if not live and time.monotonic() - placeholder_sent_at < 2.0:
            due = time.monotonic() + 1.0
            continue
        sent = frame.seq
        if not live:
            placeholder_sent_at = time.monotonic()
        due = max(due + period, time.monotonic() - period)
        yield part


async def _after_delay(
    delay: float, service: VideoService, camera_id: str, after: int, timeout_s: float
) -> Frame:
    if delay:
        await asyncio.sleep(delay)
    return await _frame_or_unavailable(service, camera_id, after, timeout_s)


def _fps(query: dict[str, list[str]], default: float) -> float:
    try:
        return min(max(float(query.get("fps", [default])[0]), 0.2), default)
    except ValueError:
        return default


class VideoRoutes:
    """The `/video/` routes as a bare ASGI app, served ahead of FastAPI (`server.web_server`).

    A viewer-frame is a few microseconds of real work (the bytes are shared), so what wraps it
    decides the cost: through Starlette's StreamingResponse and the middleware stack each frame
    cost ~50 us of server CPU, and each long-poll ~280 us. Here a frame is one `send`.
    """

    PREFIX = "/video/"

    def __init__(self, service: VideoService, views: CameraViewLog | None = None) -> None:
        self.service = service
        self.views = views
        self._last_logged: dict[tuple[int, str], float] = {}
        self._pending: set[asyncio.Future] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        name = path[len(self.PREFIX) :]
        is_stream = name == "wall.stream" or name.endswith(".mjpg")
        # HEAD only for pictures: a stream's answer never ends, so it has no headers-only form.
        if scope["method"] != "GET" and not (scope["method"] == "HEAD" and not is_stream):
            await _refuse(send, 405, "Method Not Allowed")
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if name == "wall.stream":
            await self.wall_stream(query, send, receive)
        elif name.endswith("/thumb.jpg") and name.count("/") == 1:
            await self.thumbnail(name[: -len("/thumb.jpg")], send)
        elif name.endswith(".mjpg") and "/" not in name:
            await self.mjpeg(name[: -len(".mjpg")], query, send, receive)
        elif name.endswith(".jpg") and "/" not in name:
            await self.snapshot(name[: -len(".jpg")], query, send)
        else:
            await _refuse(send, 404, "tidak ditemukan")

    def _refusal(self, camera_id: str, route: str) -> tuple[int, str] | None:
        """The signed-in principal (set by the gate) may watch this camera, or why not.
        An unknown camera and one of another school get the same 404, so guessing ids
        teaches nothing; a parent's own camera outside viewing hours is 403 with the hours."""
        principal = current_principal()
        camera = self.service.cameras.get(camera_id)
        answer = camera_access(principal, camera, self.service.city, datetime.now(UTC))
        if not answer.allowed:
            if answer.outside_hours:
                return 403, answer.reason
            return 404, "kamera tidak ditemukan"
        if principal is not None and principal.role == PARENT:
            self._log_view(principal, camera_id, route)
        return None

    def _log_view(self, principal: Principal, camera_id: str, route: str) -> None:
        """A parent's view goes to the audit trail (at most one write per camera and viewer
        every 10 s from this process; data.camera_views joins them into one view)."""
        if self.views is None:
            return
        key, now = (principal.id, camera_id), time.monotonic()
        if now - self._last_logged.get(key, -1e9) < 10:
            return
        self._last_logged[key] = now
        if len(self._last_logged) > 10_000:
            self._last_logged.clear()
        task = asyncio.ensure_future(
            asyncio.to_thread(self.views.seen, principal, camera_id, route)
        )
        self._pending.add(task)
        task.add_done_callback(self._view_logged)

    def _view_logged(self, task: asyncio.Future) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("camera view not audited: %s", task.exception())

    async def _audited(
        self, parts: AsyncIterator[bytes], camera_ids: list[str], route: str
    ) -> AsyncIterator[bytes]:
        """A parent's stream: the view is re-recorded as frames flow, so its length is kept."""
        principal = current_principal()
        try:
            async for part in parts:
                if principal is not None and principal.role == PARENT:
                    for camera_id in camera_ids:
                        self._log_view(principal, camera_id, route)
                yield part
        finally:
            await parts.aclose()  # type: ignore[attr-defined]

    async def snapshot(self, camera_id: str, query: dict[str, list[str]], send: Send) -> None:
        if refusal := self._refusal(camera_id, "snapshot"):
            await _refuse(send, *refusal)
            return
        after = query.get("after", [""])[0]
        wait = LONG_POLL_S if after.isdigit() else 0.0
        if wait:
            with LONG_POLLS.track_inprogress():
                frame = await _frame_or_unavailable(self.service, camera_id, int(after), wait)
        else:
            frame = await _frame_or_unavailable(self.service, camera_id, -1, 0.0)
        body, media_type, headers = self.service.picture(camera_id, frame, jpeg_only=False)
        await _answer(send, 200, body, media_type, headers)

    async def thumbnail(self, camera_id: str, send: Send) -> None:
        """A small picture for map pop-ups, refreshed by the grabber about once a second; a
        camera that is not live gets its (full-size) placeholder instead."""
        if refusal := self._refusal(camera_id, "thumbnail"):
            await _refuse(send, *refusal)
            return
        hub = self.service.hub
        try:
            frame = await hub.latest(camera_id)
            thumb = await hub.reader.thumbnail(camera_id)
        except redis.RedisError:
            frame, thumb = Frame(camera_id, None, None, time.monotonic()), None
        body, media_type, headers = self.service.picture(camera_id, frame, jpeg_only=False)
        if thumb is not None and media_type == "image/jpeg":
            body = thumb
        await _answer(send, 200, body, media_type, headers)

    async def mjpeg(
        self, camera_id: str, query: dict[str, list[str]], send: Send, receive: Receive
    ) -> None:
        if refusal := self._refusal(camera_id, "mjpeg"):
            await _refuse(send, *refusal)
            return
        fps = _fps(query, self.service.settings.camera_fps)
        await self._stream_out(
            send,
            receive,
            f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            self._audited(_stream(self.service, [camera_id], fps), [camera_id], "mjpeg"),
        )

    async def wall_stream(self, query: dict[str, list[str]], send: Send, receive: Receive) -> None:
        names = [c for c in query.get("cameras", [""])[0].split(",") if c]
        if not names or len(names) > MAX_STREAM_CAMERAS:
            await _refuse(send, 400, "sebutkan 1 sampai 64 kamera")
            return
        for camera_id in names:
            if refusal := self._refusal(camera_id, "wall"):
                await _refuse(send, *refusal)
                return
        fps = _fps(query, self.service.settings.camera_fps)
        await self._stream_out(
            send,
            receive,
            f"multipart/mixed; boundary={BOUNDARY}",
            self._audited(_stream(self.service, list(dict.fromkeys(names)), fps), names, "wall"),
        )

    async def _stream_out(
        self, send: Send, receive: Receive, media_type: str, parts: AsyncIterator[bytes]
    ) -> None:
        """Send `parts` until the client goes. uvicorn's `send` to a closed connection returns
        quietly, so the end is noticed by waiting for `http.disconnect` beside the stream: one
        waiting task per viewer, not one check per frame."""
        await send(
            {"type": "http.response.start", "status": 200, "headers": _raw_headers(media_type, {})}
        )

        async def pump() -> None:
            async for part in parts:
                await send({"type": "http.response.body", "body": part, "more_body": True})

        async def until_disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(until_disconnected())]
        self.service.open_streams += 1
        STREAMS_OPEN.inc()
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = None if task.cancelled() else task.exception()
                if exc is not None and not isinstance(exc, OSError):
                    raise exc
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await parts.aclose()  # type: ignore[attr-defined]
            self.service.open_streams -= 1
            STREAMS_OPEN.dec()


def _raw_headers(media_type: str, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", media_type.encode()),
        *NO_CACHE_RAW,
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]


async def _answer(
    send: Send, status: int, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = _raw_headers(media_type, headers or {})
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, status: int, detail: str) -> None:
    # The shape FastAPI gives its own errors, so clients see one kind of error body.
    await _answer(send, status, json.dumps({"detail": detail}).encode(), "application/json")


def add_video_routes(
    server: KomandoServer,
    hub: FrameHub,
    city: City,
    settings: Settings,
    views: CameraViewLog | None = None,
) -> VideoService:
    """Serve `/video/` on `server`, ahead of its middleware and Dash (behind its gate)."""
    service = VideoService(hub, city, settings)
    server.mount_ahead(VideoRoutes.PREFIX, VideoRoutes(service, views))
    return service
