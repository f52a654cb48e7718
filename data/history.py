"""History in SQL, written in batches off the hot path, and never dropped silently.

`BatchWriter` collects rows in memory and writes them in one transaction per batch (Core
`executemany`). While the database is unreachable rows wait: in memory up to a bound, then in
spool files on disk, which are also replayed after a restart. Re-written rows are harmless:
every history table has a natural key and duplicates are ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from data.db.engine import make_engine
from data.db.migrate import upgrade_schema
from data.db.models import DeadLetter, KpiValue, Reading
from data.models import KpiValue as LiveKpiValue
from data.models import Reading as LiveReading

__all__ = [
    "BatchWriter",
    "count_rows",
    "create_schema",
    "dead_letters",
    "kpi_values",
    "make_engine",
    "readings",
]

log = logging.getLogger(__name__)

readings: Table = Reading.__table__  # type: ignore[assignment]
kpi_values: Table = KpiValue.__table__  # type: ignore[assignment]
dead_letters: Table = DeadLetter.__table__  # type: ignore[assignment]
TABLES = {t.name: t for t in (readings, kpi_values, dead_letters)}


def create_schema(engine: Engine) -> None:
    """Migrate the database to the current schema (Alembic)."""
    upgrade_schema(engine)


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


READING_COLUMNS = ("sensor_id", "quantity", "ts_ms", "value")


def reading_row(reading: LiveReading) -> tuple:
    """Readings travel as tuples in READING_COLUMNS order: the hot path's cheapest shape."""
    return (reading.sensor_id, reading.quantity, int(reading.ts * 1000), reading.value)


def kpi_row(value: LiveKpiValue, source: str = "computed") -> dict:
    return {
        "kpi_id": value.kpi_id,
        "region_kode": "",
        "ts_ms": int(value.ts * 1000),
        "value": value.value,
        "period": None,
        "source": source,
        "entered_by": None,
    }


def dead_letter_row(source: str, reason: str, payload: object, now: float | None = None) -> dict:
    try:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    except RecursionError:
        # json.loads takes nesting that json.dumps, called deeper in the stack, cannot write
        # back: the refusal is kept without its payload rather than lost with it (issue 7).
        text = "(payload not kept: nested too deeply to write back)"
    return {
        "received_ms": int((time.time() if now is None else now) * 1000),
        "source": source[:32],
        "reason": _storable(reason[:2000]),
        # Enough to inspect; a flood must not fill the database.
        "payload": _storable(text[:20_000]),
    }


def _storable(text: str) -> str:
    """`text` with lone surrogates (what a JSON "\ud800" escape decodes to) written as \ud800:
    SQL drivers refuse them, and one such row made every retry of its batch fail (issue 7)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def insert_ignoring_duplicates(engine: Engine, table: Table):
    """INSERT that skips rows whose key exists: re-sent readings must not fail a batch."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    return insert(table)


# Plain executemany for readings: SQLAlchemy's per-row parameter processing cost more than the
# database's own work in bench/ingest. Same statement text as Core would build.
READING_INSERTS = {
    "sqlite": "INSERT OR IGNORE INTO readings (sensor_id, quantity, ts_ms, value) "
    "VALUES (?, ?, ?, ?)",
    "postgresql": "INSERT INTO readings (sensor_id, quantity, ts_ms, value) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
}


# COPY into a per-session staging table, then one INSERT … ON CONFLICT DO NOTHING: about twice
# the rate of executemany on PostgreSQL in bench/ingest; small batches are not worth the setup.
COPY_FROM_ROWS = 500


def _copy_readings(conn, tuples: list[tuple]) -> None:
    cursor = conn.connection.driver_connection.cursor()
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS readings_stage "
            "(sensor_id VARCHAR(64), quantity VARCHAR(32), ts_ms BIGINT, value FLOAT) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(
            "COPY readings_stage (sensor_id, quantity, ts_ms, value) FROM STDIN"
        ) as copy:
            for row in tuples:
                copy.write_row(row)
        cursor.execute(
            "INSERT INTO readings (sensor_id, quantity, ts_ms, value) "
            "SELECT sensor_id, quantity, ts_ms, value FROM readings_stage "
            "ON CONFLICT DO NOTHING"
        )
    except driver_error as exc:  # the driver's own error: make it the one callers catch
        raise DBAPIError("COPY readings", None, exc) from exc
    finally:
        cursor.close()


def write_rows(engine: Engine, rows_by_table: dict[str, list]) -> None:
    """One transaction for all the rows given; raises SQLAlchemyError if the database fails."""
    with engine.begin() as conn:
        for name, rows in rows_by_table.items():
            if not rows:
                continue
            if name == "readings":
                fast = READING_INSERTS.get(engine.dialect.name)
                tuples = [tuple(r) for r in rows]  # spool files bring them back as lists
                if engine.dialect.name == "postgresql" and len(tuples) >= COPY_FROM_ROWS:
                    _copy_readings(conn, tuples)
                elif fast:
                    conn.exec_driver_sql(fast, tuples)
                else:
                    statement = insert_ignoring_duplicates(engine, readings)
                    conn.execute(
                        statement, [dict(zip(READING_COLUMNS, r, strict=True)) for r in tuples]
                    )
                continue
            if rows:
                table = TABLES[name]
                # Dead letters have a surrogate key: every refusal is kept, even a repeated one.
                statement = (
                    insert(table)
                    if name == "dead_letters"
                    else insert_ignoring_duplicates(engine, table)
                )
                conn.execute(statement, rows)


class BatchWriter:
    """Rows in, batches out. `add_*` never touches the database, so ingestion keeps its pace."""

    def __init__(
        self,
        engine: Engine,
        flush_interval_s: float = 5.0,
        batch_size: int = 5000,
        max_memory_rows: int = 200_000,
        spool_dir: Path | None = None,
        max_spool_bytes: int = 1 << 30,
    ) -> None:
        self.engine = engine
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.max_memory_rows = max_memory_rows
        self.spool_dir = spool_dir
        self.max_spool_bytes = max_spool_bytes
        self._pending: deque[tuple[str, dict]] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._spool_seq = 0
        self.written = 0
        self.spilled = 0
        self.refused = 0
        self.failures = 0
        self.last_error = ""
        self.database_ok = True
        if spool_dir is not None:
            spool_dir.mkdir(parents=True, exist_ok=True)

    # -- adding ------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Rows not yet written: in memory and in spool files."""
        return len(self._pending) + self.spooled_rows()

    def spooled_rows(self) -> int:
        if self.spool_dir is None:
            return 0
        total = 0
        for path in self._spool_files():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        return total

    def _spool_files(self) -> list[Path]:
        if self.spool_dir is None:
            return []
        return sorted(self.spool_dir.glob("spool-*.jsonl"))

    def _spool_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._spool_files())

    def _spill(self, items: list[tuple[str, dict]]) -> int:
        """Write rows that do not fit in memory to a new spool file; returns rows kept."""
        if self.spool_dir is None or self._spool_bytes() >= self.max_spool_bytes:
            return 0
        self._spool_seq += 1
        path = self.spool_dir / f"spool-{time.time_ns()}-{os.getpid()}-{self._spool_seq}.jsonl"
        temporary = path.with_suffix(".part")
        with temporary.open("w", encoding="utf-8") as handle:
            for table, row in items:
                handle.write(json.dumps({"t": table, "r": row}, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(path)  # a crash mid-write leaves a .part file, never a torn spool file
        self.spilled += len(items)
        log.warning("history: database behind, %d rows spooled to %s", len(items), path.name)
        return len(items)

    def _add(self, table: str, rows: Iterable[dict]) -> int:
        items = [(table, row) for row in rows]
        with self._lock:
            room = max(self.max_memory_rows - len(self._pending), 0)
            self._pending.extend(items[:room])
            overflow = items[room:]
            kept = room if len(items) > room else len(items)
            if overflow:
                kept += self._spill(overflow)
        refused = len(items) - kept
        if refused:
            self.refused += refused
            log.error(
                "history: memory and spool full, %d rows REFUSED (database down for too long?)",
                refused,
            )
        return kept

    def add_readings(self, items: Iterable[LiveReading]) -> int:
        return self._add("readings", (reading_row(r) for r in items))

    def add_kpis(self, items: Iterable[LiveKpiValue], source: str = "computed") -> int:
        return self._add("kpi_values", (kpi_row(v, source) for v in items))

    def add_rows(self, table: str, rows: Iterable[dict]) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown history table {table!r}")
        return self._add(table, rows)

    def add_dead_letter(self, source: str, reason: str, payload: object) -> int:
        return self._add("dead_letters", [dead_letter_row(source, reason, payload)])

    # -- writing -----------------------------------------------------------------------------
    def _write(self, batch: list[tuple[str, dict]]) -> bool:
        by_table: dict[str, list[dict]] = {}
        for table, row in batch:
            by_table.setdefault(table, []).append(row)
        try:
            write_rows(self.engine, by_table)
        except SQLAlchemyError as exc:
            self.failures += 1
            self.last_error = str(exc.__cause__ or exc).splitlines()[0][:300]
            if self.database_ok:
                log.warning(
                    "history: database write failed, rows kept for retry: %s", self.last_error
                )
            self.database_ok = False
            return False
        if not self.database_ok:
            log.info("history: database reachable again, catching up")
        self.database_ok = True
        self.written += len(batch)
        return True

    def _flush_spool(self) -> tuple[int, bool]:
        written = 0
        for path in self._spool_files():
            with path.open(encoding="utf-8") as handle:
                items = [(item["t"], item["r"]) for item in map(json.loads, handle)]
            for start in range(0, len(items), self.batch_size):
                if not self._write(items[start : start + self.batch_size]):
                    return written, False  # replaying a file twice is harmless: keys dedupe
                written += min(self.batch_size, len(items) - start)
            path.unlink()
        return written, True

    def flush(self) -> int:
        """Write spooled rows, then rows in memory, batch by batch; returns rows written.
        Stops at the first failure and keeps everything not yet written."""
        with self._flush_lock:
            total, ok = self._flush_spool()
            while ok:
                with self._lock:
                    size = min(self.batch_size, len(self._pending))
                    batch = [self._pending[i] for i in range(size)]
                if not batch or not self._write(batch):
                    break
                with self._lock:
                    for _ in range(len(batch)):
                        self._pending.popleft()
                total += len(batch)
            return total

    def run(self, stop: threading.Event) -> None:
        """Flush every `flush_interval_s` until `stop`, then once more; spool what is left."""
        while not stop.wait(self.flush_interval_s):
            self.flush()
        self.flush()
        self.spool_pending()

    def spool_pending(self) -> int:
        """At shutdown: rows the database did not take go to disk, for the next start."""
        with self._lock:
            items = list(self._pending)
            self._pending.clear()
        if not items:
            return 0
        kept = self._spill(items)
        if kept < len(items):
            self.refused += len(items) - kept
            log.error(
                "history: %d unwritten rows lost at shutdown (no spool folder)", len(items) - kept
            )
        return kept
