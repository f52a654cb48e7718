"""Bucketed history queries: right numbers, local-midnight days, and plans that use the indexes
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, text

from data.history import make_engine, write_rows
from data.history_queries import (
    KPI_SQL,
    REGION_SQL,
    SENSOR_SQL,
    kpi_series,
    region_series,
    sensor_series,
)
from runner import prepare_database

WIB = ZoneInfo("Asia/Jakarta")
DAY0 = datetime(2026, 11, 1, tzinfo=WIB).timestamp()  # local midnight


@pytest.fixture
def engine(database_url, city):
    engine = make_engine(database_url)
    prepare_database(engine, city)
    sensors = [s.id for s in city.config.sensors]
    rows = [  # every sensor, every 10 minutes, for 10 days; value = hour of the local day
        (sensor, "", int((DAY0 + step * 600) * 1000), float((step * 600 // 3600) % 24))
        for sensor in sensors
        for step in range(10 * 144)
    ]
    kpis = [
        {
            "kpi_id": "kehadiran_asn",
            "region_kode": "",
            "ts_ms": int((DAY0 + d * 86400) * 1000),
            "value": 90.0 + d,
            "period": None,
            "source": "operator",
            "entered_by": "t",
        }
        for d in range(10)
    ]
    write_rows(engine, {"readings": rows, "kpi_values": kpis})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()


def test_sensor_series_by_hour_and_by_local_day(engine):
    hours = sensor_series(engine, "aq-cambai", DAY0, DAY0 + 86400, "hour")
    assert len(hours) == 24
    assert [b.count for b in hours] == [6] * 24
    assert [b.mean for b in hours] == [float(h) for h in range(24)]
    days = sensor_series(engine, "aq-cambai", DAY0, DAY0 + 10 * 86400, "day")
    assert len(days) == 10  # buckets start at WIB midnight, not UTC midnight
    assert days[0].start_ms == int(DAY0 * 1000)
    assert days[0].low == 0.0 and days[0].high == 23.0 and days[0].count == 144


def test_region_series_aggregates_its_sensors(engine, city):
    kecamatan = "16.74.05"  # Prabumulih Utara: two air-quality sensors? count them
    expected = sum(
        1
        for s in city.config.sensors
        if s.kind == "air_quality" and s.region.startswith(kecamatan + ".")
    )
    day = region_series(engine, kecamatan, "air_quality", DAY0, DAY0 + 86400, "day")
    assert day[0].count == expected * 144
    city_wide = region_series(engine, "16.74", "air_quality", DAY0, DAY0 + 86400, "day")
    assert city_wide[0].count == 5 * 144


def test_kpi_series(engine):
    series = kpi_series(engine, "kehadiran_asn", DAY0, DAY0 + 5 * 86400, "day")
    assert [b.mean for b in series] == [90.0, 91.0, 92.0, 93.0, 94.0]


def explain(engine, sql: str, params: dict) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), params).all()
            return "\n".join(str(r[-1]) for r in rows)
        rows = conn.execute(text("EXPLAIN " + sql), params).all()
        return "\n".join(r[0] for r in rows)


PARAMS = {
    "start": int(DAY0 * 1000),
    "end": int((DAY0 + 86400) * 1000),
    "size": 3_600_000,
    "offset": 25_200_000,
}


def explain_region(engine, sensors: list[str]) -> str:
    statement = text(
        ("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ") + REGION_SQL
    ).bindparams(bindparam("sensors", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(statement, {**PARAMS, "sensors": sensors}).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_query_plans_use_the_indexes(engine):
    sensor_plan = explain(engine, SENSOR_SQL, {**PARAMS, "sensor": "aq-cambai", "quantity": ""})
    region_plan = explain_region(engine, ["aq-pasar-1", "aq-cambai"])
    kpi_plan = explain(engine, KPI_SQL, {**PARAMS, "kpi": "kehadiran_asn", "region": ""})
    if engine.dialect.name == "sqlite":
        assert "SEARCH readings USING INDEX sqlite_autoindex_readings_1" in sensor_plan
        assert "SEARCH readings USING INDEX sqlite_autoindex_readings_1" in region_plan
        assert "SEARCH kpi_values USING INDEX sqlite_autoindex_kpi_values_1" in kpi_plan
        assert "SCAN readings" not in sensor_plan + region_plan
    else:
        assert "readings_pkey" in sensor_plan, sensor_plan
        assert "readings_pkey" in region_plan, region_plan
        assert "Seq Scan on readings" not in sensor_plan + region_plan
