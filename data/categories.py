"""What a value means: the category (and its colour) of a sensor reading or a KPI.

Pure functions, shared by the map, the tiles and (later) the alert rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.city import KpiConfig, SensorConfig


@dataclass(frozen=True)
class Category:
    level: int  # 0 = fine; higher = worse
    label: str  # Bahasa Indonesia, shown on the wall
    color: str


# PM2.5 breakpoints (µg/m³, 24 h) and colours of the ISPU, Permen LHK No. 14/2020.
PM25_BANDS: tuple[tuple[float, Category], ...] = (
    (15.5, Category(0, "Baik", "#2e9e44")),
    (55.4, Category(1, "Sedang", "#1f6fd1")),
    (150.4, Category(2, "Tidak sehat", "#f2c500")),
    (250.4, Category(3, "Sangat tidak sehat", "#d7191c")),
    (float("inf"), Category(4, "Berbahaya", "#111111")),
)

WATER_NORMAL = Category(0, "Normal", "#2e9e44")
WATER_SIAGA = (
    Category(1, "Siaga 3", "#f2c500"),
    Category(2, "Siaga 2", "#f28e00"),
    Category(3, "Siaga 1", "#d7191c"),
)

TRAFFIC_BANDS: tuple[tuple[float, Category], ...] = (
    (60.0, Category(0, "Lancar", "#2e9e44")),
    (85.0, Category(1, "Padat", "#f2c500")),
    (float("inf"), Category(2, "Macet", "#d7191c")),
)

PARKING_BANDS: tuple[tuple[float, Category], ...] = (
    (70.0, Category(0, "Tersedia", "#2e9e44")),
    (90.0, Category(1, "Hampir penuh", "#f2c500")),
    (float("inf"), Category(2, "Penuh", "#d7191c")),
)

NO_DATA = Category(-1, "Tidak ada data", "#6b7785")

KPI_GOOD = Category(0, "Sesuai target", "#2e9e44")
KPI_WARN = Category(1, "Perlu perhatian", "#f2c500")
KPI_BAD = Category(2, "Di luar batas", "#d7191c")


def _band(value: float, bands: tuple[tuple[float, Category], ...]) -> Category:
    for upper, category in bands:
        if value <= upper:
            return category
    return bands[-1][1]


def traffic_load_percent(sensor: SensorConfig, vehicles_per_hour: float) -> float:
    capacity = sensor.capacity or 1
    return 100.0 * vehicles_per_hour / capacity


def sensor_category(sensor: SensorConfig, value: float | None) -> Category:
    if value is None:
        return NO_DATA
    if sensor.kind == "air_quality":
        return _band(value, PM25_BANDS)
    if sensor.kind == "water_level":
        assert sensor.siaga is not None
        level = sum(value >= threshold for threshold in sensor.siaga)
        return WATER_SIAGA[level - 1] if level else WATER_NORMAL
    if sensor.kind == "traffic_flow":
        return _band(traffic_load_percent(sensor, value), TRAFFIC_BANDS)
    return _band(value, PARKING_BANDS)


def kpi_category(kpi: KpiConfig, value: float | None) -> Category:
    if value is None:
        return NO_DATA
    sign = 1.0 if kpi.direction == "lower" else -1.0
    if sign * value <= sign * kpi.target:
        return KPI_GOOD
    if sign * value <= sign * kpi.warn:
        return KPI_WARN
    return KPI_BAD
