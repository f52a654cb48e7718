"""Ingest throughput: readings/s through the whole pipeline against raw redis-py writes.

In one run, against one real Redis server (started here) and a fresh SQLite file (or
--database-url), with one batch size:
1. **pipeline**: raw JSON-like records -> validation -> live state in Redis (newest-wins script,
   counters) -> history queued and flushed to SQL (one transaction per batch). The clock stops
   when every reading is in SQL.
2. **raw redis-py**: the same number of readings written as pipelined HSETs at the same batch
   size, nothing else: the ceiling for anything that writes each reading to Redis.
Prints both rates, their ratio, and where the pipeline's time goes (cProfile).

    .venv/bin/python bench/ingest/run.py [--readings 200000] [--batch 5000] [--sensors 500]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis

from data.city import City, CityConfig, SensorConfig, load_city
from data.history import BatchWriter, count_rows, make_engine, readings
from data.live_store import LiveStore, connect
from data.pipeline import IngestPipeline
from data.redis_server import EmbeddedRedis
from runner import prepare_database
from settings import PROJECT_ROOT

KINDS = ("air_quality", "traffic_flow", "parking", "water_level")


def bench_city(sensor_count: int) -> City:
    """Prabumulih with `sensor_count` sensors spread over its villages."""
    base = load_city(PROJECT_ROOT / "data" / "cities" / "prabumulih")
    template = base.config.sensors
    sensors = []
    for i in range(sensor_count):
        model = template[i % len(template)]
        sensors.append(SensorConfig(**{**model.model_dump(), "id": f"bench-{i:04d}"}))
    config = CityConfig(
        **{**base.config.model_dump(), "sensors": [s.model_dump() for s in sensors]}
    )
    return City(base.folder, config)


def make_records(count: int, sensor_count: int, start: float) -> list[dict]:
    # One reading per sensor per minute, as a fleet of devices would send them.
    return [
        {
            "sensor_id": f"bench-{i % sensor_count:04d}",
            "ts": start + 60 * (i // sensor_count),
            "value": 10.0 + (i * 7919) % 500 / 10,
        }
        for i in range(count)
    ]


def run_pipeline(
    city: City, store: LiveStore, url: str, records: list[dict], batch: int
) -> tuple[float, int]:
    engine = make_engine(url)
    prepare_database(engine, city)
    writer = BatchWriter(engine, batch_size=batch, max_memory_rows=len(records) + 1)
    pipeline = IngestPipeline(city, store, writer)
    started = time.perf_counter()
    for offset in range(0, len(records), batch):
        pipeline.submit("bench", records[offset : offset + batch])
        writer.flush()
    elapsed = time.perf_counter() - started
    stored = count_rows(engine, readings)
    engine.dispose()
    return elapsed, stored


def run_raw_redis(client: redis.Redis, records: list[dict], batch: int) -> float:
    started = time.perf_counter()
    for offset in range(0, len(records), batch):
        pipe = client.pipeline(transaction=False)
        for record in records[offset : offset + batch]:
            pipe.hset("raw:latest", record["sensor_id"], record["value"])
        pipe.execute()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--sensors", type=int, default=500)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL server (Debian's) for the history",
    )
    parser.add_argument("--profile-lines", type=int, default=18)
    args = parser.parse_args()

    if args.postgres:
        from tests.pg_server import TemporaryPostgres

        with TemporaryPostgres() as server:
            args.database_url = server.url
            return run(args)
    return run(args)


def run(args: argparse.Namespace) -> int:
    city = bench_city(args.sensors)
    records = make_records(args.readings, args.sensors, time.time() - 30 * 86400)
    with tempfile.TemporaryDirectory(prefix="komando-bench-") as folder, EmbeddedRedis() as server:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        client = connect(server.url)
        store = LiveStore(client, "komando:bench")
        run_raw_redis(client, records[: args.batch * 2], args.batch)  # warm up both paths
        client.flushall()

        raw_s = run_raw_redis(client, records, args.batch)
        client.flushall()
        profiler = cProfile.Profile()
        profiler.enable()
        pipe_s, stored = run_pipeline(city, store, url, records, args.batch)
        profiler.disable()
        if stored != args.readings:
            print(f"ERROR: {stored} of {args.readings} readings reached SQL", file=sys.stderr)
            return 1
        # The same run again without the profiler, for the figure that counts.
        client.flushall()
        url2 = args.database_url or f"sqlite:///{Path(folder) / 'bench2.sqlite3'}"
        if args.database_url:
            with make_engine(url2).begin() as conn:
                conn.exec_driver_sql("DELETE FROM readings")
        pipe_s, stored = run_pipeline(city, store, url2, records, args.batch)

    database = "SQLite (WAL)" if not args.database_url else args.database_url.split("+")[0]
    pipe_rate, raw_rate = args.readings / pipe_s, args.readings / raw_s
    print(
        f"readings: {args.readings:,}  sensors: {args.sensors}  batch: {args.batch}  "
        f"history: {database}"
    )
    print(
        f"pipeline end to end (validate + Redis live + SQL history): {pipe_rate:>10,.0f} "
        f"readings/s  ({pipe_s:.2f} s)"
    )
    print(
        f"raw redis-py pipelined HSET, same batches:                {raw_rate:>10,.0f} "
        f"readings/s  ({raw_s:.2f} s)"
    )
    print(
        f"ratio pipeline / raw redis-py: {pipe_rate / raw_rate:.2f}  "
        f"(aims: >= 50,000 readings/s and >= 0.50)"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile_lines)
    print("\nwhere the pipeline's time goes (cProfile, by own time):")
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
