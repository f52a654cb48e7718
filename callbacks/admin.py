"""The admin page (`/admin`): registers its panels' callbacks, and the camera panel's own.

app.py registers this inside `policy.roles(app, {admin})`, so the gate refuses these callbacks
to anyone else; each callback asks callbacks/admin_guard.acting_admin() as well.
"""

from __future__ import annotations

import logging
import time

import redis
from dash import Dash, Input, Output, State

from callbacks import admin_audit, admin_city, admin_links, admin_users
from callbacks.admin_guard import acting_admin
from callbacks.logged import logged
from data.accounts import SessionStore
from data.camera_status import CameraStatus, camera_status
from data.city import City
from data.live_reader import LiveReader
from layouts.admin import ADM_CAMERAS, ADM_CAMERAS_RELOAD
from layouts.admin_tables import cameras_table
from layouts.i18n import normal_lang
from layouts.pages import LANG
from settings import Settings

log = logging.getLogger(__name__)


def register(
    app: Dash,
    city: City,
    engine,
    sessions: SessionStore,
    reader: LiveReader,
    settings: Settings,
    client: redis.Redis | None = None,
) -> None:
    """`sessions`: the very store the gate reads (SQL record, Redis cache, the gate's own
    short-lived copies): revoking here is refused on the session's very next request.
    `client`: where a school's or camera's edit is announced to the other processes."""
    admin_users.register(app, city, engine, sessions)
    admin_links.register(app, city, engine, sessions)
    admin_audit.register(app, city, engine)
    admin_city.register(app, city, engine, client, settings.redis_namespace)

    @app.callback(
        Output(ADM_CAMERAS, "children"),
        Input(ADM_CAMERAS_RELOAD, "n_clicks"),
        State(LANG, "data"),
    )
    @logged
    async def show_cameras(_clicks, lang):
        acting_admin()
        lang = normal_lang(lang)
        now = time.time()
        try:
            healths = await reader.camera_healths([c.id for c in city.config.cameras])
        except redis.RedisError as exc:
            log.warning("admin page: camera health unavailable: %s", exc)
            return cameras_table(city, None, lang, unavailable=True)
        statuses: dict[str, CameraStatus] = {
            camera_id: camera_status(
                health, now, settings.camera_stalled_after_s, settings.camera_offline_after_s
            )
            for camera_id, health in healths.items()
        }
        return cameras_table(city, statuses, lang)
