"""The command-centre wall (`/`): header with the alert ticker; the map, the KPI scorecard and
tiles, CCTV and the alert list side by side; sized by the viewport for 1920×1080 and 3840×2160."""

from __future__ import annotations

from dash import html

from data.city import City
from layouts import ids
from layouts.alert_list import alert_panel, alert_ticker
from layouts.camera_tiles import camera_panel
from layouts.i18n import Text
from layouts.kpi_tiles import kpi_panel
from layouts.live_feed import live_feed
from layouts.map_panel import map_panel
from settings import Settings


def header(city: City, lang: str = "id") -> html.Header:
    return html.Header(
        [
            html.Div(
                [
                    html.Div("KOMANDO", className="brand"),
                    html.Div(
                        [
                            html.Div("Command Center", className="brand-sub"),
                            html.Div(city.config.name, className="city-name"),
                        ]
                    ),
                ],
                className="header-left",
            ),
            html.Div(
                [
                    html.Div(
                        Text("Menunggu data…", "Waiting for data…")(lang),
                        id=ids.FRESHNESS,
                        className="freshness",
                    ),
                    html.Div(
                        [
                            html.Span("--.--.--", id=ids.CLOCK_TIME, className="clock-time"),
                            html.Span(city.config.timezone_label, className="clock-zone"),
                        ],
                        className="clock",
                        **{"data-timezone": city.config.timezone},
                    ),
                    html.Div("", id=ids.CLOCK_DATE, className="clock-date"),
                ],
                className="header-right",
            ),
        ],
        className="wall-header",
    )


def wall_layout(city: City, settings: Settings, lang: str = "id") -> html.Div:
    return html.Div(
        [
            header(city, lang),
            alert_ticker(city, lang),
            html.Main(
                [
                    map_panel(city, settings.tile_url, settings.tile_attribution, lang),
                    kpi_panel(city, lang),
                    html.Div(
                        [camera_panel(city, settings.camera_fps, lang), alert_panel(city, lang)],
                        className="side-column",
                    ),
                ],
                className="wall-main",
            ),
            live_feed(
                ("alerts", "cameras", "freshness", "kpis", "regions", "sensors"),
                settings.wall_refresh_ms,
                lang,
            ),
        ],
        className="wall",
        lang=lang,
    )
