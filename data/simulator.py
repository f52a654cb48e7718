"""The demo city's sensors and city systems, simulated with plausible daily patterns.

`baseline()` is a pure function of the sensor and the local hour; `Simulator` adds per-sensor
autocorrelated noise (AR(1)) so that values drift like real ones instead of jumping at random.
"""

from __future__ import annotations

import math
import random
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

from data.city import CityConfig, KpiConfig, SensorConfig
from data.models import Reading


def _bump(hour: float, centre: float, width: float) -> float:
    """A bell around `centre` (hours), wrapping around midnight."""
    distance = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-((distance / width) ** 2))


def _daytime(hour: float, rise: float, fall: float, ramp: float = 1.0) -> float:
    """~0 at night, ~1 between `rise` and `fall`, with smooth ramps."""
    up = 1 / (1 + math.exp(-(hour - rise) / (ramp / 4)))
    down = 1 / (1 + math.exp((hour - fall) / (ramp / 4)))
    return up * down


def traffic_shape(hour: float) -> float:
    """Share of road capacity used: morning and evening peaks, a busy midday, quiet nights."""
    return (
        0.06
        + 0.80 * _bump(hour, 7.2, 1.1)
        + 0.70 * _bump(hour, 17.0, 1.5)
        + 0.35 * _daytime(hour, 9.0, 15.5, 2.0)
    )


def baseline(sensor: SensorConfig, hour: float, day_of_year: int = 1) -> float:
    """The expected value of `sensor` at local `hour` (0..24), before noise."""
    if sensor.kind == "traffic_flow":
        return (sensor.capacity or 0) * min(traffic_shape(hour), 1.05)
    if sensor.kind == "parking":
        return 8 + 80 * _daytime(hour, 8.5, 18.0, 2.0) + 8 * _bump(hour, 19.5, 1.2)
    if sensor.kind == "air_quality":
        # Traffic exhaust, plus the night-time inversion that traps it near the ground.
        return 14 + 20 * traffic_shape(hour) + 10 * _bump(hour, 5.0, 2.0) + sensor.offset
    # water_level: a slow swell over days stands in for upstream rain.
    base = sensor.base if sensor.base is not None else 150.0
    return base + 25 * math.sin(2 * math.pi * (day_of_year + hour / 24) / 9.0)


# (noise standard deviation per step, AR(1) persistence, lower bound, upper bound)
NOISE: dict[str, tuple[float, float, float, float]] = {
    "traffic_flow": (0.05, 0.85, 0.0, math.inf),  # relative
    "parking": (2.0, 0.9, 0.0, 100.0),
    "air_quality": (2.5, 0.92, 1.0, 500.0),
    "water_level": (1.5, 0.97, 0.0, 2000.0),
}


class Simulator:
    """Produces one reading per sensor per tick; deterministic for a given seed."""

    def __init__(self, city: CityConfig, seed: int = 0) -> None:
        self.city = city
        self.zone = ZoneInfo(city.timezone)
        self._rng = {
            s.id: random.Random(zlib.crc32(f"{seed}:{s.id}".encode())) for s in city.sensors
        }
        self._noise = {s.id: 0.0 for s in city.sensors}
        self._kpi_walk: dict[str, float] = {}
        self._kpi_rng = random.Random(seed)

    def _local_hour(self, ts: float) -> tuple[float, int]:
        local = datetime.fromtimestamp(ts, self.zone)
        return local.hour + local.minute / 60 + local.second / 3600, local.timetuple().tm_yday

    def read(self, sensor: SensorConfig, ts: float) -> Reading:
        hour, day = self._local_hour(ts)
        sigma, phi, low, high = NOISE[sensor.kind]
        noise = phi * self._noise[sensor.id] + self._rng[sensor.id].gauss(0, sigma)
        self._noise[sensor.id] = noise
        expected = baseline(sensor, hour, day)
        value = expected * (1 + noise) if sensor.kind == "traffic_flow" else expected + noise
        value = min(max(value, low), high)
        return Reading(sensor_id=sensor.id, ts=ts, value=round(value, 2))

    def tick(self, ts: float) -> list[Reading]:
        return [self.read(sensor, ts) for sensor in self.city.sensors]

    def city_system_value(self, kpi: KpiConfig, ts: float) -> float:
        """Stand-in for a city system (e-budgeting, complaints desk, price survey, web stats)."""
        source = kpi.source
        hour, day = self._local_hour(ts)
        if source.model == "year_progress":
            assert source.low is not None and source.high is not None
            progress = (day - 1 + hour / 24) / 365
            # Spending lags early in the year and rushes in the last quarter, as budgets do.
            shaped = progress**1.6
            jitter = self._kpi_rng.gauss(0, source.noise or 0)
            return source.low + (source.high - source.low) * shaped + jitter
        if source.model == "daily_count":
            assert source.per_hour_peak is not None
            # Integral of a daytime visiting rate from midnight to now, plus a little noise.
            steps = int(hour * 4)
            visits = sum(
                source.per_hour_peak * 0.25 * (0.08 + _daytime(q / 4, 7.5, 22.0, 2.0))
                for q in range(steps)
            )
            return visits + self._kpi_rng.uniform(0, source.per_hour_peak * 0.05)
        assert source.low is not None and source.high is not None and source.step is not None
        current = self._kpi_walk.get(
            kpi.id, source.start if source.start is not None else (source.low + source.high) / 2
        )
        current = min(max(current + self._kpi_rng.gauss(0, source.step), source.low), source.high)
        self._kpi_walk[kpi.id] = current
        return current
