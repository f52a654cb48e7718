"""History as the KPI views need it: one sensor, one region or one KPI over a time range,
bucketed by hour, day or week (in the city's time zone; weeks start on Monday), computed in SQL
over indexed ranges so that a year of raw readings never leaves the database.

Indexes used (see tests/integration/test_history_queries.py for the plans):
- readings: primary key (sensor_id, quantity, ts_ms) -> range scan per sensor;
- sensors: region_kode index -> the sensors of a region, then the above per sensor;
- kpi_values: primary key (kpi_id, region_kode, ts_ms) -> range scan per KPI and region, also
  for several regions at once (`kpi_region_means`) and for the newest value (`latest_kpi_points`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, text

from data.categories import traffic_load_percent
from data.city import City
from data.kpis import AGGREGATES

BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 604_800_000}
# Integer division puts week boundaries on Thursdays (1970-01-01 was one); shifting by four days
# puts them on Mondays, as ISO weeks and Indonesian calendars have them.
BUCKET_SHIFT_MS = {"week": -4 * 86_400_000}


@dataclass(frozen=True)
class Bucket:
    start_ms: int
    mean: float
    low: float
    high: float
    count: int


def zone_offset_ms(zone: str, at: float) -> int:
    """Indonesia's zones (WIB, WITA, WIT) have no daylight saving: one offset serves a range."""
    offset = datetime.fromtimestamp(at, ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


def _bucket_expression(column: str) -> str:
    # Integer division on integers in both SQLite and PostgreSQL; shifting by the zone's offset
    # makes day buckets start at local midnight.
    return f"((({column} + :offset) / :size) * :size - :offset)"


SENSOR_SQL = f"""
SELECT {_bucket_expression("ts_ms")} AS bucket, AVG(value), MIN(value), MAX(value), COUNT(*)
FROM readings
WHERE sensor_id = :sensor AND quantity = :quantity AND ts_ms >= :start AND ts_ms < :end
GROUP BY bucket ORDER BY bucket
"""

REGION_SENSORS_SQL = "SELECT id FROM sensors WHERE region_kode LIKE :prefix AND kind = :kind"

# The region's sensors are looked up first and named in the query: with a join, PostgreSQL's
# planner chose to scan a month of every sensor's readings (209 ms on bench/history) where
# one primary-key range per sensor takes a few milliseconds.
REGION_SQL = f"""
SELECT {_bucket_expression("ts_ms")} AS bucket, AVG(value), MIN(value), MAX(value), COUNT(*)
FROM readings
WHERE sensor_id IN :sensors AND quantity = '' AND ts_ms >= :start AND ts_ms < :end
GROUP BY bucket ORDER BY bucket
"""

KPI_SQL = f"""
SELECT {_bucket_expression("ts_ms")} AS bucket, AVG(value), MIN(value), MAX(value), COUNT(*)
FROM kpi_values
WHERE kpi_id = :kpi AND region_kode = :region AND ts_ms >= :start AND ts_ms < :end
GROUP BY bucket ORDER BY bucket
"""


def _run(engine: Engine, sql: str, params: dict) -> list[Bucket]:
    statement = text(sql)
    if "sensors" in params:
        statement = statement.bindparams(bindparam("sensors", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(statement, params).all()
    return [Bucket(int(r[0]), float(r[1]), float(r[2]), float(r[3]), int(r[4])) for r in rows]


def _params(start: float, end: float, bucket: str, zone: str) -> dict:
    if bucket not in BUCKET_MS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKET_MS)}")
    return {
        "start": int(start * 1000),
        "end": int(end * 1000),
        "size": BUCKET_MS[bucket],
        "offset": zone_offset_ms(zone, start) + BUCKET_SHIFT_MS.get(bucket, 0),
    }


def sensor_series(
    engine: Engine,
    sensor_id: str,
    start: float,
    end: float,
    bucket: str,
    zone: str = "Asia/Jakarta",
    quantity: str = "",
) -> list[Bucket]:
    return _run(
        engine,
        SENSOR_SQL,
        {**_params(start, end, bucket, zone), "sensor": sensor_id, "quantity": quantity},
    )


def region_series(
    engine: Engine,
    region_kode: str,
    kind: str,
    start: float,
    end: float,
    bucket: str,
    zone: str = "Asia/Jakarta",
) -> list[Bucket]:
    """All sensors of `kind` in a region (a kecamatan or village code, or the city's)."""
    prefix = region_kode.replace("%", "").replace("_", "") + "%"
    with engine.connect() as conn:
        sensors = (
            conn.execute(text(REGION_SENSORS_SQL), {"prefix": prefix, "kind": kind}).scalars().all()
        )
    if not sensors:
        return []
    return _run(engine, REGION_SQL, {**_params(start, end, bucket, zone), "sensors": sensors})


def kpi_series(
    engine: Engine,
    kpi_id: str,
    start: float,
    end: float,
    bucket: str,
    zone: str = "Asia/Jakarta",
    region_kode: str = "",
) -> list[Bucket]:
    return _run(
        engine, KPI_SQL, {**_params(start, end, bucket, zone), "kpi": kpi_id, "region": region_kode}
    )


def kpi_history(
    engine: Engine, city: City, kpi_id: str, start: float, end: float, bucket: str
) -> list[tuple[int, float]]:
    """A KPI's value per bucket, the way its live value is made: operator and city-system KPIs
    from their recorded values; sensor KPIs by aggregating each sensor's bucket mean across the
    city's sensors of that kind (traffic as a share of each road's capacity)."""
    kpi = next((k for k in city.config.kpis if k.id == kpi_id), None)
    if kpi is None:
        raise ValueError(f"unknown KPI {kpi_id!r}")
    zone = city.config.timezone
    if kpi.source.type != "sensors":
        return [(b.start_ms, b.mean) for b in kpi_series(engine, kpi.id, start, end, bucket, zone)]
    per_bucket: dict[int, list[float]] = {}
    for sensor in city.config.sensors:
        if sensor.kind != kpi.source.kind:
            continue
        for item in sensor_series(engine, sensor.id, start, end, bucket, zone):
            value = (
                traffic_load_percent(sensor, item.mean)
                if sensor.kind == "traffic_flow"
                else item.mean
            )
            per_bucket.setdefault(item.start_ms, []).append(value)
    assert kpi.source.aggregate is not None
    combine = AGGREGATES[kpi.source.aggregate]
    return [(start_ms, combine(values)) for start_ms, values in sorted(per_bucket.items())]


REGION_MEANS_SQL = """
SELECT region_kode, AVG(value), COUNT(*)
FROM kpi_values
WHERE kpi_id = :kpi AND region_kode IN :regions AND ts_ms >= :start AND ts_ms < :end
GROUP BY region_kode
"""

LATEST_SQL = """
SELECT ts_ms, value FROM kpi_values
WHERE kpi_id = :kpi AND region_kode = :region AND ts_ms < :before
ORDER BY ts_ms DESC LIMIT 1
"""


def kpi_region_means(
    engine: Engine, kpi_id: str, region_kodes: list[str], start: float, end: float
) -> dict[str, tuple[float, int]]:
    """One KPI's mean and count per region over [start, end): the comparison of districts.
    One statement; each region is a range of the primary key."""
    if not region_kodes:
        return {}
    statement = text(REGION_MEANS_SQL).bindparams(bindparam("regions", expanding=True))
    params = {
        "kpi": kpi_id,
        "regions": list(region_kodes),
        "start": int(start * 1000),
        "end": int(end * 1000),
    }
    with engine.connect() as conn:
        rows = conn.execute(statement, params).all()
    return {r[0]: (float(r[1]), int(r[2])) for r in rows}


def latest_kpi_points(
    engine: Engine, kpi_ids: list[str], region_kode: str = "", before: float | None = None
) -> dict[str, tuple[float, float]]:
    """The newest recorded value of each KPI in a region: {kpi_id: (value, ts)}; one index
    seek per KPI (the age of a KPI's data, and the live value of operator KPIs per region)."""
    before_ms = int((before if before is not None else 4_102_444_800) * 1000)
    found: dict[str, tuple[float, float]] = {}
    with engine.connect() as conn:
        for kpi_id in kpi_ids:
            row = conn.execute(
                text(LATEST_SQL), {"kpi": kpi_id, "region": region_kode, "before": before_ms}
            ).first()
            if row is not None:
                found[kpi_id] = (float(row[1]), row[0] / 1000)
    return found
