"""Camera tile captions: health and frame age. The pictures refresh in the browser itself."""

from __future__ import annotations

import logging
import time
from zoneinfo import ZoneInfo

import redis
from dash import ALL, Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.camera_status import CameraStatus, camera_status
from data.city import City
from data.live_reader import LiveReader
from layouts import ids
from layouts.formatting import format_hhmm, format_number
from settings import Settings

log = logging.getLogger(__name__)


def badge(status: CameraStatus, zone: ZoneInfo) -> tuple[str, str, str]:
    """(badge text, badge class, info line) for one tile."""
    css = f"camera-badge state-{status.state}"
    if status.state == "live":
        return f"{status.label} · {format_number(status.frame_age_s or 0, 0)} dtk", css, ""
    if status.state == "offline":
        since = f" sejak {format_hhmm(status.last_frame_ts, zone)}" if status.last_frame_ts else ""
        return f"{status.label}{since}", css, status.error
    if status.state == "disabled":
        return status.label, css, status.error
    if status.state == "stalled":
        age = format_number(status.frame_age_s or 0, 0)
        return f"{status.label} · {age} dtk", css, status.error
    return status.label, css, ""


def register(app: Dash, reader: LiveReader, city: City, settings: Settings) -> None:
    zone = ZoneInfo(city.config.timezone)

    @app.callback(
        Output(ids.camera(ids.CAMERA_BADGE, ALL), "children"),
        Output(ids.camera(ids.CAMERA_BADGE, ALL), "className"),
        Output(ids.camera(ids.CAMERA_INFO, ALL), "children"),
        Input(ids.WALL_TICK, "n_intervals"),
        State(ids.camera(ids.CAMERA_BADGE, ALL), "children"),
        State(ids.camera(ids.CAMERA_INFO, ALL), "children"),
    )
    @logged
    async def refresh_camera_badges(_tick, shown_badges, shown_infos):
        camera_ids = [item["id"]["camera"] for item in ctx.outputs_list[0]]
        try:
            healths = await reader.camera_healths(camera_ids)
        except redis.RedisError as exc:
            log.warning("camera refresh: Redis unavailable: %s", exc)
            raise PreventUpdate from exc
        now = time.time()
        rows = [
            badge(
                camera_status(
                    healths[c],
                    now,
                    settings.camera_stalled_after_s,
                    settings.camera_offline_after_s,
                ),
                zone,
            )
            for c in camera_ids
        ]
        texts = [r[0] for r in rows]
        infos = [r[2] for r in rows]
        if texts == shown_badges and infos == shown_infos:
            raise PreventUpdate
        return texts, [r[1] for r in rows], infos
