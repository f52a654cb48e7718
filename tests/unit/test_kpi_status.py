"""kpi_status: status against target in both directions, trend as improvement, lateness per
cadence naming the OPD, period values and the dimension scorecard."""

from __future__ import annotations

import pytest

from data.history_queries import Bucket
from data.kpi_status import (
    ALLOWED_AGE_S,
    freshness,
    period_value,
    score,
    scorecard,
    status,
    summary_kind,
    trend,
)


def kpi(city, kpi_id):
    return next(k for k in city.config.kpis if k.id == kpi_id)


@pytest.mark.parametrize(
    ("kpi_id", "value", "key"),
    [
        ("kehadiran_asn", 96.0, "good"),  # higher is better: target 95, warn 90
        ("kehadiran_asn", 95.0, "good"),
        ("kehadiran_asn", 92.0, "warn"),
        ("kehadiran_asn", 89.9, "bad"),
        ("pm25_rata_rata", 20.0, "good"),  # lower is better: target 55.4, warn 150.4
        ("pm25_rata_rata", 100.0, "warn"),
        ("pm25_rata_rata", 151.0, "bad"),
        ("pm25_rata_rata", None, "nodata"),
    ],
)
def test_status_respects_direction(city, kpi_id, value, key):
    result = status(kpi(city, kpi_id), value)
    assert result.key == key
    assert result.label("id") and result.label("en") and result.color.startswith("#")


def test_trend_is_an_improvement_only_in_the_better_direction(city):
    attendance, pm25 = kpi(city, "kehadiran_asn"), kpi(city, "pm25_rata_rata")
    up = trend(attendance, 94.0, 90.0)
    assert up.arrow == "up" and up.improved is True
    assert up.delta == pytest.approx(4.0) and up.percent == pytest.approx(100 * 4 / 90)
    assert trend(attendance, 88.0, 90.0).improved is False
    assert trend(pm25, 30.0, 40.0).improved is True  # lower PM2.5 is better
    assert trend(pm25, 50.0, 40.0).improved is False
    flat = trend(pm25, 40.1, 40.0)
    assert flat.arrow == "flat" and flat.improved is None
    assert trend(pm25, None, 40.0).arrow is None
    assert trend(pm25, 5.0, 0.0).percent is None


def test_late_by_cadence_names_the_owner(city):
    now = 1_800_000_000.0
    pm25, waste = kpi(city, "pm25_rata_rata"), kpi(city, "sampah_terangkut")
    assert not freshness(city.config, pm25, now - 120, now).late
    late = freshness(city.config, pm25, now - ALLOWED_AGE_S["realtime"] - 1, now)
    assert late.late and "DLH" in late.message_id and "DLH" in late.message_en
    # A daily value is stamped with its day's start: yesterday's is fine until noon today.
    assert not freshness(city.config, waste, now - 30 * 3600, now).late
    stale = freshness(city.config, waste, now - 4 * 86400, now)
    assert stale.late and stale.message_id.startswith("TERLAMBAT: DLH")
    assert "4 hari" in stale.message_id and "4 days" in stale.message_en
    none = freshness(city.config, kpi(city, "kehadiran_asn"), None, now)
    assert none.late and "BKPSDM" in none.message_id and none.age_s is None
    monthly = kpi(city, "kunjungan_wisata")
    assert not freshness(city.config, monthly, now - 35 * 86400, now).late
    assert freshness(city.config, monthly, now - 45 * 86400, now).late


def b(start_ms, mean, count=1, high=None):
    return Bucket(start_ms, mean, mean, mean if high is None else high, count)


def test_period_value_by_kind(city):
    attendance = kpi(city, "kehadiran_asn")
    assert summary_kind(attendance) == "mean"
    assert period_value(attendance, [b(0, 90.0, 1), b(1, 96.0, 3)]) == pytest.approx(94.5)
    assert period_value(attendance, []) is None
    budget = kpi(city, "realisasi_anggaran")
    assert summary_kind(budget) == "last"
    assert period_value(budget, [b(0, 10.0, high=12.0), b(1, 20.0, high=22.0)]) == 22.0
    visits = kpi(city, "kunjungan_portal")
    assert summary_kind(visits) == "daily_total"
    hour = 3_600_000
    day = 24 * hour
    buckets = [b(h * hour, 0, high=100.0 * h) for h in range(24)]  # one day, rising count
    buckets += [b(day + h * hour, 0, high=50.0 * h) for h in range(24)]
    assert period_value(visits, buckets) == pytest.approx((2300 + 1150) / 2)


def test_scorecard_counts_and_scores_per_dimension(city):
    kpis = city.config.kpis
    statuses = {
        "realisasi_anggaran": status(kpi(city, "realisasi_anggaran"), 85.0),  # good
        "kehadiran_asn": status(kpi(city, "kehadiran_asn"), 92.0),  # warn
        "progres_eplanning": status(kpi(city, "progres_eplanning"), 10.0),  # bad
        "pm25_rata_rata": status(kpi(city, "pm25_rata_rata"), 20.0),  # good
    }
    card = {d.dimension: d for d in scorecard(kpis, statuses)}
    assert list(card) == ["governance", "branding", "economy", "living", "society", "environment"]
    governance = card["governance"]
    assert (governance.good, governance.warn, governance.bad, governance.nodata) == (1, 1, 1, 0)
    assert governance.score == pytest.approx(50.0)
    assert card["environment"].good == 1 and card["environment"].nodata == 2
    assert card["environment"].score == 100.0
    assert card["economy"].score is None and card["economy"].total == 2
    assert governance.label("id") == "Tata kelola" and governance.label("en") == "Smart Governance"
    assert score(0, 0, 0) is None and score(1, 2, 1) == 50.0
