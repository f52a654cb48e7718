"""Drill-down on the map: click a kecamatan to zoom to it and show its villages; the breadcrumb
leads back to the whole city. Runs only on a click (never on the refresh tick)."""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.city import City
from layouts import ids
from layouts.map_regions import district, geojson_bounds, village_features

EMPTY = {"type": "FeatureCollection", "features": []}


def focus_on(
    city: City, kode: str, hideout: dict | None = None
) -> tuple[dict, dict, str, dict] | None:
    """(villages layer, viewport, breadcrumb text, district hideout) for `kode`, '' = city.
    The hideout keeps the shading the live feed put there."""
    hideout = dict(hideout or {})
    districts = city.kecamatan_geojson["features"]
    if not kode:
        viewport = {"bounds": geojson_bounds(districts), "transition": "flyToBounds"}
        return EMPTY, viewport, "", {**hideout, "focus": ""}
    feature = district(city, kode)
    if feature is None:
        return None
    villages = village_features(city, kode)
    viewport = {
        "bounds": geojson_bounds([feature]),
        "transition": "flyToBounds",
        "options": {"padding": [24, 24]},
    }
    return villages, viewport, f"› {feature['properties']['nama']}", {**hideout, "focus": kode}


def register(app: Dash, city: City) -> None:
    @app.callback(
        Output(ids.VILLAGES, "data"),
        Output(ids.MAP, "viewport"),
        Output(ids.MAP_CRUMB, "children"),
        Output(ids.DISTRICTS, "hideout"),
        Output(ids.MAP_VIEW, "data", allow_duplicate=True),
        Input(ids.DISTRICTS, "clickData"),
        Input(ids.MAP_HOME, "n_clicks"),
        State(ids.DISTRICTS, "hideout"),
        State(ids.MAP_VIEW, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def drill(click, _home, hideout, view):
        kode = ""
        if ctx.triggered_id == ids.DISTRICTS and click:
            kode = (click.get("properties") or {}).get("kode", "")
        answer = focus_on(city, kode, hideout)
        if answer is None:
            raise PreventUpdate
        # The live feed then brings this kecamatan's own KPIs (and keeps them current).
        return (*answer, {**(view or {}), "focus": kode})
