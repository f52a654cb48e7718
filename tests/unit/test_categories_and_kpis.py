from __future__ import annotations

import pytest

from data.categories import NO_DATA, kpi_category, sensor_category
from data.kpis import compute_kpis


def sensor(city, sensor_id):
    found = city.sensor(sensor_id)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (10, "Baik"),
        (15.5, "Baik"),
        (30, "Sedang"),
        (80, "Tidak sehat"),
        (200, "Sangat tidak sehat"),
        (400, "Berbahaya"),
    ],
)
def test_pm25_follows_ispu_bands(city, value, label):
    assert sensor_category(sensor(city, "aq-cambai"), value).label == label


@pytest.mark.parametrize(
    ("value", "label"), [(100, "Normal"), (250, "Siaga 3"), (320, "Siaga 2"), (351, "Siaga 1")]
)
def test_water_level_follows_siaga_levels(city, value, label):
    assert sensor_category(sensor(city, "wl-kelekar-sukaraja"), value).label == label


def test_traffic_is_judged_against_road_capacity(city):
    road = sensor(city, "tf-sudirman")  # capacity 2400
    assert sensor_category(road, 1000).label == "Lancar"
    assert sensor_category(road, 1800).label == "Padat"
    assert sensor_category(road, 2300).label == "Macet"


def test_missing_value_is_no_data(city):
    assert sensor_category(sensor(city, "pk-pasar-1"), None) is NO_DATA


def test_kpi_category_respects_direction(city):
    kpis = {k.id: k for k in city.config.kpis}
    budget = kpis["realisasi_anggaran"]  # higher is better: target 80, warn 70
    assert kpi_category(budget, 85).level == 0
    assert kpi_category(budget, 75).level == 1
    assert kpi_category(budget, 60).level == 2
    rice = kpis["harga_beras_medium"]  # lower is better: target 13100, warn 14000
    assert kpi_category(rice, 13000).level == 0
    assert kpi_category(rice, 13500).level == 1
    assert kpi_category(rice, 14500).level == 2


def test_compute_kpis_aggregates_sensors_and_asks_city_systems(city):
    latest = {
        "aq-pasar-1": 40.0,
        "aq-cambai": 20.0,
        "wl-kelekar-sukaraja": 210.0,
        "wl-kelekar-muara-sungai": 260.0,
        "tf-sudirman": 1200.0,
        "pk-pasar-1": 50.0,
        "pk-mangga-besar": 70.0,
    }
    asked = []

    def city_system(kpi, ts):
        asked.append(kpi.id)
        return 42.0

    values = {
        v.kpi_id: v.value for v in compute_kpis(city.config, latest, 1_800_000_000.0, city_system)
    }
    assert values["pm25_rata_rata"] == pytest.approx(30.0)
    assert values["tma_kelekar_maks"] == pytest.approx(260.0)
    assert values["okupansi_parkir"] == pytest.approx(60.0)
    assert values["indeks_kemacetan"] == pytest.approx(50.0)  # 1200 of 2400 vehicles/h
    assert sorted(asked) == sorted(k.id for k in city.config.kpis if k.source.type == "simulated")
    assert values["realisasi_anggaran"] == 42.0


def test_compute_kpis_skips_a_kpi_with_no_sensor_data(city):
    values = compute_kpis(city.config, {}, 1_800_000_000.0, lambda kpi, ts: 1.0)
    ids = {v.kpi_id for v in values}
    assert "pm25_rata_rata" not in ids
    assert "realisasi_anggaran" in ids
