"""Sensor layer of the map and the header's "data as of" line: what they show, computed on the
server for the live feed (callbacks/live_feed.py), and applied in the browser."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from dash import ClientsideFunction, Dash, Input, Output, State

from data.categories import sensor_category
from data.city import City
from layouts import ids
from layouts.formatting import format_age, format_clock, format_number
from layouts.map_panel import KIND_GLYPHS

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


def sensor_items(
    city: City, points: dict[str, tuple[float, float]], now: float
) -> dict[str, list[Any]]:
    """The changing part of each sensor's marker, compactly: {id: [colour, level, category,
    value text, age text]}. The browser merges it into the layer it already has."""
    layer = sensor_features(city, points, now)
    return {
        f["properties"]["id"]: [
            f["properties"]["color"],
            f["properties"]["level"],
            f["properties"]["category"],
            f["properties"]["value"],
            f["properties"]["age"],
        ]
        for f in layer["features"]
    }


def register(app: Dash) -> None:
    """The sensor layer and the freshness line follow the live feed in the browser."""
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="sensors"),
        Output(ids.SENSORS, "data"),
        Input(ids.FEED, "data"),
        State(ids.SENSORS, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="freshness"),
        Output(ids.FRESHNESS, "children"),
        Output(ids.FRESHNESS, "className"),
        Input(ids.FEED, "data"),
    )
