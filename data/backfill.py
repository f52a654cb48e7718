"""A year of simulated KPI history, written once on a fresh start so that the review page
(`/kpi`) has something to show. Part of the simulator: it exists because every sensor and
city-system value of the demo cities is simulated; it goes with the simulator when a city's real
feeds are connected.

- Skipped when the city already has KPI history older than two days (idempotent, and a real
  database is never padded); rows are written with `source = 'demo'`, so
  `DELETE FROM kpi_values WHERE source = 'demo'` removes them all.
- Sensor-aggregate KPIs: hourly for the last 30 days, one value a day before that, for the city,
  each kecamatan and each desa with sensors, computed from simulated sensor values exactly as
  the live ones are (`compute_kpis`, `compute_region_kpis`). PM2.5 carries the dry-season haze
  (August–October) that South Sumatra knows.
- City-system KPIs: the simulator's own models, city level only.
- Operator KPIs: one value per period of their cadence, for the city and each kecamatan (totals
  such as tonnes or visits for the city only), drifting around their targets and slowly
  improving; DLH's daily waste figure stops five days ago, so that the page has a late OPD to show.
- One bulk insert (about 50,000 rows for Prabumulih: well under a second on SQLite).
"""

from __future__ import annotations

import logging
import math
import random
import time
import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.sql import func

from data.city import City, KpiConfig
from data.history import kpi_values, write_rows
from data.kpis import compute_kpis, compute_region_kpis, region_kpi_rows
from data.live_store import LiveStore
from data.models import KpiValue
from data.rebuild import latest_kpis
from data.regions import region_tree
from data.simulator import Simulator

log = logging.getLogger(__name__)

DEMO_SOURCE = "demo"
DAYS = 365
HOURLY_DAYS = 30
LATE_DEMO = {"sampah_terangkut": 5}  # KPI id -> days its OPD has not entered data
SUM_UNITS = frozenset({"ton", "kunjungan"})  # operator KPIs that are city totals


def history_exists(engine: Engine, city: City, before: float) -> bool:
    """True when any KPI of the city has a city-level value older than `before` (one index
    seek per KPI)."""
    with engine.connect() as conn:
        for kpi in city.config.kpis:
            oldest = conn.execute(
                select(func.min(kpi_values.c.ts_ms)).where(
                    kpi_values.c.kpi_id == kpi.id, kpi_values.c.region_kode == ""
                )
            ).scalar()
            if oldest is not None and oldest < before * 1000:
                return True
    return False


def _haze(day_of_year: int) -> float:
    """Dry-season haze: PM2.5 up to ~2.2× in late September."""
    distance = (day_of_year - 268) / 24
    return 1 + 1.2 * math.exp(-(distance**2))


def _sensor_samples(city: City, sim: Simulator, times: list[float]) -> list[dict[str, float]]:
    zone = ZoneInfo(city.config.timezone)
    samples = []
    for ts in times:
        doy = datetime.fromtimestamp(ts, zone).timetuple().tm_yday
        values = {}
        for reading in sim.tick(ts):
            sensor = city.sensor(reading.sensor_id)
            factor = _haze(doy) if sensor is not None and sensor.kind == "air_quality" else 1.0
            values[reading.sensor_id] = reading.value * factor
        samples.append(values)
    return samples


def _computed_rows(city: City, start_day: date, today_start: float, until: float) -> list[dict]:
    """Sensor-aggregate and city-system KPIs: hourly near the end, daily before."""
    zone = ZoneInfo(city.config.timezone)
    sim = Simulator(city.config, seed=20261125)
    rows: list[dict] = []
    hourly_from = today_start - HOURLY_DAYS * 86400
    day = start_day
    while True:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
        if midnight >= until:
            break
        if midnight < hourly_from:
            # One value a day: the mean of six samples, stamped at noon; cumulative city
            # systems (budget, visits today) at the day's end.
            times = [midnight + h * 3600 for h in (2, 6, 10, 14, 18, 22)]
            samples = _sensor_samples(city, sim, times)
            noon = midnight + 12 * 3600
            per_sample = [compute_region_kpis(city.config, s, noon) for s in samples]
            merged: dict[str, dict[str, list[float]]] = {}
            for sample in per_sample:
                for kode, items in sample.items():
                    for v in items:
                        merged.setdefault(kode, {}).setdefault(v.kpi_id, []).append(v.value)
            city_level = [compute_kpis(city.config, s, noon, lambda kpi, ts: 0.0) for s in samples]
            merged[""] = {}
            for items in city_level:
                for v in items:
                    kpi = _kpi(city, v.kpi_id)
                    if kpi.source.type == "sensors":
                        merged[""].setdefault(v.kpi_id, []).append(v.value)
            for kpi in city.config.kpis:
                if kpi.source.type == "simulated":
                    value = sim.city_system_value(kpi, midnight + 86399)
                    merged[""].setdefault(kpi.id, []).append(value)
            values = {
                kode: [
                    KpiValue(
                        kpi_id=k, ts=noon, value=round(sum(vs) / len(vs), _kpi(city, k).decimals)
                    )
                    for k, vs in items.items()
                ]
                for kode, items in merged.items()
            }
            rows += region_kpi_rows(values, DEMO_SOURCE)
        else:
            hours = [midnight + h * 3600 for h in range(24) if midnight + h * 3600 < until]
            for ts, sample in zip(hours, _sensor_samples(city, sim, hours), strict=True):
                regions = compute_region_kpis(city.config, sample, ts)
                regions[""] = compute_kpis(city.config, sample, ts, sim.city_system_value)
                rows += region_kpi_rows(regions, DEMO_SOURCE)
        day += timedelta(days=1)
    return rows


def _kpi(city: City, kpi_id: str) -> KpiConfig:
    return next(k for k in city.config.kpis if k.id == kpi_id)


def _periods(kpi: KpiConfig, start_day: date, today: date) -> list[tuple[date, str]]:
    if kpi.cadence == "weekly":
        first = start_day - timedelta(days=start_day.weekday())
        days = [first + timedelta(weeks=n) for n in range((today - first).days // 7 + 1)]
        return [(d, f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}") for d in days]
    if kpi.cadence == "monthly":
        months = []
        d = date(start_day.year, start_day.month, 1)
        while d <= today:
            months.append((d, f"{d.year}-{d.month:02d}"))
            d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return months
    count = (today - start_day).days + 1
    return [(d, d.isoformat()) for d in (start_day + timedelta(days=n) for n in range(count))]


def _operator_rows(city: City, start_day: date, today: date) -> list[dict]:
    zone = ZoneInfo(city.config.timezone)
    kecamatan = [r.kode for r in region_tree(city).kecamatan]
    rows: list[dict] = []
    for kpi in city.config.kpis:
        if kpi.source.type != "operator":
            continue
        rng = random.Random(zlib.crc32(kpi.id.encode()))
        scale = abs(kpi.target - kpi.warn) or abs(kpi.target) * 0.1 or 1.0
        better = 1.0 if kpi.direction == "higher" else -1.0
        middle = (kpi.target + kpi.warn) / 2
        low = kpi.low if kpi.low is not None else -math.inf
        high = kpi.high if kpi.high is not None else math.inf
        is_sum = kpi.unit in SUM_UNITS
        biases = [rng.uniform(-0.5, 0.5) * scale for _ in kecamatan]
        last_day = today - timedelta(days=LATE_DEMO.get(kpi.id, 0))
        periods = _periods(kpi, start_day, last_day)
        walk = 0.0
        # A total (tonnes, visits) is judged against a city target: only the city's is made.
        areas_of = [] if is_sum else kecamatan
        for index, (day, period) in enumerate(periods):
            progress = index / max(len(periods) - 1, 1)
            walk = 0.8 * walk + rng.gauss(0, 0.35 * scale)
            season = 0.3 * scale * math.sin(2 * math.pi * day.timetuple().tm_yday / 365)
            value = middle + better * scale * 0.9 * (progress - 0.5) + season + walk
            ts_ms = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
            areas = [("", value)] + [
                (kode, value + bias + rng.gauss(0, 0.2 * scale))
                for kode, bias in zip(areas_of, biases, strict=False)
            ]
            for kode, area_value in areas:
                rows.append(
                    {
                        "kpi_id": kpi.id,
                        "region_kode": kode,
                        "ts_ms": ts_ms,
                        "value": round(min(max(area_value, low), high), kpi.decimals),
                        "period": period,
                        "source": DEMO_SOURCE,
                        "entered_by": DEMO_SOURCE,
                    }
                )
    return rows


def backfill_history(engine: Engine, city: City, now: float | None = None) -> int:
    """Write a year of demo KPI history unless the city already has history; returns rows
    written (0 when skipped)."""
    started = time.monotonic()
    now = time.time() if now is None else now
    if history_exists(engine, city, now - 2 * 86400):
        log.info("KPI history present; no demo back-fill")
        return 0
    zone = ZoneInfo(city.config.timezone)
    today = datetime.fromtimestamp(now, zone).date()
    today_start = datetime(today.year, today.month, today.day, tzinfo=zone).timestamp()
    start_day = today - timedelta(days=DAYS)
    # Up to the previous full minute: the live ticks carry on from there.
    rows = _computed_rows(city, start_day, today_start, now - 60)
    rows += _operator_rows(city, start_day, today)
    write_rows(engine, {"kpi_values": rows})
    log.info(
        "demo KPI history: %d values over %d days written in %.1f s (source 'demo')",
        len(rows),
        DAYS,
        time.monotonic() - started,
    )
    return len(rows)


def publish_operator_latest(engine: Engine, city: City, store: LiveStore) -> int:
    """Operator KPIs have no live tick: make their newest (back-filled) values live."""
    operator = {k.id for k in city.config.kpis if k.source.type == "operator"}
    return store.write_kpis(v for v in latest_kpis(engine, city) if v.kpi_id in operator)
