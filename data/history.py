"""History in SQL (SQLAlchemy 2 Core): the record, written in batches off the hot path.

Times are stored as integer epoch milliseconds: portable between SQLite and PostgreSQL, cheap to
bind in bulk, and easy to bucket by hour or day with integer division.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from data.models import KpiValue, Reading

log = logging.getLogger(__name__)

metadata = MetaData()

readings = Table(
    "readings",
    metadata,
    Column("sensor_id", String(64), primary_key=True),
    Column("ts_ms", BigInteger, primary_key=True),
    Column("value", Float, nullable=False),
)

kpi_values = Table(
    "kpi_values",
    metadata,
    Column("kpi_id", String(64), primary_key=True),
    Column("ts_ms", BigInteger, primary_key=True),
    Column("value", Float, nullable=False),
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web role read while ingestion writes; NORMAL is durable at each checkpoint.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _reading_row(reading: Reading) -> dict:
    return {"sensor_id": reading.sensor_id, "ts_ms": int(reading.ts * 1000), "value": reading.value}


def _kpi_row(value: KpiValue) -> dict:
    return {"kpi_id": value.kpi_id, "ts_ms": int(value.ts * 1000), "value": value.value}


class BatchWriter:
    """Collects rows and writes them in one transaction per batch (executemany).

    `add_*` never touches the database, so ingestion keeps its pace. When the database is down,
    rows wait in memory up to `max_pending` and the writer retries; past that it refuses new rows
    and says so loudly (issue 3 adds spilling to disk).
    """

    def __init__(
        self,
        engine: Engine,
        flush_interval_s: float = 5.0,
        batch_size: int = 5000,
        max_pending: int = 1_000_000,
    ) -> None:
        self.engine = engine
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._pending: deque[tuple[Table, dict]] = deque()
        self._lock = threading.Lock()
        self.written = 0
        self.refused = 0
        self.failures = 0
        self.last_error = ""

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _add(self, table: Table, rows: Iterable[dict]) -> int:
        with self._lock:
            room = self.max_pending - len(self._pending)
            items = list(rows)
            accepted = items[: max(room, 0)]
            self._pending.extend((table, row) for row in accepted)
        refused = len(items) - len(accepted)
        if refused:
            self.refused += refused
            log.error("history buffer full (%d rows): %d rows refused", self.max_pending, refused)
        return len(accepted)

    def add_readings(self, items: Iterable[Reading]) -> int:
        return self._add(readings, (_reading_row(r) for r in items))

    def add_kpis(self, items: Iterable[KpiValue]) -> int:
        return self._add(kpi_values, (_kpi_row(v) for v in items))

    def flush(self) -> int:
        """Write everything pending, batch by batch; returns rows written. Keeps rows on error."""
        total = 0
        while True:
            with self._lock:
                batch = [self._pending[i] for i in range(min(self.batch_size, len(self._pending)))]
            if not batch:
                return total
            by_table: dict[Table, list[dict]] = {}
            for table, row in batch:
                by_table.setdefault(table, []).append(row)
            try:
                with self.engine.begin() as conn:
                    for table, rows in by_table.items():
                        conn.execute(_insert_ignoring_duplicates(self.engine, table), rows)
            except SQLAlchemyError as exc:
                self.failures += 1
                self.last_error = str(exc.__cause__ or exc)[:300]
                log.warning(
                    "history write failed, %d rows kept for retry: %s",
                    len(self._pending),
                    self.last_error,
                )
                return total
            with self._lock:
                for _ in range(len(batch)):
                    self._pending.popleft()
            total += len(batch)
            self.written += len(batch)

    def run(self, stop: threading.Event) -> None:
        """Flush every `flush_interval_s` until `stop`, then once more."""
        while not stop.wait(self.flush_interval_s):
            self.flush()
        self.flush()


def _insert_ignoring_duplicates(engine: Engine, table: Table):
    # A reading re-sent for the same (sensor, time) must not fail the whole batch.
    dialect = engine.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    return insert(table)
