"""`/video/<camera_id>.jpg`: the latest published frame of a camera, straight from Redis.

The web process never touches a camera: the grabber encoded the JPEG once; every viewer gets the
same bytes. A camera that is not live gets a placeholder saying so, with its state in headers
(`X-Camera-State`, `X-Frame-Seq`, `X-Frame-Age-Ms`) for the tile script.
"""

from __future__ import annotations

import logging
import time
from zoneinfo import ZoneInfo

import redis
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

from data.camera_status import camera_status
from data.city import City
from data.live_reader import LiveReader
from layouts.formatting import format_hhmm
from server.placeholder import placeholder_svg
from settings import Settings

log = logging.getLogger(__name__)

NO_CACHE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def add_video_routes(server: FastAPI, reader: LiveReader, city: City, settings: Settings) -> None:
    zone = ZoneInfo(city.config.timezone)
    cameras = {c.id: c for c in city.config.cameras}

    async def snapshot(camera_id: str) -> Response:
        camera = cameras.get(camera_id)
        if camera is None:
            raise HTTPException(status_code=404, detail="kamera tidak dikenal")
        try:
            frame, health = await reader.camera(camera_id)
        except redis.RedisError as exc:
            log.warning("snapshot %s: Redis unavailable: %s", camera_id, exc)
            body = placeholder_svg("Tidak tersedia", "data langsung tidak terjangkau", camera.name)
            return Response(
                body,
                media_type="image/svg+xml",
                headers={**NO_CACHE, "X-Camera-State": "unavailable"},
            )
        now = time.time()
        status = camera_status(
            health, now, settings.camera_stalled_after_s, settings.camera_offline_after_s
        )
        headers = {**NO_CACHE, "X-Camera-State": status.state}
        if frame is not None and status.state in ("live", "stalled") and health is not None:
            headers["X-Frame-Seq"] = str(health.seq)
            headers["X-Frame-Age-Ms"] = str(int((status.frame_age_s or 0) * 1000))
            return Response(frame, media_type="image/jpeg", headers=headers)
        if status.state == "connecting":
            body = placeholder_svg("Menyambung…", "menunggu gambar pertama", camera.name)
        else:
            since = (
                f"sejak {format_hhmm(status.last_frame_ts, zone)} {city.config.timezone_label}"
                if status.last_frame_ts
                else "belum pernah mengirim gambar"
            )
            body = placeholder_svg("Kamera offline", since, camera.name)
        return Response(body, media_type="image/svg+xml", headers=headers)

    server.add_api_route(
        "/video/{camera_id}.jpg", snapshot, methods=["GET"], include_in_schema=False
    )
