"""History queries on a year of data for 500 sensors: how long the KPI views' queries take.

Builds a database with `--sensors` sensors (default 500) spread over Prabumulih's villages and
one reading per sensor per hour for `--days` days (default 365: 4.4 million rows), then times
each query the views need, p50 over `--repeat` runs, against the same query forced to scan the
whole table (SQLite `NOT INDEXED`), measured in the same run.

    .venv/bin/python bench/history/run.py [--postgres] [--days 365] [--sensors 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import text

from bench.ingest.run import bench_city
from data.history import make_engine, write_rows
from data.history_queries import (
    SENSOR_SQL,
    region_series,
    sensor_series,
)
from runner import prepare_database

WIB = ZoneInfo("Asia/Jakarta")


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def fill(engine, sensor_ids: list[str], start: float, days: int) -> tuple[int, float]:
    started = time.perf_counter()
    total = 0
    for day in range(days):
        base = int((start + day * 86400) * 1000)
        rows = [
            (sensor, "", base + hour * 3_600_000, float((hash(sensor) + hour) % 90))
            for sensor in sensor_ids
            for hour in range(24)
        ]
        write_rows(engine, {"readings": rows})
        total += len(rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return total, time.perf_counter() - started


def run(url: str, args: argparse.Namespace) -> None:
    city = bench_city(args.sensors)
    engine = make_engine(url)
    prepare_database(engine, city)
    end = datetime(2026, 11, 1, tzinfo=WIB).timestamp()
    start = end - args.days * 86400
    rows, fill_s = fill(engine, [s.id for s in city.config.sensors], start, args.days)
    print(
        f"database: {engine.dialect.name}  rows: {rows:,} ({args.sensors} sensors x "
        f"{args.days} days x 24)  loaded in {fill_s:.1f} s ({rows / fill_s:,.0f} rows/s)"
    )
    sensor = city.config.sensors[0].id
    month = end - 30 * 86400
    kecamatan = city.config.sensors[0].region[:8]
    cases = [
        ("one sensor, 1 year by day", lambda: sensor_series(engine, sensor, start, end, "day")),
        ("one sensor, 30 days by hour", lambda: sensor_series(engine, sensor, month, end, "hour")),
        (
            "one kecamatan, air quality, 30 days by hour",
            lambda: region_series(engine, kecamatan, "air_quality", month, end, "hour"),
        ),
        (
            "whole city, air quality, 30 days by day",
            lambda: region_series(engine, city.config.kode, "air_quality", month, end, "day"),
        ),
    ]
    print(f"{'query':48} {'p50 ms':>9}")
    for label, function in cases:
        print(f"{label:48} {timed(function, args.repeat):9.1f}")
    if engine.dialect.name == "sqlite":
        scan_sql = SENSOR_SQL.replace("FROM readings", "FROM readings NOT INDEXED")
        params = {
            "sensor": sensor,
            "quantity": "",
            "start": int(start * 1000),
            "end": int(end * 1000),
            "size": 86_400_000,
            "offset": 25_200_000,
        }

        def scan() -> None:
            with engine.connect() as conn:
                conn.execute(text(scan_sql), params).all()

        indexed = timed(lambda: sensor_series(engine, sensor, start, end, "day"), args.repeat)
        full = timed(scan, max(1, args.repeat // 2))
        print(
            f"{'one sensor, 1 year by day, forced full scan':48} {full:9.1f}   "
            f"(index is {full / indexed:,.0f}x faster)"
        )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sensors", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if args.postgres:
        from tests.pg_server import TemporaryPostgres

        with TemporaryPostgres() as server:
            run(server.url, args)
        return 0
    with tempfile.TemporaryDirectory(prefix="komando-history-") as folder:
        run(f"sqlite:///{Path(folder) / 'history.sqlite3'}", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
