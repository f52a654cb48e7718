from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from data.simulator import Simulator, baseline, traffic_shape

WIB = ZoneInfo("Asia/Jakarta")


def local_ts(hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, 25, hour, minute, tzinfo=WIB).timestamp()


def test_traffic_peaks_in_rush_hours_and_rests_at_night():
    assert traffic_shape(7.25) > 3 * traffic_shape(3.0)
    assert traffic_shape(17.0) > 3 * traffic_shape(3.0)
    assert traffic_shape(12.0) > traffic_shape(22.0)


def test_parking_fills_by_day_and_empties_at_night(city):
    parking = next(s for s in city.config.sensors if s.kind == "parking")
    assert baseline(parking, 11.0) > 70
    assert baseline(parking, 3.0) < 20


def test_air_quality_follows_traffic_and_sensor_offset(city):
    sensors = [s for s in city.config.sensors if s.kind == "air_quality"]
    polluted = max(sensors, key=lambda s: s.offset)
    clean = min(sensors, key=lambda s: s.offset)
    assert baseline(polluted, 7.5) > baseline(clean, 7.5)
    assert baseline(clean, 7.5) > baseline(clean, 14.0) - 15  # morning is not cleaner than noon


def test_values_stay_within_physical_bounds_over_a_simulated_day(city):
    simulator = Simulator(city.config, seed=1)
    start = local_ts(0)
    for step in range(24 * 60):  # one reading a minute for a day
        for reading in simulator.tick(start + 60 * step):
            sensor = city.sensor(reading.sensor_id)
            assert sensor is not None
            assert reading.value >= 0
            if sensor.kind == "parking":
                assert reading.value <= 100


def test_same_seed_same_series_and_series_move(city):
    one, two = Simulator(city.config, seed=7), Simulator(city.config, seed=7)
    series_one = [one.tick(local_ts(8) + i)[0].value for i in range(50)]
    series_two = [two.tick(local_ts(8) + i)[0].value for i in range(50)]
    assert series_one == series_two
    assert len(set(series_one)) > 10


def test_city_system_models(city):
    simulator = Simulator(city.config, seed=3)
    kpis = {k.id: k for k in city.config.kpis}
    budget_may = simulator.city_system_value(
        kpis["realisasi_anggaran"], datetime(2026, 5, 1, tzinfo=WIB).timestamp()
    )
    budget_nov = simulator.city_system_value(kpis["realisasi_anggaran"], local_ts(12))
    assert budget_nov > budget_may
    morning = simulator.city_system_value(kpis["kunjungan_portal"], local_ts(6))
    evening = simulator.city_system_value(kpis["kunjungan_portal"], local_ts(20))
    assert evening > morning
    rice = [
        simulator.city_system_value(kpis["harga_beras_medium"], local_ts(9)) for _ in range(200)
    ]
    assert all(12600 <= price <= 14600 for price in rice)
    assert len(set(rice)) > 100
