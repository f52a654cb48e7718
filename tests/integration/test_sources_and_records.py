"""CSV import, operator entries, the city registry and database outages, on real databases."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from data.db.models import AuditEntry, Region, Sensor
from data.history import (
    BatchWriter,
    count_rows,
    dead_letters,
    kpi_values,
    make_engine,
    readings,
)
from data.history_queries import kpi_history
from data.operator_entries import parse_csv, record_entries, validate_entry
from data.pipeline import IngestPipeline
from data.sources.csv_import import CsvMapping, import_csv
from runner import prepare_database
from settings import PROJECT_ROOT

SHARED_AIR = (
    PROJECT_ROOT.parent
    / "shared"
    / "data"
    / "timeseries"
    / "jakarta_pm25_sensors_30min_2025-04-10_2025-05-10.csv"
)
WIB = ZoneInfo("Asia/Jakarta")


def test_city_registry_is_mirrored_into_sql(engine, city):
    with engine.connect() as conn:
        regions = {r.kode: r for r in conn.execute(select(Region))}
        sensors = conn.execute(select(Sensor.id)).scalars().all()
    assert regions["16.74"].level == "kabkota"
    assert sum(r.level == "kecamatan" for r in regions.values()) == 6
    assert regions["16.74.05.1001"].parent_kode == "16.74.05"
    assert sorted(sensors) == sorted(s.id for s in city.config.sensors)
    prepare_database(engine, city)  # idempotent on every start
    with engine.connect() as conn:
        assert len(conn.execute(select(Sensor.id)).all()) == len(city.config.sensors)


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("sensor_id,timestamp_utc,pm25\n" + "\n".join(rows) + "\n")
    return path


def test_csv_import_keeps_good_rows_and_explains_bad_ones(engine, city, live_store, tmp_path):
    path = write_csv(
        tmp_path / "air.csv",
        [
            "ST1,2025-04-10T12:00:00Z,54",
            "ST1,2025-04-10T12:30:00Z,55",
            "ST1,2025-04-10T13:00:00Z,n/a",
            "ST2,2025-04-10T12:00:00Z,20",
            "XX9,2025-04-10T12:00:00Z,20",
            "ST1,2025-04-10 13:30,56",
        ],
    )
    seen = []
    mapping = CsvMapping(
        "sensor_id", "timestamp_utc", "pm25", sensor_map={"ST1": "aq-cambai", "ST2": "aq-majasari"}
    )
    report = import_csv(
        path, mapping, IngestPipeline(city, live_store, None, engine), progress=seen.append
    )
    assert (report.rows, report.accepted, report.rejected) == (6, 3, 3)
    assert seen and seen[-1] == path.stat().st_size
    assert any("value: must be a number" in r for r in report.first_reasons)
    assert any("no time zone" in r for r in report.first_reasons)
    assert count_rows(engine, readings) == 3
    assert count_rows(engine, dead_letters) == 3


def test_real_jakarta_air_quality_series_imports(engine, city, live_store):
    if not SHARED_AIR.exists():
        pytest.skip(f"the shared data folder is not beside this checkout ({SHARED_AIR})")
    mapping = CsvMapping(
        "sensor_id",
        "timestamp_utc",
        "pm25",
        sensor_map={"UDR07D3": "aq-pasar-1", "UDR1319": "aq-cambai"},
        only_mapped=True,
    )
    report = import_csv(SHARED_AIR, mapping, IngestPipeline(city, live_store, None, engine))
    assert report.accepted == 2828 and report.rejected == 0 and report.skipped == 14140
    with engine.connect() as conn:
        first, last = (
            conn.execute(
                select(readings.c.ts_ms)
                .where(readings.c.sensor_id == "aq-pasar-1")
                .order_by(readings.c.ts_ms)
            )
            .scalars()
            .all()[::1413][:2]
        )
    assert datetime.fromtimestamp(first / 1000, WIB).date().isoformat() == "2025-04-10"
    assert last > first
    # …and the city's PM2.5 KPI now has a history for that month, one value per local day.
    april = datetime(2025, 4, 11, tzinfo=WIB).timestamp()
    days = kpi_history(engine, city, "pm25_rata_rata", april, april + 7 * 86400, "day")
    assert len(days) == 7
    assert all(0 < value < 500 for _, value in days)


def test_import_csv_command_line_shows_a_summary(tmp_path):
    path = write_csv(
        tmp_path / "air.csv", ["ST1,2025-04-10T12:00:00Z,54", "ST1,2025-04-10T12:30:00Z,x"]
    )
    env = {"KOMANDO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "data",
            "import-csv",
            str(path),
            "--time-column",
            "timestamp_utc",
            "--value-column",
            "pm25",
            "--map",
            "ST1=aq-cambai",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "2 rows" in result.stdout and "1 accepted, 1 refused" in result.stdout
    assert "row 3: value: must be a number" in result.stdout


def test_operator_entries_are_validated_saved_audited_and_live(engine, city, live_store):
    now = time.time()
    today = datetime.fromtimestamp(now, WIB).date().isoformat()
    entry = validate_entry(city, "bkpsdm", "kehadiran_asn", today, "96,5", now)
    assert not isinstance(entry, Exception) and entry.value == 96.5
    assert str(validate_entry(city, "bkpsdm", "kehadiran_asn", today, "150", now)).endswith(
        "150 di luar rentang wajar (0–100 %)"
    )
    assert "tidak diisi oleh OPD ini" in str(
        validate_entry(city, "disdik", "kehadiran_asn", today, "90", now)
    )
    assert "format periode harus YYYY-MM-DD" in str(
        validate_entry(city, "bkpsdm", "kehadiran_asn", "2026-11", "90", now)
    )
    record_entries(engine, live_store, city, "bkpsdm", "Siti (BKPSDM)", [entry], now=now)
    corrected = validate_entry(city, "bkpsdm", "kehadiran_asn", today, "97", now)
    record_entries(engine, live_store, city, "bkpsdm", "Budi (BKPSDM)", [corrected], now=now)
    with engine.connect() as conn:
        values = conn.execute(
            select(kpi_values).where(kpi_values.c.kpi_id == "kehadiran_asn")
        ).all()
        audit = conn.execute(
            select(AuditEntry.actor, AuditEntry.detail).order_by(AuditEntry.id)
        ).all()
    assert [(v.value, v.entered_by, v.period) for v in values] == [(97.0, "Budi (BKPSDM)", today)]
    assert [a.actor for a in audit] == ["Siti (BKPSDM)", "Budi (BKPSDM)"]
    assert json.loads(audit[1].detail)["replaced"] == 96.5
    assert live_store.kpis()[1]["kehadiran_asn"][0] == 97.0
    assert "bkpsdm" in live_store.opd_freshness()


def test_operator_csv_lists_every_error_with_its_row(city):
    now = time.time()
    week = datetime.fromtimestamp(now, WIB).strftime("%G-W%V")
    text = (
        "indikator;periode;nilai\n"
        f"harga_cabai_merah;{week};45.000\n"
        f"harga_cabai_merah;{week};murah\n"
        "kehadiran_asn;2026-11-01;90\n"
    )
    entries, errors = parse_csv(city, "disdag", text, now)
    assert [e.value for e in entries] == [45000.0]
    assert [e.row for e in errors] == [3, 4]
    assert "bukan angka" in errors[0].message
    assert "tidak diisi oleh OPD ini" in errors[1].message


def test_readings_wait_out_a_database_crash_and_none_is_lost(
    postgres_server, postgres_url, city, live_store, tmp_path
):
    engine = make_engine(postgres_url)
    prepare_database(engine, city)
    writer = BatchWriter(engine, batch_size=200, max_memory_rows=1000, spool_dir=tmp_path / "spool")
    pipeline = IngestPipeline(city, live_store, writer)
    sent = 0
    start = time.time() - 3600

    def send(count: int) -> None:
        nonlocal sent
        records = [
            {"sensor_id": "aq-cambai", "ts": start + sent + i, "value": 20.0 + i % 7}
            for i in range(count)
        ]
        assert pipeline.submit("mqtt", records).accepted == count
        sent += count

    send(500)
    writer.flush()
    postgres_server.kill()  # the database crashes mid-ingest
    for _ in range(6):
        send(400)  # keeps accepting: memory first, then spool files on disk
        writer.flush()
    assert writer.spilled > 0 and not writer.database_ok
    postgres_server.start()
    deadline = time.monotonic() + 20
    while writer.pending and time.monotonic() < deadline:
        writer.flush()
        time.sleep(0.2)
    assert writer.pending == 0
    assert writer.refused == 0
    assert count_rows(engine, readings) == sent == 2900
    engine.dispose()


def test_ingest_rebuilds_the_live_state_from_sql_by_itself(engine, city, live_store):
    from data.ingest import IngestWorker

    worker = IngestWorker(city, live_store, BatchWriter(engine), interval_s=1)
    entry = validate_entry(
        city, "disdik", "kehadiran_siswa", datetime.now(WIB).date().isoformat(), "93", time.time()
    )
    record_entries(engine, live_store, city, "disdik", "Ani", [entry])
    worker.tick()
    worker.writer.flush()
    live_store.client.flushall()  # Redis restarted: the cache is empty
    worker.tick()  # notices, rebuilds from SQL, then carries on
    kpis = live_store.kpis()[1]
    assert kpis["kehadiran_siswa"][0] == 93.0  # an operator value only SQL still had
    assert "disdik" in live_store.opd_freshness()  # and when that OPD last entered data
    assert len(live_store.sensors()[1]) == len(city.config.sensors)
    assert not live_store.needs_rebuild()
