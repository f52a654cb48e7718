"""What each kind of sensor measures. Its primary quantity is stored as '' (the sensor's own
value: the map colour, the KPI aggregates); other quantities keep their names."""

from __future__ import annotations

PRIMARY_QUANTITY: dict[str, str] = {
    "air_quality": "pm25",
    "water_level": "water_level_cm",
    "traffic_flow": "intensity",
    "parking": "parking_occupancy_pct",
}

QUANTITIES: dict[str, frozenset[str]] = {
    "air_quality": frozenset({"pm25", "pm10", "no2", "o3", "co", "so2", "aqi"}),
    "water_level": frozenset({"water_level_cm", "alert_level"}),
    "traffic_flow": frozenset({"intensity", "occupancy", "average_speed"}),
    "parking": frozenset({"parking_occupancy_pct", "available_spots", "total_spots"}),
}


def stored_quantity(kind: str, quantity: str) -> str | None:
    """'' for the kind's primary quantity, the name for another known one, None if unknown."""
    if quantity in ("", PRIMARY_QUANTITY[kind]):
        return ""
    return quantity if quantity in QUANTITIES[kind] else None
