"""The CCTV wall: which cameras the grid shows, and rotation. Tile captions are refreshed by
callbacks/camera_tiles.py (pattern-matching ids), pictures by the browser's stream reader."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.logged import logged
from data.access import city_view, current_principal
from data.city import City
from layouts import cctv
from layouts.i18n import normal_lang
from layouts.pages import LANG, URL
from settings import Settings


def query_choices(search: str | None, group_ids: set[str]) -> tuple[int, str, int]:
    """`?layout=16&group=jalan&rotate=20` for kiosk screens; anything unknown is ignored."""
    query = parse_qs((search or "").lstrip("?"))

    def first(name: str) -> str:
        return (query.get(name) or [""])[0]

    layout = int(first("layout")) if first("layout").isdigit() else 4
    rotate = int(first("rotate")) if first("rotate").isdigit() else 0
    group = first("group")
    return (
        layout if layout in cctv.LAYOUTS else 4,
        group if group in group_ids else "semua",
        rotate if rotate in cctv.ROTATIONS else 0,
    )


def register(app: Dash, city: City, settings: Settings) -> None:
    groups = {g.id: g for g in cctv.camera_groups(city)}

    @app.callback(
        Output(cctv.CCTV_LAYOUT, "value"),
        Output(cctv.CCTV_GROUP, "value"),
        Output(cctv.CCTV_ROTATE, "value"),
        Input(URL, "search"),
        State(URL, "pathname"),
    )
    @logged
    async def apply_query(search, pathname):
        if (pathname or "").rstrip("/") != "/cctv" or not search:
            raise PreventUpdate
        return query_choices(search, set(groups))

    @app.callback(
        Output(cctv.CCTV_ROTATE_TICK, "interval"),
        Output(cctv.CCTV_ROTATE_TICK, "disabled"),
        Input(cctv.CCTV_ROTATE, "value"),
    )
    @logged
    async def set_rotation(seconds):
        return max(int(seconds or 0), 1) * 1000, not seconds

    @app.callback(
        Output(cctv.CCTV_GRID, "children"),
        Output(cctv.CCTV_PAGE, "data"),
        Output(cctv.CCTV_PAGE_LABEL, "children"),
        Input(cctv.CCTV_LAYOUT, "value"),
        Input(cctv.CCTV_GROUP, "value"),
        Input(cctv.CCTV_ROTATE_TICK, "n_intervals"),
        State(cctv.CCTV_PAGE, "data"),
        State(LANG, "data"),
    )
    @logged
    async def show_page(per_page, group_id, _tick, page, lang):
        lang = normal_lang(lang)
        # Only the cameras this viewer may watch (a wall display: no school cameras), whatever
        # group id the request names.
        seen = city_view(city, current_principal(), datetime.now(UTC))
        groups = {g.id: g for g in cctv.camera_groups(seen)}
        group = groups.get(group_id) or groups["semua"]
        per_page = per_page if per_page in cctv.LAYOUTS else 4
        rotated = ctx.triggered_id == cctv.CCTV_ROTATE_TICK
        wanted = (page or 0) + 1 if rotated else 0
        camera_ids, shown, pages = cctv.grid_page(group.camera_ids, per_page, wanted)
        if rotated and pages == 1:
            return no_update, no_update, no_update  # nothing to rotate to
        grid = cctv.cctv_grid(seen, camera_ids, per_page, settings.camera_fps, lang)
        return grid, shown, cctv.page_label(shown, pages, lang)
