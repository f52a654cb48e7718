"""Dash callbacks, one module per panel, each with `register(app, ...)`.

Callbacks are registered on the app object (not the global `dash.callback`) so that every app
built by `create_app` — one per test — gets its own.
"""

from __future__ import annotations

from dash import Dash

from callbacks import (
    alert_map,
    live_feed,
    map_drill,
    playlist,
    sensor_map,
)
from data.city import City
from data.live_reader import LiveReader
from settings import Settings


def register_all(app: Dash, reader: LiveReader, city: City, settings: Settings) -> None:
    playlist.register(app)
    live_feed.register(app, reader, city, settings)
    sensor_map.register(app)
    map_drill.register(app, city)
    alert_map.register(app, reader)
