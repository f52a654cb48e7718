"""The city's region tree (kota → kecamatan → desa/kelurahan) from its boundary files.

Kode wilayah nest by prefix: "16.74" (kota), "16.74.05" (kecamatan), "16.74.05.1003" (desa).
In `kpi_values` the city itself is stored as region_kode '' (see data/db/models.py); `db_kode`
maps between the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from data.city import City

Level = Literal["kota", "kecamatan", "desa"]


@dataclass(frozen=True)
class Region:
    kode: str
    name: str
    level: Level
    parent: str | None  # kode of the parent region; None for the city


@dataclass(frozen=True)
class RegionTree:
    city: Region
    regions: dict[str, Region]  # every region by kode, the city included

    def get(self, kode: str | None) -> Region | None:
        if not kode:
            return self.city
        return self.regions.get(kode)

    def children(self, kode: str) -> list[Region]:
        """Kecamatan of the city or desa of a kecamatan, by kode; none below a desa."""
        return sorted((r for r in self.regions.values() if r.parent == kode), key=lambda r: r.kode)

    def path(self, kode: str) -> list[Region]:
        """City first, `kode` last: the breadcrumb."""
        chain: list[Region] = []
        region = self.regions.get(kode)
        while region is not None:
            chain.append(region)
            region = self.regions.get(region.parent) if region.parent else None
        return list(reversed(chain))

    @property
    def kecamatan(self) -> list[Region]:
        return self.children(self.city.kode)


def db_kode(city_kode: str, kode: str) -> str:
    """The region_kode stored in kpi_values: '' for the city itself."""
    return "" if kode in ("", city_kode) else kode


@cache
def _desa_features(path: Path) -> tuple[tuple[str, str, str], ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        (f["properties"]["kode"], f["properties"]["nama"], f["properties"].get("kode_kec") or "")
        for f in data["features"]
    )


def region_tree(city: City) -> RegionTree:
    """Built from the boundary files (read once per process); desa without a polygon in the
    source are absent, like on the map."""
    config = city.config
    top = Region(config.kode, config.name, "kota", None)
    regions: dict[str, Region] = {top.kode: top}
    for feature in city.kecamatan_geojson["features"]:
        props = feature["properties"]
        regions[props["kode"]] = Region(props["kode"], props["nama"], "kecamatan", config.kode)
    if config.boundaries.desa_kelurahan:
        for kode, name, parent in _desa_features(city.folder / config.boundaries.desa_kelurahan):
            regions[kode] = Region(kode, name, "desa", parent or kode[:8])
    return RegionTree(top, regions)


def sensor_regions(region: str) -> tuple[str, ...]:
    """The kecamatan and (when the code names one) the desa a sensor's region code is in."""
    parts = region.split(".")
    kecamatan = ".".join(parts[:3])
    return (kecamatan, region) if len(parts) == 4 else (kecamatan,)
