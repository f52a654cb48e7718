"""The SQL batch writer against a real SQLite file."""

from __future__ import annotations

from sqlalchemy import event, text

from data.history import BatchWriter, count_rows, create_schema, make_engine, readings
from data.models import KpiValue, Reading


def make_readings(count: int, start: float = 1_790_000_000.0) -> list[Reading]:
    return [Reading(sensor_id=f"s{i % 50}", ts=start + i, value=float(i)) for i in range(count)]


def test_sqlite_runs_in_wal_mode(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_rows_are_written_in_batches_one_transaction_each(sqlite_url):
    engine = make_engine(sqlite_url)
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


def test_resent_readings_are_ignored_not_fatal(sqlite_url):
    engine = make_engine(sqlite_url)
    create_schema(engine)
    writer = BatchWriter(engine)
    batch = make_readings(100)
    writer.add_readings(batch)
    writer.flush()
    writer.add_readings(batch[:40] + make_readings(10, start=1_790_100_000.0))
    assert writer.flush() == 50
    assert count_rows(engine, readings) == 110


def test_rows_wait_while_the_database_fails_and_are_written_after(sqlite_url):
    engine = make_engine(sqlite_url)  # schema missing: every write fails
    writer = BatchWriter(engine, batch_size=100)
    writer.add_readings(make_readings(250))
    assert writer.flush() == 0
    assert writer.pending == 250
    assert writer.failures == 1
    assert "no such table" in writer.last_error
    create_schema(engine)
    assert writer.flush() == 250
    assert count_rows(engine, readings) == 250


def test_a_full_buffer_refuses_and_counts(sqlite_url):
    writer = BatchWriter(make_engine(sqlite_url), max_pending=100)
    assert writer.add_readings(make_readings(150)) == 100
    assert writer.refused == 50
