"""Trends on the wall: each KPI's value one period ago, from SQL by the ingest role, into Redis,
and onto the tiles."""

from __future__ import annotations

from sqlalchemy import insert

from data.db.models import KpiValue
from data.history import BatchWriter
from data.ingest import IngestWorker
from data.kpi_baseline import previous_values

NOW = 1_795_000_000.0
DAY = 86_400


def rows(kpi_id: str, *points: tuple[float, float], region: str = "") -> list[dict]:
    return [
        {"kpi_id": kpi_id, "region_kode": region, "ts_ms": int(ts * 1000), "value": value,
         "source": "computed"}
        for ts, value in points
    ]  # fmt: skip


def test_the_value_one_period_ago_follows_each_kpis_cadence(engine, city):
    table = KpiValue.__table__
    with engine.begin() as conn:
        conn.execute(
            insert(table),
            # Real-time: the newest value at or before 24 h ago.
            rows("pm25_rata_rata", (NOW - 2 * DAY, 40.0), (NOW - DAY - 60, 31.0), (NOW - 60, 20.0))
            # Weekly: a week ago, not yesterday.
            + rows("harga_beras_medium", (NOW - 8 * DAY, 13000.0), (NOW - DAY, 13300.0))
            # A kecamatan's value is not the city's.
            + rows("okupansi_parkir", (NOW - 2 * DAY, 55.0), region="16.74.05"),
        )
    previous = previous_values(engine, city, NOW)
    assert previous["pm25_rata_rata"] == 31.0
    assert previous["harga_beras_medium"] == 13000.0
    assert "okupansi_parkir" not in previous
    assert "realisasi_anggaran" not in previous  # no history: no trend rather than a wrong one


def test_the_ingest_role_keeps_it_in_redis_for_the_wall(engine, city, live_store):
    with engine.begin() as conn:
        conn.execute(insert(KpiValue.__table__), rows("pm25_rata_rata", (NOW - DAY - 5, 33.0)))
    worker = IngestWorker(city, live_store, BatchWriter(engine), interval_s=1)
    worker.tick(NOW)
    raw = live_store.client.hgetall(live_store.keys.kpis_previous)
    assert float(raw[b"pm25_rata_rata"]) == 33.0
