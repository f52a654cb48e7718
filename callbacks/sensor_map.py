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
from layouts.i18n import Text, label

DECIMALS = {"air_quality": 1, "water_level": 0, "traffic_flow": 0, "parking": 0}


def sensor_items(
    city: City, points: dict[str, tuple[float, float]], now: float, lang: str = "id"
) -> dict[str, list[Any]]:
    """The changing part of each sensor's marker, compactly: {id: [colour, level, category,
    value text, age text]}. The browser merges it into the layer it already has
    (layouts/map_panel.sensor_layer), so a sensor's place and name never travel again."""
    items: dict[str, list[Any]] = {}
    for sensor in city.config.sensors:
        value, ts = points.get(sensor.id, (None, None))
        category = sensor_category(sensor, value)
        value_text = (
            f"{format_number(value, DECIMALS[sensor.kind])} {sensor.unit}"
            if value is not None
            else "–"
        )
        items[sensor.id] = [
            category.color,
            category.level,
            label(category.label, lang),
            value_text,
            format_age(now - ts if ts else None, lang),
        ]
    return items


def freshness(
    newest_ts: float | None,
    now: float,
    zone: ZoneInfo,
    zone_label: str,
    late_after_s: float,
    lang: str = "id",
) -> tuple[str, str]:
    """Header text and class: when the newest reading is from, flagged when it is late."""
    if not newest_ts:
        return Text("Menunggu data sensor…", "Waiting for sensor data…")(lang), "freshness stale"
    text = f"{Text('Data per', 'Data as of')(lang)} {format_clock(newest_ts, zone)} {zone_label}"
    if now - newest_ts > late_after_s:
        late = Text("TERLAMBAT", "LATE")(lang)
        return f"{text} · {late} {format_age(now - newest_ts, lang)}", "freshness stale"
    return text, "freshness"


def register(app: Dash) -> None:
    """The kecamatan shading and the focus box follow the feed's regions section, which the
    browser puts in FEED_REGIONS when one comes (assets/komando_feed.js: apply); the sensor
    markers and the freshness line are written by `apply` itself."""
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="shading"),
        Output(ids.DISTRICTS, "hideout", allow_duplicate=True),
        Input(ids.FEED_REGIONS, "data"),
        State(ids.DISTRICTS, "hideout"),
        prevent_initial_call=True,
    )
    # The chosen KPI goes into the map's view; the next refresh brings its colours.
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="shadeChoice"),
        Output(ids.MAP_VIEW, "data"),
        Input(ids.MAP_SHADE, "value"),
        State(ids.MAP_VIEW, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="focusBox"),
        Output(ids.MAP_FOCUS_BOX, "children"),
        Output(ids.MAP_FOCUS_BOX, "className"),
        Input(ids.FEED_REGIONS, "data"),
        State(ids.MAP_CRUMB, "children"),
        prevent_initial_call=True,
    )
