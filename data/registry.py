"""The city's configuration mirrored into SQL (regions, OPDs, schools, sensors, cameras), so
history can be joined to places and owners. The YAML stays the source of truth: each start
upserts what it says. Rows the YAML no longer lists are kept, since history refers to them."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data.city import City
from data.db.models import Camera, Opd, Region, School, Sensor

log = logging.getLogger(__name__)


def region_rows(city: City) -> list[dict]:
    slug, config = city.slug, city.config
    rows = [
        {
            "kode": config.kode,
            "name": config.name,
            "level": "kabkota",
            "parent_kode": None,
            "city": slug,
        }
    ]
    for feature in city.kecamatan_geojson["features"]:
        props = feature["properties"]
        rows.append(
            {
                "kode": props["kode"],
                "name": props["nama"],
                "level": "kecamatan",
                "parent_kode": config.kode,
                "city": slug,
            }
        )
    desa_file = config.boundaries.desa_kelurahan
    if desa_file:
        desa = json.loads((city.folder / desa_file).read_text(encoding="utf-8"))
        for feature in desa["features"]:
            props = feature["properties"]
            rows.append(
                {
                    "kode": props["kode"],
                    "name": props["nama"],
                    "level": "desa_kelurahan",
                    "parent_kode": props.get("kode_kec"),
                    "city": slug,
                }
            )
    return rows


def _upsert(engine: Engine, table: Table, rows: list[dict]) -> None:
    if not rows:
        return
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={c: statement.excluded[c] for c in rows[0] if c not in keys},
    )
    with engine.begin() as conn:
        conn.execute(statement, rows)


def sync_city(engine: Engine, city: City) -> None:
    slug, config = city.slug, city.config
    _upsert(engine, Region.__table__, region_rows(city))
    _upsert(
        engine,
        Opd.__table__,
        [
            {"id": o.id, "city": slug, "name": o.name, "short_name": o.short_name}
            for o in config.opds
        ],
    )
    _upsert(
        engine,
        School.__table__,
        [
            {
                "id": s.id,
                "city": slug,
                "name": s.name,
                "region_kode": s.region,
                "lat": s.lat,
                "lng": s.lng,
            }
            for s in config.schools
        ],
    )
    _upsert(
        engine,
        Sensor.__table__,
        [
            {
                "id": s.id,
                "city": slug,
                "kind": s.kind,
                "name": s.name,
                "region_kode": s.region,
                "lat": s.lat,
                "lng": s.lng,
                "unit": s.unit,
            }
            for s in config.sensors
        ],
    )
    _upsert(
        engine,
        Camera.__table__,
        [
            {
                "id": c.id,
                "city": slug,
                "name": c.name,
                "kind": c.kind,
                "region_kode": c.region,
                "school_id": c.school,
                "lat": c.lat,
                "lng": c.lng,
            }
            for c in config.cameras
        ],
    )
    log.info(
        "city %s synced to SQL: %d sensors, %d cameras",
        slug,
        len(config.sensors),
        len(config.cameras),
    )
