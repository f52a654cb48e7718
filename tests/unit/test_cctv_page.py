"""The CCTV wall's layout (/cctv) in both languages."""

from __future__ import annotations

import json

from layouts.cctv import (
    CCTV_GROUP,
    CCTV_LAYOUT,
    CCTV_ROTATE,
    camera_groups,
    cctv_grid,
    cctv_layout,
    page_label,
)
from layouts.ids import LIVE_FEED


def by_id(component, found=None) -> dict:
    found = {} if found is None else found
    if getattr(component, "id", None) is not None:
        found[str(component.id)] = component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            by_id(child, found)
    return found


def test_controls_in_bahasa_by_default(city):
    page = cctv_layout(city, 4.0, 1000)
    ids = by_id(page)
    assert page.lang == "id"
    assert [o["label"] for o in ids[CCTV_LAYOUT].options] == [
        "1 layar",
        "4 layar",
        "9 layar",
        "16 layar",
    ]
    assert ids[CCTV_ROTATE].options[0]["label"] == "Tanpa rotasi"
    assert ids[CCTV_ROTATE].options[2]["label"] == "Rotasi 20 dtk"
    assert ids[CCTV_GROUP].options[0]["label"].startswith("Semua kamera (")
    assert page_label(1, 3) == "Halaman 2/3" and page_label(0, 1) == ""


def test_controls_groups_tiles_and_live_feed_in_english_with_lang_en(city):
    page = cctv_layout(city, 4.0, 1000, "en")
    ids = by_id(page)
    assert page.lang == "en"
    assert [o["label"] for o in ids[CCTV_LAYOUT].options] == [
        "1 screen",
        "4 screens",
        "9 screens",
        "16 screens",
    ]
    assert ids[CCTV_ROTATE].options[0]["label"] == "No rotation"
    assert ids[CCTV_ROTATE].options[2]["label"] == "Rotate every 20 s"
    labels = [o["label"] for o in ids[CCTV_GROUP].options]
    assert labels[0].startswith("All cameras (")
    assert not any(
        label.startswith(("Semua", "Kamera jalan", "Kamera sekolah")) for label in labels
    )
    # The group ids are the same in both languages: kiosk URLs (?group=jalan) name them.
    assert [g.id for g in camera_groups(city, "en")] == [g.id for g in camera_groups(city)]
    feed = ids[LIVE_FEED].to_plotly_json()["props"]
    assert json.loads(feed["data-versions"])["lang"] == "en"  # the badges come in English
    assert page_label(1, 3, "en") == "Page 2/3"

    cameras = tuple(c.id for c in city.config.cameras)
    grid = cctv_grid(city, cameras, 4, 4.0, "en")
    images = [c for c in _walk(grid) if getattr(c, "alt", None) is not None]
    assert images and all(i.alt.startswith("Camera ") for i in images)


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)
