"""The CCTV wall (`/cctv`): 1, 4, 9 or 16 tiles, camera groups, rotation through more cameras
than tiles, click a tile to enlarge. Pure functions; callbacks/cctv.py picks the page."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dash import dcc, html

from data.city import City
from layouts.camera_tiles import camera_tile
from layouts.i18n import Text
from layouts.live_feed import live_feed

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


ALL_CAMERAS = Text("Semua kamera", "All cameras")
STREET_CAMERAS = Text("Kamera jalan", "Street cameras")
SCHOOL_CAMERAS = Text("Kamera sekolah", "School cameras")
SCHOOL = Text("Sekolah", "School")
NO_ROTATION = Text("Tanpa rotasi", "No rotation")
PAGE = Text("Halaman", "Page")


def layout_label(tiles: int, lang: str = "id") -> str:
    """'4 layar' / '4 screens' (the English singular for one)."""
    if lang == "en":
        return f"{tiles} screen" if tiles == 1 else f"{tiles} screens"
    return f"{tiles} layar"


def rotation_label(seconds: int, lang: str = "id") -> str:
    if seconds == 0:
        return NO_ROTATION(lang)
    return Text(f"Rotasi {seconds} dtk", f"Rotate every {seconds} s")(lang)


def page_label(shown: int, pages: int, lang: str = "id") -> str:
    """'Halaman 2/3' / 'Page 2/3'; nothing when everything fits on one page."""
    return f"{PAGE(lang)} {shown + 1}/{pages}" if pages > 1 else ""


def camera_groups(city: City, lang: str = "id") -> list[CameraGroup]:
    """All cameras; street cameras; school cameras; each school's; each kecamatan's. Ids are
    the same in both languages (kiosk URLs name them); labels follow `lang`."""
    cameras = city.config.cameras
    groups = [
        CameraGroup("semua", f"{ALL_CAMERAS(lang)} ({len(cameras)})", tuple(c.id for c in cameras)),
    ]
    street = tuple(c.id for c in cameras if c.kind == "street")
    school = tuple(c.id for c in cameras if c.kind == "school")
    if street:
        groups.append(CameraGroup("jalan", f"{STREET_CAMERAS(lang)} ({len(street)})", street))
    if school:
        groups.append(CameraGroup("sekolah", f"{SCHOOL_CAMERAS(lang)} ({len(school)})", school))
    for group in city.config.camera_groups:  # e.g. road corridors, from the city's config
        groups.append(CameraGroup(f"grup:{group.id}", group.name, tuple(group.cameras)))
    for item in city.config.schools:
        members = tuple(c.id for c in cameras if c.school == item.id)
        if members:
            groups.append(
                CameraGroup(f"sekolah:{item.id}", f"{SCHOOL(lang)}: {item.name}", members)
            )
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


def cctv_grid(
    city: City, camera_ids: tuple[str, ...], per_page: int, fps: float, lang: str = "id"
) -> html.Div:
    cameras = {c.id: c for c in city.config.cameras}
    return html.Div(
        [camera_tile(cameras[c], fps, lang) for c in camera_ids if c in cameras],
        className=f"camera-grid cctv-grid tiles-{per_page}",
        **{"data-stream-cameras": ",".join(camera_ids), "data-fps": str(fps)},
    )


def cctv_layout(city: City, fps: float, refresh_ms: int, lang: str = "id") -> html.Div:
    groups = camera_groups(city, lang)
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
                                options=[
                                    {"label": layout_label(n, lang), "value": n} for n in LAYOUTS
                                ],
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
                                    {"label": rotation_label(s, lang), "value": s}
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
            live_feed(("cameras",), refresh_ms, lang),
        ],
        className="wall cctv-wall",
        lang=lang,
    )
