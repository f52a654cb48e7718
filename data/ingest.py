"""The ingest role: read sources, validate, write the live state to Redis and history to SQL.

Today's only source is the simulator; the loop is the place later sources (HTTP push, MQTT, CSV,
operators) feed into. A Redis outage costs live values, never history: readings still go to the
SQL batch writer, and the next successful tick rebuilds the live state.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from sqlalchemy.exc import SQLAlchemyError

from data.city import City
from data.history import BatchWriter
from data.kpis import compute_kpis
from data.live_store import LiveStore
from data.pipeline import IngestPipeline
from data.rebuild import rebuild_live_state
from data.simulator import Simulator

log = logging.getLogger(__name__)


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

    def tick(self, now: float | None = None) -> int:
        """One round: simulate, compute KPIs, queue history, publish live state."""
        ts = time.time() if now is None else now
        readings = self.simulator.tick(ts)
        self.latest.update({r.sensor_id: r.value for r in readings})
        kpis = compute_kpis(self.city.config, self.latest, ts, self.simulator.city_system_value)
        self.writer.add_kpis(kpis)
        try:
            if self.store.needs_rebuild():
                self.writer.flush()  # so that SQL holds everything the rebuild should see
                rebuild_live_state(self.writer.engine, self.city, self.store)
        except (redis.RedisError, SQLAlchemyError) as exc:
            # Retried next tick; Redis errors are reported below, where this tick's writes fail.
            log.debug("live state rebuild postponed: %s", exc)
        self.pipeline.accept("simulator", readings)
        try:
            self.store.write_kpis(kpis)
            self.store.beat("ingest", ts)
            if self._redis_down:
                log.info("Redis is back; live state rebuilt")
                self._redis_down = False
        except redis.RedisError as exc:
            self.redis_errors += 1
            if not self._redis_down:
                log.warning("Redis unavailable, live state paused (history still kept): %s", exc)
                self._redis_down = True
        self.ticks += 1
        return len(readings)

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
    ]
    for thread in threads:
        thread.start()
    return threads
