"""The CCTV wall (`/cctv`): 1, 4, 9 or 16 tiles, camera groups, rotation through more cameras
than tiles, click a tile to enlarge. Pure functions; callbacks/cctv.py picks the page."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dash import dcc, html

from data.city import City
from layouts import ids
from layouts.camera_tiles import camera_tile
from layouts.live_feed import live_feed_stores

LAYOUTS = (1, 4, 9, 16)
ROTATIONS = (0, 10, 20, 30, 60)

CCTV_LAYOUT = "cctv-layout"
CCTV_GROUP = "cctv-group"
CCTV_ROTATE = "cctv-rotate"
CCTV_ROTATE_TICK = "cctv-rotate-tick"
CCTV_PAGE = "cctv-page"
CCTV_PAGE_LABEL = "cctv-page-label"
CCTV_GRID = "cctv-grid-holder"


@dataclass(frozen=True)
class CameraGroup:
    id: str
    label: str
    camera_ids: tuple[str, ...]


def camera_groups(city: City) -> list[CameraGroup]:
    """All cameras; street cameras; school cameras; each school's; each kecamatan's."""
    cameras = city.config.cameras
    groups = [
        CameraGroup("semua", f"Semua kamera ({len(cameras)})", tuple(c.id for c in cameras)),
    ]
    street = tuple(c.id for c in cameras if c.kind == "street")
    school = tuple(c.id for c in cameras if c.kind == "school")
    if street:
        groups.append(CameraGroup("jalan", f"Kamera jalan ({len(street)})", street))
    if school:
        groups.append(CameraGroup("sekolah", f"Kamera sekolah ({len(school)})", school))
    for group in city.config.camera_groups:  # e.g. road corridors, from the city's config
        groups.append(CameraGroup(f"grup:{group.id}", group.name, tuple(group.cameras)))
    for item in city.config.schools:
        members = tuple(c.id for c in cameras if c.school == item.id)
        if members:
            groups.append(CameraGroup(f"sekolah:{item.id}", f"Sekolah: {item.name}", members))
    for feature in city.kecamatan_geojson["features"]:
        kode, name = feature["properties"]["kode"], feature["properties"]["nama"]
        members = tuple(c.id for c in cameras if c.region.startswith(kode + "."))
        if members:
            groups.append(CameraGroup(f"kecamatan:{kode}", f"Kecamatan {name}", members))
    return groups


def grid_page(
    camera_ids: tuple[str, ...], per_page: int, page: int
) -> tuple[tuple[str, ...], int, int]:
    """(cameras on the page, the page shown, number of pages); `page` wraps around."""
    pages = max(1, math.ceil(len(camera_ids) / per_page))
    shown = page % pages
    return camera_ids[shown * per_page : (shown + 1) * per_page], shown, pages


def cctv_grid(city: City, camera_ids: tuple[str, ...], per_page: int, fps: float) -> html.Div:
    cameras = {c.id: c for c in city.config.cameras}
    return html.Div(
        [camera_tile(cameras[c], fps) for c in camera_ids if c in cameras],
        className=f"camera-grid cctv-grid tiles-{per_page}",
        **{"data-stream-cameras": ",".join(camera_ids), "data-fps": str(fps)},
    )


def cctv_layout(city: City, fps: float, refresh_ms: int) -> html.Div:
    groups = camera_groups(city)
    return html.Div(
        [
            html.Header(
                [
                    html.Div(
                        [
                            html.Div("KOMANDO", className="brand"),
                            html.Div(
                                [
                                    html.Div("CCTV", className="brand-sub"),
                                    html.Div(city.config.name, className="city-name"),
                                ]
                            ),
                        ],
                        className="header-left",
                    ),
                    html.Div(
                        [
                            dcc.RadioItems(
                                id=CCTV_LAYOUT,
                                options=[{"label": f"{n} layar", "value": n} for n in LAYOUTS],
                                value=4,
                                inline=True,
                                className="cctv-layouts",
                            ),
                            dcc.Dropdown(
                                id=CCTV_GROUP,
                                options=[{"label": g.label, "value": g.id} for g in groups],
                                value="semua",
                                clearable=False,
                                className="cctv-group",
                            ),
                            dcc.Dropdown(
                                id=CCTV_ROTATE,
                                options=[
                                    {
                                        "label": "Tanpa rotasi" if s == 0 else f"Rotasi {s} dtk",
                                        "value": s,
                                    }
                                    for s in ROTATIONS
                                ],
                                value=0,
                                clearable=False,
                                className="cctv-rotate",
                            ),
                            html.Span("", id=CCTV_PAGE_LABEL, className="cctv-page-label"),
                        ],
                        className="cctv-controls",
                    ),
                ],
                className="wall-header",
            ),
            html.Main(html.Div(id=CCTV_GRID, className="cctv-holder"), className="cctv-main"),
            dcc.Store(id=CCTV_PAGE, data=0),
            dcc.Interval(id=CCTV_ROTATE_TICK, interval=20_000, disabled=True),
            dcc.Interval(id=ids.WALL_TICK, interval=refresh_ms),
            *live_feed_stores(("cameras",)),
        ],
        className="wall cctv-wall",
        lang="id",
    )
