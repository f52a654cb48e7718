"""Boundary geometry for the map's drill-down: a kecamatan's villages and where to zoom."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from data.city import City


@cache
def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def geojson_bounds(features: list[dict[str, Any]]) -> list[list[float]]:
    """[[south, west], [north, east]] of every coordinate of `features`."""
    lngs: list[float] = []
    lats: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, list) and node and isinstance(node[0], (int, float)):
            lngs.append(float(node[0]))
            lats.append(float(node[1]))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for feature in features:
        walk(feature["geometry"]["coordinates"])
    return [[min(lats), min(lngs)], [max(lats), max(lngs)]]


def village_features(city: City, kecamatan_kode: str) -> dict[str, Any]:
    """The desa/kelurahan polygons of one kecamatan (none when the city ships no desa file)."""
    name = city.config.boundaries.desa_kelurahan
    if not name:
        return {"type": "FeatureCollection", "features": []}
    everything = _read(city.folder / name)
    return {
        "type": "FeatureCollection",
        "features": [
            f
            for f in everything["features"]
            if (f["properties"].get("kode_kec") or f["properties"]["kode"][:8]) == kecamatan_kode
        ],
    }


def district(city: City, kode: str) -> dict[str, Any] | None:
    return next(
        (f for f in city.kecamatan_geojson["features"] if f["properties"]["kode"] == kode), None
    )
