"""Live KPI values: aggregates of the latest sensor readings, or city-system values.

City-wide values come from `compute_kpis`; sensor-aggregate KPIs are also computed per
kecamatan and per desa from the sensors placed in each (`compute_region_kpis`). City-system
(simulated) KPIs exist only for the whole city, and operator KPIs come from their OPD's entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from statistics import fmean

from data.categories import traffic_load_percent
from data.city import CityConfig, KpiConfig
from data.models import KpiValue
from data.regions import sensor_regions

# A reading older than this no longer counts towards a live KPI: a sensor that went quiet must
# not hold the city's mean still. (CSV replays of last year's data land in the live state too.)
SENSOR_FRESH_S = 30 * 60

AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "mean": fmean,
    "max": max,
    "min": min,
    "sum": sum,
}


def sensor_aggregate(city: CityConfig, kpi: KpiConfig, latest: Mapping[str, float]) -> float | None:
    """Aggregate the latest values of the KPI's sensor kind; None when none has reported."""
    source = kpi.source
    values: list[float] = []
    for sensor in city.sensors:
        if sensor.kind != source.kind or sensor.id not in latest:
            continue
        value = latest[sensor.id]
        # Congestion is comparable across roads only as a share of each road's capacity.
        values.append(
            traffic_load_percent(sensor, value) if sensor.kind == "traffic_flow" else value
        )
    if not values:
        return None
    assert source.aggregate is not None
    return AGGREGATES[source.aggregate](values)


def compute_kpis(
    city: CityConfig,
    latest: Mapping[str, float],
    ts: float,
    city_system: Callable[[KpiConfig, float], float],
) -> list[KpiValue]:
    values: list[KpiValue] = []
    for kpi in city.kpis:
        if kpi.source.type == "sensors":
            value = sensor_aggregate(city, kpi, latest)
        elif kpi.source.type == "simulated":
            value = city_system(kpi, ts)
        else:
            continue  # operator KPIs come from their OPD's entries, not from a tick
        if value is not None:
            values.append(KpiValue(kpi_id=kpi.id, ts=ts, value=round(value, kpi.decimals + 1)))
    return values


def fresh_sensor_values(
    points: Mapping[str, tuple[float, float]], now: float, max_age_s: float = SENSOR_FRESH_S
) -> dict[str, float]:
    """The live state's primary values ({field: (value, ts)}, as `LiveStore.sensors` returns it)
    that are recent enough to count: {sensor_id: value}. Secondary quantities ("id/pm10") are
    left out: KPIs aggregate each sensor's primary quantity."""
    return {
        field: value
        for field, (value, ts) in points.items()
        if "/" not in field and now - ts <= max_age_s
    }


def compute_region_kpis(
    city: CityConfig, latest: Mapping[str, float], ts: float
) -> dict[str, list[KpiValue]]:
    """Sensor-aggregate KPIs per kecamatan and per desa: {region kode: values}. A region appears
    only for the KPIs it has reporting sensors of. One pass over the sensors, so a city with
    thousands of them costs milliseconds per tick."""
    by_region_kind: dict[tuple[str, str], list[float]] = {}
    for sensor in city.sensors:
        if sensor.id not in latest:
            continue
        value = latest[sensor.id]
        if sensor.kind == "traffic_flow":
            value = traffic_load_percent(sensor, value)
        for kode in sensor_regions(sensor.region):
            by_region_kind.setdefault((kode, sensor.kind), []).append(value)
    result: dict[str, list[KpiValue]] = {}
    for kpi in city.kpis:
        if kpi.source.type != "sensors":
            continue
        assert kpi.source.aggregate is not None
        combine = AGGREGATES[kpi.source.aggregate]
        for (kode, kind), values in by_region_kind.items():
            if kind == kpi.source.kind:
                result.setdefault(kode, []).append(
                    KpiValue(kpi_id=kpi.id, ts=ts, value=round(combine(values), kpi.decimals + 1))
                )
    return result


def region_kpi_rows(values: Mapping[str, list[KpiValue]], source: str = "computed") -> list[dict]:
    """`kpi_values` rows for `BatchWriter.add_rows("kpi_values", …)`, one per region and KPI."""
    return [
        {
            "kpi_id": v.kpi_id,
            "region_kode": kode,
            "ts_ms": int(v.ts * 1000),
            "value": v.value,
            "period": None,
            "source": source,
            "entered_by": None,
        }
        for kode, items in values.items()
        for v in items
    ]
