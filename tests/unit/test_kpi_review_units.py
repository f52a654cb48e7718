"""Pure parts of the review: per-region KPI aggregation, URL state, periods and buckets, CSV
numbers, and the page's figures as plain dicts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from data.kpi_report import ReviewQuery, bucket_for, parse_query, resolve_period
from data.kpis import compute_region_kpis, fresh_sensor_values
from data.regions import db_kode, region_tree, sensor_regions
from server.kpi_export import csv_number

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 25, 14, 30, tzinfo=WIB).timestamp()


def test_region_kpis_aggregate_the_sensors_of_each_kecamatan_and_desa(city):
    latest = {"aq-pasar-1": 40.0, "aq-cambai": 10.0, "tf-sudirman": 1200.0, "pk-pasar-1": 50.0}
    regions = compute_region_kpis(city.config, latest, NOW)
    values = {(kode, v.kpi_id): v.value for kode, items in regions.items() for v in items}
    assert values[("16.74.05", "pm25_rata_rata")] == 40.0
    assert values[("16.74.05.1001", "pm25_rata_rata")] == 40.0
    assert values[("16.74.03", "pm25_rata_rata")] == 10.0
    assert values[("16.74.05", "indeks_kemacetan")] == 50.0  # 1200 of 2400 vehicles/h
    assert values[("16.74.05.1001", "okupansi_parkir")] == 50.0
    assert ("16.74.05.1001", "indeks_kemacetan") not in values  # no traffic sensor there
    assert "16.74.01" not in regions  # no sensor reported in Prabumulih Barat
    assert not any(v.kpi_id == "realisasi_anggaran" for items in regions.values() for v in items)
    assert sensor_regions("16.74.05.1001") == ("16.74.05", "16.74.05.1001")


def test_fresh_values_skip_old_readings_and_secondary_quantities():
    points = {"a": (1.0, NOW - 60), "b": (2.0, NOW - 7200), "a/pm10": (3.0, NOW)}
    assert fresh_sensor_values(points, NOW) == {"a": 1.0}


def test_region_tree_and_breadcrumb(city):
    tree = region_tree(city)
    assert tree.path("16.74.05.1003")[0].name == "Kota Prabumulih"
    assert [r.level for r in tree.path("16.74.05.1003")] == ["kota", "kecamatan", "desa"]
    assert len(tree.kecamatan) == 6
    assert all(r.kode.startswith("16.74.05.") for r in tree.children("16.74.05"))
    assert db_kode("16.74", "16.74") == "" and db_kode("16.74", "16.74.05") == "16.74.05"


def test_query_round_trip_and_fallbacks(city):
    query = parse_query("?wilayah=16.74.05&periode=7d&lang=en", city)
    assert query == ReviewQuery("16.74.05", "7d")
    assert query.search() == "?wilayah=16.74.05&periode=7d"
    assert parse_query(query.search(wilayah="16.74.05.1001"), city).wilayah == "16.74.05.1001"
    assert parse_query("?wilayah=99.99&periode=forever", city) == ReviewQuery("", "30d")
    assert parse_query("?periode=custom&dari=2026-11-10&sampai=2026-11-01", city).periode == "30d"
    custom = parse_query({"periode": "custom", "dari": "2026-11-01", "sampai": "2026-11-20"}, city)
    assert custom.search() == "?periode=custom&dari=2026-11-01&sampai=2026-11-20"
    assert ReviewQuery("", "custom", "2026-11-01", "2026-11-20").search(periode="7d") == (
        "?periode=7d"
    )


@pytest.mark.parametrize(
    ("code", "start", "bucket"),
    [
        ("today", datetime(2026, 11, 25, tzinfo=WIB), "hour"),
        ("7d", datetime(2026, 11, 18, 14, 30, tzinfo=WIB), "hour"),
        ("30d", datetime(2026, 10, 27, tzinfo=WIB), "day"),
        ("quarter", datetime(2026, 10, 1, tzinfo=WIB), "day"),
        ("year", datetime(2026, 1, 1, tzinfo=WIB), "week"),
    ],
)
def test_periods_in_the_city_zone(code, start, bucket):
    period = resolve_period(ReviewQuery("", code), NOW, WIB)
    assert period.start == start.timestamp()
    assert period.end == NOW
    assert period.bucket == bucket
    assert period.previous_start == pytest.approx(period.start - (NOW - period.start))


def test_custom_period_covers_whole_days():
    query = ReviewQuery("", "custom", "2026-11-01", "2026-11-03")
    period = resolve_period(query, NOW, WIB)
    assert period.start == datetime(2026, 11, 1, tzinfo=WIB).timestamp()
    assert period.end == datetime(2026, 11, 4, tzinfo=WIB).timestamp()
    assert period.bucket == "hour"
    assert bucket_for(8 * 86400) == "day" and bucket_for(200 * 86400) == "week"


def test_csv_numbers_have_a_decimal_comma_and_no_grouping():
    assert csv_number(1234.5, 1) == "1234,5"
    assert csv_number(13100, 0) == "13100"
    assert csv_number(None, 1) == ""
    assert csv_number(-0.25, 2) == "-0,25"
