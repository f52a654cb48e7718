"""The ingest role: read sources, validate, write the live state to Redis and history to SQL.

The simulator ticks here; HTTP, MQTT and CSV readings reach the same live state through their
own pipelines. KPIs are computed each tick from the *live state in Redis* (every source's newest
readings), for the city and per kecamatan and desa. A Redis outage costs live values, never
history: readings still go to the SQL batch writer, and the next successful tick rebuilds the
live state.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from sqlalchemy.exc import SQLAlchemyError

from data import kpi_baseline
from data.city import City
from data.history import BatchWriter
from data.kpis import compute_kpis, compute_region_kpis, fresh_sensor_values, region_kpi_rows
from data.live_store import LiveStore
from data.pipeline import IngestPipeline
from data.rebuild import rebuild_live_state
from data.simulator import Simulator

log = logging.getLogger(__name__)

# Region KPIs go to the history once a minute, not every tick: the review page buckets by hour at
# the finest, and dozens of regions × KPIs every 2 s would be most of the database.
REGION_HISTORY_EVERY_S = 60.0


class IngestWorker:
    def __init__(
        self, city: City, store: LiveStore, writer: BatchWriter, interval_s: float, seed: int = 0
    ) -> None:
        self.city = city
        self.store = store
        self.writer = writer
        self.interval_s = interval_s
        self.simulator = Simulator(city.config, seed=seed)
        self.pipeline = IngestPipeline(city, store, writer)
        self.latest: dict[str, float] = {}
        self.ticks = 0
        self.redis_errors = 0
        self._redis_down = False
        self._next_region_history = 0.0
        self._next_baseline = 0.0

    def tick(self, now: float | None = None) -> int:
        """One round: simulate, publish readings, compute KPIs from the live state, queue
        history, publish KPIs."""
        ts = time.time() if now is None else now
        readings = self.simulator.tick(ts)
        self.latest.update({r.sensor_id: r.value for r in readings})
        try:
            if self.store.needs_rebuild():
                self.writer.flush()  # so that SQL holds everything the rebuild should see
                rebuild_live_state(self.writer.engine, self.city, self.store)
        except (redis.RedisError, SQLAlchemyError) as exc:
            # Retried next tick; Redis errors are reported below, where this tick's writes fail.
            log.debug("live state rebuild postponed: %s", exc)
        self.pipeline.accept("simulator", readings)
        live = self._live_sensor_values(ts)
        kpis = compute_kpis(self.city.config, live, ts, self.simulator.city_system_value)
        regions = compute_region_kpis(self.city.config, live, ts)
        self.writer.add_kpis(kpis)
        if ts >= self._next_region_history:
            self.writer.add_rows("kpi_values", region_kpi_rows(regions))
            self._next_region_history = ts + REGION_HISTORY_EVERY_S
        try:
            self.store.write_kpis(kpis)
            self.store.write_region_kpis(regions)
            self.store.beat("ingest", ts)
            if self._redis_down:
                log.info("Redis is back; live state rebuilt")
                self._redis_down = False
        except redis.RedisError as exc:
            self.redis_errors += 1
            if not self._redis_down:
                log.warning("Redis unavailable, live state paused (history still kept): %s", exc)
                self._redis_down = True
        if ts >= self._next_baseline:
            self._refresh_baseline(ts)
        self.ticks += 1
        return len(readings)

    def _refresh_baseline(self, ts: float) -> None:
        """Each KPI's value one period ago, for the wall's trends (data/kpi_baseline.py)."""
        try:
            previous = kpi_baseline.previous_values(self.writer.engine, self.city, ts)
            self.store.write_kpi_previous(previous)
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.debug("KPI baseline postponed: %s", exc)
            previous = {}
        # Soon again while there is no history yet (a first start back-fills it in a moment).
        self._next_baseline = ts + (kpi_baseline.EVERY_S if previous else 10.0)

    def _live_sensor_values(self, now: float) -> dict[str, float]:
        """Every source's fresh sensor values from Redis; the simulator's own while Redis is
        away (the KPI history keeps going on what this process knows)."""
        try:
            _, points = self.store.sensors()
        except redis.RedisError:
            return dict(self.latest)
        return fresh_sensor_values(points or {}, now)

    def run(self, stop: threading.Event) -> None:
        log.info(
            "ingest: %d sensors, %d KPIs, every %.1f s",
            len(self.city.config.sensors),
            len(self.city.config.kpis),
            self.interval_s,
        )
        self.tick()
        while not stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # a bug in one tick must not stop the city's feed
                log.exception("ingest tick failed")


def start_ingest(
    city: City, store: LiveStore, writer: BatchWriter, interval_s: float, stop: threading.Event
) -> list[threading.Thread]:
    worker = IngestWorker(city, store, writer, interval_s)
    threads = [
        threading.Thread(target=worker.run, args=(stop,), name="ingest", daemon=True),
        threading.Thread(target=writer.run, args=(stop,), name="history-writer", daemon=True),
        # The simulator's past, so that a fresh start has a year of KPI history to review. Its
        # own thread: the live feed must not wait for it.
        threading.Thread(
            target=backfill_in_background, args=(writer.engine, city, store), name="kpi-backfill"
        ),
    ]
    for thread in threads:
        thread.start()
    return threads


def backfill_in_background(engine, city: City, store: LiveStore) -> None:
    from data.backfill import backfill_history, publish_operator_latest

    try:
        if backfill_history(engine, city):
            publish_operator_latest(engine, city, store)
            store.history_changed()  # reviews cached before it read an empty history
            log.info("demo KPI history ready for the review")
    except (SQLAlchemyError, redis.RedisError) as exc:
        log.warning("KPI history back-fill skipped: %s", exc)
