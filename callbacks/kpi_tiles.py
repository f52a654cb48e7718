"""KPI tile values and status colours."""

from __future__ import annotations

from dash import ALL, ClientsideFunction, Dash, Input, Output

from data.categories import kpi_category
from data.city import City
from layouts import ids
from layouts.formatting import format_number
from layouts.i18n import label
from layouts.kpi_tiles import target_text

STATUS_CLASSES = {-1: "status-nodata", 0: "status-good", 1: "status-warn", 2: "status-bad"}


def kpi_tile_values(
    city: City, kpi_ids: list[str], points: dict[str, tuple[float, float]], lang: str = "id"
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
        statuses.append(f"{label(category.label, lang)} · {target_text(kpi)}")
    return values, classes, statuses


def register(app: Dash) -> None:
    """The tiles follow the live feed in the browser (no request of their own)."""
    app.clientside_callback(
        ClientsideFunction(namespace="komando_feed", function_name="kpis"),
        Output(ids.kpi(ids.KPI_VALUE, ALL), "children"),
        Output(ids.kpi(ids.KPI_TILE, ALL), "className"),
        Output(ids.kpi(ids.KPI_STATUS, ALL), "children"),
        Input(ids.FEED, "data"),
    )
