"""Every city folder under data/cities/ is complete and consistent with the official code list.

A city is data: these checks run over whatever folders exist, so a new city is tested as soon as
its folder is added (together with its row in `EXPECTED`, taken from the Kemendagri code list).
Everything is read from the repository; nothing here needs the shared data folder.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest

from data.city import City, Dimension, load_city
from settings import PROJECT_ROOT

CITIES_DIR = PROJECT_ROOT / "data" / "cities"
CITY_FOLDERS = sorted(p for p in CITIES_DIR.iterdir() if p.is_dir() and p.name[0] not in "._")

# slug: (kode, kecamatan in the code list, desa/kelurahan in the code list, of them with a polygon).
# Counts from kode_wilayah_5_areas.csv (cahyadsn/wilayah, Kepmendagri 300.2.2-2138/2025); the
# source has no polygon for 8 newer villages in Prabumulih and 8 in Banyuasin.
EXPECTED: dict[str, tuple[str, int, int, int]] = {
    "prabumulih": ("16.74", 6, 45, 37),
    "ogan-komering-ulu": ("16.01", 13, 157, 157),
    "banyuasin": ("16.07", 21, 313, 305),
    "probolinggo": ("35.74", 5, 29, 29),
    "purbalingga": ("33.03", 18, 239, 239),
}

LICENCE = "LICENSE-cahyadsn-wilayah_boundaries.txt"

pytestmark = pytest.mark.parametrize("folder", CITY_FOLDERS, ids=[p.name for p in CITY_FOLDERS])


@cache
def _city(folder: Path) -> City:
    return load_city(folder)


@cache
def _desa(folder: Path) -> dict[str, Any]:
    name = _city(folder).config.boundaries.desa_kelurahan
    assert name, f"{folder.name}: city.yaml names no desa_kelurahan boundary file"
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _points(node: Any) -> list[tuple[float, float]]:
    if isinstance(node[0], (int, float)):
        return [(float(node[0]), float(node[1]))]
    return [pt for child in node for pt in _points(child)]


def _bbox(collection: dict[str, Any]) -> tuple[float, float, float, float]:
    """(south, west, north, east) of every coordinate in a FeatureCollection."""
    pts = [pt for f in collection["features"] for pt in _points(f["geometry"]["coordinates"])]
    lngs = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    return min(lats), min(lngs), max(lats), max(lngs)


def _in_ring(lng: float, lat: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lng < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _in_geometry(lng: float, lat: float, geometry: dict[str, Any]) -> bool:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return any(
        _in_ring(lng, lat, polygon[0]) and not any(_in_ring(lng, lat, h) for h in polygon[1:])
        for polygon in polygons
    )


def test_city_is_in_the_expected_table(folder):
    assert folder.name in EXPECTED, (
        f"add {folder.name!r} to EXPECTED with its counts from the official code list"
    )
    assert re.fullmatch(r"[a-z0-9_-]+", folder.name), "slug must be usable as KOMANDO_CITY"


def test_loads_and_kecamatan_match_code_list(folder):
    kode, n_kecamatan, _, _ = EXPECTED[folder.name]
    city = _city(folder)
    assert city.config.kode == kode
    features = city.kecamatan_geojson["features"]
    assert len(features) == n_kecamatan
    codes = [f["properties"]["kode"] for f in features]
    assert len(set(codes)) == len(codes), "a kecamatan appears twice"
    for code in codes:
        assert re.fullmatch(re.escape(kode) + r"\.\d{2}", code), code
    for feature in features:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert feature["properties"]["nama"]


def test_desa_layer_matches_code_list_and_kecamatan(folder):
    kode, _, _, n_with_polygon = EXPECTED[folder.name]
    kecamatan = {f["properties"]["kode"] for f in _city(folder).kecamatan_geojson["features"]}
    features = _desa(folder)["features"]
    assert len(features) == n_with_polygon
    codes = [f["properties"]["kode"] for f in features]
    assert len(set(codes)) == len(codes), "a village appears twice"
    for code in codes:
        assert re.fullmatch(re.escape(kode) + r"\.\d{2}\.\d{4}", code), code
    assert {c[:8] for c in codes} == kecamatan, "every kecamatan has villages, none is unknown"


def test_boundary_folder_has_sources_and_licence(folder):
    boundaries = folder / "boundaries"
    assert (boundaries / "SOURCES.md").is_file()
    assert (boundaries / LICENCE).is_file()
    assert "MIT" in (boundaries / LICENCE).read_text(encoding="utf-8")
    assert EXPECTED[folder.name][0] in (boundaries / "SOURCES.md").read_text(encoding="utf-8")


def test_map_center_is_inside_the_area(folder):
    config = _city(folder).config
    south, west, north, east = _bbox(_city(folder).kecamatan_geojson)
    lat, lng = config.center
    assert south <= lat <= north and west <= lng <= east
    assert config.timezone == "Asia/Jakarta" and config.timezone_label == "WIB"


def test_placements_are_real_villages_of_the_city(folder):
    config = _city(folder).config
    villages = {f["properties"]["kode"]: f for f in _desa(folder)["features"]}
    south, west, north, east = _bbox(_city(folder).kecamatan_geojson)
    items = [*config.sensors, *config.cameras, *config.schools]
    assert config.sensors and config.cameras and config.schools
    for item in items:
        assert item.region in villages, f"{item.id}: {item.region} is no village of {config.kode}"
        assert south <= item.lat <= north and west <= item.lng <= east, item.id
        assert _in_geometry(item.lng, item.lat, villages[item.region]["geometry"]), (
            f"{item.id}: ({item.lat}, {item.lng}) is outside the polygon of {item.region} "
            f"{villages[item.region]['properties']['nama']}"
        )


def test_kpis_cover_every_dimension_and_have_sensors(folder):
    config = _city(folder).config
    assert {k.dimension for k in config.kpis} == set(get_args(Dimension))
    kinds = {s.kind for s in config.sensors}
    for kpi in config.kpis:
        if kpi.source.type == "sensors":
            assert kpi.source.kind in kinds, f"{kpi.id}: no {kpi.source.kind} sensor"
    assert {c.kind for c in config.cameras} == {"school", "street"}
