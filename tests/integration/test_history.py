"""The SQL batch writer against a real SQLite file."""

from __future__ import annotations

import threading

from sqlalchemy import event, text

from data.history import BatchWriter, count_rows, create_schema, make_engine, readings
from data.models import KpiValue, Reading


def make_readings(count: int, start: float = 1_790_000_000.0) -> list[Reading]:
    return [Reading(sensor_id=f"s{i % 50}", ts=start + i, value=float(i)) for i in range(count)]


def test_sqlite_runs_in_wal_mode(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_rows_are_written_in_batches_one_transaction_each(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    commits = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    writer = BatchWriter(engine, batch_size=5000)
    writer.add_readings(make_readings(12_000))
    writer.add_kpis([KpiValue(kpi_id="k", ts=1_790_000_000.0, value=1.0)])
    assert count_rows(engine, readings) == 0  # adding never touches the database
    assert writer.flush() == 12_001
    assert len(commits) == 3  # 5000 + 5000 + 2001 rows
    assert count_rows(engine, readings) == 12_000
    assert writer.pending == 0


def test_resent_readings_are_ignored_not_fatal(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    writer = BatchWriter(engine)
    batch = make_readings(100)
    writer.add_readings(batch)
    writer.flush()
    writer.add_readings(batch[:40] + make_readings(10, start=1_790_100_000.0))
    assert writer.flush() == 50
    assert count_rows(engine, readings) == 110


def test_rows_wait_while_the_database_fails_and_are_written_after(database_url):
    engine = make_engine(database_url)  # schema missing: every write fails
    writer = BatchWriter(engine, batch_size=100)
    writer.add_readings(make_readings(250))
    assert writer.flush() == 0
    assert writer.pending == 250
    assert writer.failures == 1
    assert "readings" in writer.last_error  # the database says which table is missing
    create_schema(engine)
    assert writer.flush() == 250
    assert count_rows(engine, readings) == 250


def test_a_full_buffer_without_spool_refuses_and_counts(database_url):
    writer = BatchWriter(make_engine(database_url), max_memory_rows=100)
    assert writer.add_readings(make_readings(150)) == 100
    assert writer.refused == 50


def test_past_memory_rows_spill_to_disk_and_are_written_when_the_database_returns(
    database_url, tmp_path
):
    engine = make_engine(database_url)  # no schema yet: the database "is down"
    writer = BatchWriter(engine, batch_size=500, max_memory_rows=1000, spool_dir=tmp_path / "spool")
    for start in range(0, 5000, 1000):
        assert writer.add_readings(make_readings(1000, start=1_790_000_000.0 + start)) == 1000
    assert writer.refused == 0
    assert writer.spilled == 4000
    assert writer.pending == 5000
    assert writer.flush() == 0 and not writer.database_ok
    create_schema(engine)
    assert writer.flush() == 5000
    assert count_rows(engine, readings) == 5000
    assert writer.pending == 0
    assert list((tmp_path / "spool").iterdir()) == []


def test_rows_left_at_shutdown_are_replayed_by_the_next_process(database_url, tmp_path):
    engine = make_engine(database_url)
    spool = tmp_path / "spool"
    first = BatchWriter(engine, spool_dir=spool)
    first.add_readings(make_readings(300))
    stop = threading.Event()
    stop.set()
    first.run(stop)  # database down: the final flush fails, so the rows go to disk
    assert first.refused == 0 and first.spooled_rows() == 300
    create_schema(engine)
    second = BatchWriter(engine, spool_dir=spool)  # "after a restart"
    assert second.pending == 300
    assert second.flush() == 300
    assert count_rows(engine, readings) == 300


def test_a_spool_replayed_twice_writes_each_row_once(database_url, tmp_path):
    engine = make_engine(database_url)
    create_schema(engine)
    spool = tmp_path / "spool"
    writer = BatchWriter(engine, spool_dir=spool, max_memory_rows=0)
    writer.add_readings(make_readings(200))
    saved = next(spool.iterdir()).read_bytes()
    assert writer.flush() == 200
    (spool / "spool-0-replayed.jsonl").write_bytes(saved)  # as if a crash hit before unlink
    writer.flush()
    assert count_rows(engine, readings) == 200
