"""The city map: district boundaries, sensors and cameras on a dark background.

The map is built once; callbacks only change the sensor layer's `data`. Styling functions live in
assets/komando_map.js and are referenced by name, as dash-leaflet resolves `{"variable": ...}`.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from data.categories import (
    NO_DATA,
    PARKING_BANDS,
    PM25_BANDS,
    TRAFFIC_BANDS,
    WATER_NORMAL,
    WATER_SIAGA,
)
from data.city import City, KpiConfig
from layouts import ids
from layouts.i18n import Text, label
from layouts.map_regions import geojson_bounds

KIND_GLYPHS = {"air_quality": "U", "water_level": "A", "traffic_flow": "L", "parking": "P"}
KIND_LABELS = {
    "air_quality": Text("Udara (PM2.5, ISPU)", "Air (PM2.5, ISPU)"),
    "water_level": Text("Tinggi muka air", "River level"),
    "traffic_flow": Text("Lalu lintas", "Traffic"),
    "parking": Text("Parkir", "Parking"),
}


def _js(name: str) -> dict[str, str]:
    return {"variable": f"komando.map.{name}"}


def camera_features(city: City) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lng, c.lat]},
                "properties": {"id": c.id, "name": c.name, "kind": c.kind},
            }
            for c in city.config.cameras
        ],
    }


def sensor_layer(city: City) -> dict[str, Any]:
    """Every sensor, grey until the live feed colours it (the browser merges each refresh's
    values into these features; their places never travel again)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lng, s.lat]},
                "properties": {
                    "id": s.id,
                    "name": s.name,
                    "kind": s.kind,
                    "glyph": KIND_GLYPHS[s.kind],
                    "color": NO_DATA.color,
                    "category": NO_DATA.label,
                    "level": NO_DATA.level,
                    "value": "–",
                    "age": "belum ada data",
                },
            }
            for s in city.config.sensors
        ],
    }


def _legend_row(color: str, label: str) -> html.Div:
    return html.Div(
        [html.Span(className="legend-swatch", style={"background": color}), label],
        className="legend-row",
    )


def legend(lang: str = "id") -> html.Div:
    groups = [
        (
            "U · " + KIND_LABELS["air_quality"](lang),
            [(c.color, c.label) for _, c in PM25_BANDS[:4]],
        ),
        (
            "A · " + KIND_LABELS["water_level"](lang),
            [(WATER_NORMAL.color, WATER_NORMAL.label)] + [(c.color, c.label) for c in WATER_SIAGA],
        ),
        (
            "L · " + KIND_LABELS["traffic_flow"](lang),
            [(c.color, c.label) for _, c in TRAFFIC_BANDS],
        ),
        ("P · " + KIND_LABELS["parking"](lang), [(c.color, c.label) for _, c in PARKING_BANDS]),
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.Div(title, className="legend-title"),
                    *[_legend_row(color, label(text, lang)) for color, text in rows],
                ],
                className="legend-group",
            )
            for title, rows in groups
        ]
        + [
            html.Div(
                [
                    html.Span("▣", className="legend-camera"),
                    Text("Kamera CCTV", "CCTV camera")(lang),
                ],
                className="legend-group legend-row",
            )
        ],
        className="map-legend",
    )


def school_features(city: City) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s.lng, s.lat]},
                "properties": {"id": s.id, "name": s.name},
            }
            for s in city.config.schools
        ],
    }


def shade_kpis(city: City) -> dict[str, KpiConfig]:
    """KPIs a kecamatan has a value of its own for (sensor aggregates), wall KPIs first: what
    the map can be shaded by."""
    kpis = [k for k in city.config.kpis if k.source.type == "sensors"]
    return {k.id: k for k in sorted(kpis, key=lambda k: not k.on_wall)}


def shade_control(city: City, lang: str = "id") -> html.Div:
    options = [
        {"label": k.name.en if lang == "en" else k.name.id, "value": k.id}
        for k in shade_kpis(city).values()
    ]
    return html.Div(
        [
            html.Span(Text("Warna kecamatan:", "Districts by:")(lang), className="shade-label"),
            dcc.Dropdown(
                id=ids.MAP_SHADE,
                options=options,
                value=options[0]["value"] if options else None,
                clearable=False,
                searchable=False,
                className="shade-select",
            ),
        ],
        className="map-shade",
    )


def breadcrumb(city: City, lang: str = "id") -> html.Nav:
    """City › kecamatan: where the map is, and the way back up (filled by callbacks/map_drill)."""
    return html.Nav(
        [
            html.Button(city.config.name, id=ids.MAP_HOME, className="crumb crumb-home"),
            html.Span("", id=ids.MAP_CRUMB, className="crumb crumb-here"),
        ],
        className="map-breadcrumb",
        **{"aria-label": Text("Wilayah", "Region")(lang)},
    )


def map_panel(
    city: City, tile_url: str = "", tile_attribution: str = "", lang: str = "id"
) -> html.Div:
    districts = city.kecamatan_geojson
    overlays = [
        dl.Overlay(
            dl.GeoJSON(
                id=ids.DISTRICTS,
                data=districts,
                style=_js("districtStyle"),
                onEachFeature=_js("districtLabel"),
                hideout={"focus": "", "fills": {}, "values": {}},
            ),
            name=Text("Kecamatan", "Districts (kecamatan)")(lang),
            checked=True,
        ),
        dl.Overlay(
            dl.GeoJSON(
                id=ids.VILLAGES,
                data={"type": "FeatureCollection", "features": []},
                style=_js("villageStyle"),
                onEachFeature=_js("villageLabel"),
            ),
            name=Text("Desa/kelurahan", "Villages (desa/kelurahan)")(lang),
            checked=True,
        ),
        dl.Overlay(
            dl.GeoJSON(
                id=ids.SCHOOLS_LAYER, data=school_features(city), pointToLayer=_js("schoolPoint")
            ),
            name=Text("Sekolah", "Schools")(lang),
            checked=True,
        ),
        dl.Overlay(
            dl.GeoJSON(
                id=ids.CAMERAS_LAYER, data=camera_features(city), pointToLayer=_js("cameraPoint")
            ),
            name=Text("Kamera", "Cameras")(lang),
            checked=True,
        ),
        dl.Overlay(
            dl.GeoJSON(
                id=ids.ALERTS_LAYER,
                data={"type": "FeatureCollection", "features": []},
                pointToLayer=_js("alertPoint"),
            ),
            name=Text("Peringatan", "Alerts")(lang),
            checked=True,
        ),
        dl.Overlay(
            dl.GeoJSON(
                id=ids.SENSORS,
                data=sensor_layer(city),
                pointToLayer=_js("sensorPoint"),
                onEachFeature=_js("sensorTooltip"),
            ),
            name="Sensor",
            checked=True,
        ),
    ]
    # No basemap by default: a command centre that loses its internet link still has a map.
    base = (
        [
            dl.BaseLayer(
                dl.TileLayer(url=tile_url, attribution=tile_attribution, opacity=0.55),
                name=Text("Peta dasar", "Base map")(lang),
                checked=True,
            )
        ]
        if tile_url
        else []
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H2(Text("Peta kota", "City map")(lang)),
                    breadcrumb(city, lang),
                    html.Span(
                        f"{len(districts['features'])} kecamatan · "
                        f"{len(city.config.sensors)} sensor · "
                        f"{len(city.config.cameras)} {Text('kamera', 'cameras')(lang)}",
                        className="panel-note",
                    ),
                ],
                className="panel-head",
            ),
            html.Div(
                [
                    dl.Map(
                        dl.LayersControl([*base, *overlays], collapsed=True, position="topright"),
                        id=ids.MAP,
                        center=list(city.config.center),
                        zoom=city.config.zoom,
                        # Then fit the city to whatever screen this is (1080p or 4K).
                        viewport={
                            "bounds": geojson_bounds(districts["features"]),
                            "transition": "fitBounds",
                            "options": {"padding": [16, 16]},
                        },
                        zoomSnap=0.25,
                        attributionControl=bool(tile_url),
                        className="city-map",
                    ),
                    legend(lang),
                    shade_control(city, lang),
                    html.Div(id=ids.MAP_FOCUS_BOX, className="map-focus-box"),
                    dcc.Store(id=ids.FEED_REGIONS),
                    dcc.Store(
                        id=ids.MAP_VIEW,
                        data={"shade": next(iter(shade_kpis(city)), ""), "focus": ""},
                    ),
                ],
                className="map-frame",
            ),
        ],
        className="panel map-panel",
    )
