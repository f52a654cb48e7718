"""KPI tiles and the dimension scorecard on the wall: what they say, computed on the server for
the live feed (callbacks/live_feed.py), and applied in the browser."""

from __future__ import annotations

from typing import Any

from data import kpi_status
from data.city import City, KpiConfig
from layouts.formatting import format_number
from layouts.i18n import Text
from layouts.kpi_tiles import target_text

STATUS_CLASSES = {-1: "status-nodata", 0: "status-good", 1: "status-warn", 2: "status-bad"}
LATE = Text("TERLAMBAT", "LATE")


def kpi_items(
    city: City,
    kpi_ids: list[str],
    points: dict[str, tuple[float, float]],
    now: float,
    lang: str = "id",
    previous: dict[str, float] | None = None,
) -> dict[str, list[str]]:
    """{kpi id: [value text, tile class, status line, full status (tooltip), trend text, trend
    class]}. A KPI whose owner is late with its data says so on the tile, naming the OPD; the
    trend compares with the value one period ago (data/kpi_baseline.py)."""
    previous = previous or {}
    by_id = {k.id: k for k in city.config.kpis}
    items: dict[str, list[str]] = {}
    for kpi_id in kpi_ids:
        kpi = by_id[kpi_id]
        value, ts = points.get(kpi_id, (None, None))
        state = kpi_status.status(kpi, value)
        fresh = kpi_status.freshness(city.config, kpi, ts, now)
        css = f"kpi-tile {STATUS_CLASSES[state.level]}"
        line = f"{state.label(lang)} · {target_text(kpi)}"
        if fresh.late:
            css += " late"
            line = f"{LATE(lang)} · {fresh.owner}"
        trend_text, trend_css = trend_badge(kpi, value, previous.get(kpi_id), lang)
        items[kpi_id] = [
            format_number(value, kpi.decimals),
            css,
            line,
            fresh.message(lang) or line,
            trend_text,
            trend_css,
        ]
    return items


def trend_badge(
    kpi: KpiConfig, current: float | None, previous: float | None, lang: str = "id"
) -> tuple[str, str]:
    """('▲ 2,1', 'kpi-trend better') against the value one period ago; ('', 'kpi-trend') when
    there is nothing to compare."""
    change = kpi_status.trend(kpi, current, previous)
    if change.arrow is None or change.delta is None:
        return "", "kpi-trend"
    amount = format_number(abs(change.delta), kpi.decimals)
    flat = change.arrow == "flat" or amount == format_number(0, kpi.decimals)
    arrow = "▬" if flat else {"up": "▲", "down": "▼"}[change.arrow]
    # A change too small to show at the KPI's decimals is no change to the eye either.
    judged = "flat" if flat else {True: "better", False: "worse", None: "flat"}[change.improved]
    period = PERIOD_WORDS[kpi.cadence](lang)
    return f"{arrow} {amount} {period}", f"kpi-trend {judged}"


PERIOD_WORDS = {
    "realtime": Text("vs kemarin", "vs yesterday"),
    "daily": Text("vs kemarin", "vs yesterday"),
    "weekly": Text("vs minggu lalu", "vs last week"),
    "monthly": Text("vs bulan lalu", "vs last month"),
}


def scorecard_items(
    city: City, points: dict[str, tuple[float, float]], lang: str = "id"
) -> list[list[Any]]:
    """Per dimension (all the city's KPIs, not only the tiles shown): [dimension, label, score
    text, good, warn, bad, no data]."""
    statuses = {
        k.id: kpi_status.status(k, points[k.id][0]) for k in city.config.kpis if k.id in points
    }
    return [
        [
            d.dimension,
            d.label(lang),
            "–" if d.score is None else f"{format_number(d.score, 0)}%",
            d.good,
            d.warn,
            d.bad,
            d.nodata,
        ]
        for d in kpi_status.scorecard(city.config.kpis, statuses)
    ]
