"""KPI tile values and status colours."""

from __future__ import annotations

import logging

import redis
from dash import ALL, Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.categories import kpi_category
from data.city import City
from data.live_reader import LiveReader
from layouts import ids
from layouts.formatting import format_number
from layouts.kpi_tiles import target_text

log = logging.getLogger(__name__)

STATUS_CLASSES = {-1: "status-nodata", 0: "status-good", 1: "status-warn", 2: "status-bad"}


def kpi_tile_values(
    city: City, kpi_ids: list[str], points: dict[str, tuple[float, float]]
) -> tuple[list[str], list[str], list[str]]:
    """(value texts, tile classes, status texts) in the order of `kpi_ids`."""
    by_id = {k.id: k for k in city.config.kpis}
    values, classes, statuses = [], [], []
    for kpi_id in kpi_ids:
        kpi = by_id[kpi_id]
        value = points.get(kpi_id, (None, None))[0]
        category = kpi_category(kpi, value)
        values.append(format_number(value, kpi.decimals))
        classes.append(f"kpi-tile {STATUS_CLASSES[category.level]}")
        statuses.append(f"{category.label} · {target_text(kpi)}")
    return values, classes, statuses


def register(app: Dash, reader: LiveReader, city: City) -> None:
    @app.callback(
        Output(ids.kpi(ids.KPI_VALUE, ALL), "children"),
        Output(ids.kpi(ids.KPI_TILE, ALL), "className"),
        Output(ids.kpi(ids.KPI_STATUS, ALL), "children"),
        Output(ids.KPI_STATE, "data"),
        Input(ids.WALL_TICK, "n_intervals"),
        State(ids.KPI_STATE, "data"),
    )
    @logged
    async def refresh_kpis(_tick, state):
        try:
            version, points = await reader.kpis((state or {}).get("version", ""))
        except redis.RedisError as exc:
            log.warning("KPI refresh: Redis unavailable: %s", exc)
            raise PreventUpdate from exc
        if points is None:  # unchanged: answer 204, nothing on the wire
            raise PreventUpdate
        kpi_ids = [item["id"]["kpi"] for item in ctx.outputs_list[0]]
        values, classes, statuses = kpi_tile_values(city, kpi_ids, points)
        return values, classes, statuses, {"version": version}
