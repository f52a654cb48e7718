"""Live KPI values: aggregates of the latest sensor readings, or city-system values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from statistics import fmean

from data.categories import traffic_load_percent
from data.city import CityConfig, KpiConfig
from data.models import KpiValue

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
