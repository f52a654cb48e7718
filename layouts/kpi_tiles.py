"""KPI tiles: one per KPI, grouped by the six smart-city dimensions."""

from __future__ import annotations

from dash import html

from data.city import DIMENSION_LABELS, City, KpiConfig
from layouts import ids
from layouts.formatting import format_number
from layouts.i18n import Text


def target_text(kpi: KpiConfig) -> str:  # "target" in both languages
    sign = "≤" if kpi.direction == "lower" else "≥"
    return f"target {sign} {format_number(kpi.target, kpi.decimals)}"


def kpi_tile(kpi: KpiConfig, lang: str = "id") -> html.Div:
    english, indonesian = DIMENSION_LABELS[kpi.dimension]
    return html.Div(
        [
            html.Div(
                [
                    html.Span(english if lang == "en" else indonesian),
                    html.Span(
                        indonesian if lang == "en" else english, className="kpi-dimension-en"
                    ),
                ],
                className="kpi-dimension",
            ),
            html.Div(
                kpi.name.en if lang == "en" else kpi.name.id,
                className="kpi-name",
                title=kpi.name.id if lang == "en" else kpi.name.en,
            ),
            html.Div(
                [
                    html.Span("–", id=ids.kpi(ids.KPI_VALUE, kpi.id), className="kpi-value"),
                    html.Span(kpi.unit, className="kpi-unit"),
                    html.Span("", id=ids.kpi(ids.KPI_TREND, kpi.id), className="kpi-trend"),
                ],
                className="kpi-reading",
            ),
            html.Div(target_text(kpi), id=ids.kpi(ids.KPI_STATUS, kpi.id), className="kpi-status"),
        ],
        id=ids.kpi(ids.KPI_TILE, kpi.id),
        className="kpi-tile status-nodata",
    )


def scorecard(city: City, lang: str = "id") -> html.Div:
    """One chip per smart-city dimension (score and counts by status), filled by the live feed."""
    present = {k.dimension for k in city.config.kpis}
    return html.Div(
        [
            html.Div(
                [
                    html.Div(english if lang == "en" else indonesian, className="score-label"),
                    html.Div("–", className="score-value"),
                    html.Div([], className="score-counts"),
                ],
                className="score-chip worst-nodata",
                # The live feed finds the chip by it (assets/komando_feed.js: scorecard).
                **{"data-dimension": dimension},
            )
            for dimension, (english, indonesian) in DIMENSION_LABELS.items()
            if dimension in present
        ],
        id=ids.SCORECARD,
        className="scorecard",
    )


def kpi_panel(city: City, lang: str = "id") -> html.Div:
    order = list(DIMENSION_LABELS)
    kpis = sorted(
        (k for k in city.config.kpis if k.on_wall), key=lambda k: order.index(k.dimension)
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H2(Text("Indikator kota", "City indicators")(lang)),
                    html.Span(
                        Text("6 dimensi Smart City", "6 Smart City dimensions")(lang),
                        className="panel-note",
                    ),
                ],
                className="panel-head",
            ),
            scorecard(city, lang),
            html.Div([kpi_tile(k, lang) for k in kpis], className="kpi-grid"),
        ],
        className="panel kpi-panel",
    )
