"""Sensor layer of the map and the header's "data as of" line."""

from __future__ import annotations

import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

import redis
from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.categories import sensor_category
from data.city import City
from data.live_reader import LiveReader
from layouts import ids
from layouts.formatting import format_age, format_clock, format_number
from layouts.map_panel import KIND_GLYPHS
from settings import Settings

log = logging.getLogger(__name__)

DECIMALS = {"air_quality": 1, "water_level": 0, "traffic_flow": 0, "parking": 0}


def sensor_features(city: City, points: dict[str, tuple[float, float]], now: float) -> dict:
    """GeoJSON of every configured sensor, coloured by the category of its latest value."""
    features: list[dict[str, Any]] = []
    for sensor in city.config.sensors:
        value, ts = points.get(sensor.id, (None, None))
        category = sensor_category(sensor, value)
        value_text = (
            f"{format_number(value, DECIMALS[sensor.kind])} {sensor.unit}"
            if value is not None
            else "–"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [sensor.lng, sensor.lat]},
                "properties": {
                    "id": sensor.id,
                    "name": sensor.name,
                    "kind": sensor.kind,
                    "glyph": KIND_GLYPHS[sensor.kind],
                    "color": category.color,
                    "category": category.label,
                    "level": category.level,
                    "value": value_text,
                    "age": format_age(now - ts if ts else None),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def freshness(
    newest_ts: float | None, now: float, zone: ZoneInfo, zone_label: str, late_after_s: float
) -> tuple[str, str]:
    """Header text and class: when the newest reading is from, flagged when it is late."""
    if not newest_ts:
        return "Menunggu data sensor…", "freshness stale"
    text = f"Data per {format_clock(newest_ts, zone)} {zone_label}"
    if now - newest_ts > late_after_s:
        return f"{text} · TERLAMBAT {format_age(now - newest_ts)}", "freshness stale"
    return text, "freshness"


def register(app: Dash, reader: LiveReader, city: City, settings: Settings) -> None:
    zone = ZoneInfo(city.config.timezone)
    late_after_s = max(15.0, 5 * settings.ingest_interval_s)

    @app.callback(
        Output(ids.SENSORS, "data"),
        Output(ids.SENSOR_STATE, "data"),
        Output(ids.FRESHNESS, "children"),
        Output(ids.FRESHNESS, "className"),
        Input(ids.WALL_TICK, "n_intervals"),
        State(ids.SENSOR_STATE, "data"),
        State(ids.FRESHNESS, "children"),
    )
    @logged
    async def refresh_sensors(_tick, state, shown_text):
        state = state or {}
        now = time.time()
        try:
            version, points = await reader.sensors(state.get("version", ""))
        except redis.RedisError as exc:
            log.warning("sensor refresh: Redis unavailable: %s", exc)
            return no_update, no_update, "Data langsung tidak terjangkau (Redis)", "freshness stale"
        if points is None:
            text, css = freshness(
                state.get("newest_ts"), now, zone, city.config.timezone_label, late_after_s
            )
            if text == shown_text:
                raise PreventUpdate
            return no_update, no_update, text, css
        newest = max((ts for _, ts in points.values()), default=0.0)
        text, css = freshness(newest, now, zone, city.config.timezone_label, late_after_s)
        return (
            sensor_features(city, points, now),
            {"version": version, "newest_ts": newest},
            text,
            css,
        )
