"""What a KPI's numbers mean: status against target, trend, age of data, dimension scorecard.

Pure functions of a `KpiConfig` and numbers, with no Dash and no I/O, shared by the mayor's
review page (`/kpi`), its CSV and printed report, and the command-centre wall. Texts a person
reads come in pairs (`*_id`, `*_en`); colours are the wall's status colours.

- `status(kpi, value)`: good / warn / bad / nodata, respecting the KPI's direction: for
  "higher", good is value >= target and warn down to `warn`; for "lower" the mirror.
- `trend(kpi, current, previous)`: change against the previous period and whether it is an
  improvement given the direction.
- `freshness(city, kpi, ts, now)`: how old the newest value is and whether that is late for the
  KPI's cadence (`ALLOWED_AGE_S`); the late message names the owner OPD.
- `period_value(kpi, buckets)`: one number for a period from bucketed history (mean, last or
  mean of daily totals, see `summary_kind`).
- `scorecard(kpis, statuses)`: per smart-city dimension, counts of good/warn/bad/no-data KPIs
  and a score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from data.categories import kpi_category
from data.city import DIMENSION_LABELS, CityConfig, Dimension, KpiConfig

StatusKey = Literal["nodata", "good", "warn", "bad"]
STATUS_KEYS: dict[int, StatusKey] = {-1: "nodata", 0: "good", 1: "warn", 2: "bad"}
STATUS_LABELS: dict[StatusKey, tuple[str, str]] = {
    "good": ("Sesuai target", "On target"),
    "warn": ("Perlu perhatian", "Needs attention"),
    "bad": ("Di luar batas", "Off target"),
    "nodata": ("Tidak ada data", "No data"),
}

# How old a KPI's newest value may be before its owner is late. Operator values are stamped
# with the *start* of their period (a day, ISO week or month), so the allowance is one period
# plus the time the OPD has to enter it: yesterday's attendance by noon today, last week's
# prices by Wednesday, last month's figure by the 10th. Realtime values come every few seconds.
ALLOWED_AGE_S: dict[str, float] = {
    "realtime": 10 * 60,
    "daily": 86400 + 12 * 3600,
    "weekly": 7 * 86400 + 2 * 86400,
    "monthly": 31 * 86400 + 10 * 86400,
}
CADENCE_LABELS: dict[str, tuple[str, str]] = {
    "realtime": ("waktu nyata", "real time"),
    "daily": ("harian", "daily"),
    "weekly": ("mingguan", "weekly"),
    "monthly": ("bulanan", "monthly"),
}


@dataclass(frozen=True)
class Status:
    level: int  # -1 no data, 0 good, 1 warn, 2 bad
    key: StatusKey
    color: str
    label_id: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id


def status(kpi: KpiConfig, value: float | None) -> Status:
    """Status of `value` against the KPI's target and warning threshold."""
    category = kpi_category(kpi, value)
    key = STATUS_KEYS[category.level]
    label_id, label_en = STATUS_LABELS[key]
    return Status(category.level, key, category.color, label_id, label_en)


@dataclass(frozen=True)
class Trend:
    delta: float | None  # current - previous
    percent: float | None  # relative change in %, None when previous is 0 or missing
    arrow: Literal["up", "down", "flat"] | None
    improved: bool | None  # None when flat or unknown


def trend(
    kpi: KpiConfig, current: float | None, previous: float | None, flat_share: float = 0.005
) -> Trend:
    """Change from the previous period. Changes smaller than `flat_share` of the previous value
    (or of the target, if previous is 0) are "flat": neither better nor worse."""
    if current is None or previous is None:
        return Trend(None, None, None, None)
    delta = current - previous
    reference = abs(previous) or abs(kpi.target) or 1.0
    percent = 100.0 * delta / abs(previous) if previous else None
    if abs(delta) <= flat_share * reference:
        return Trend(delta, percent, "flat", None)
    up = delta > 0
    return Trend(delta, percent, "up" if up else "down", up == (kpi.direction == "higher"))


@dataclass(frozen=True)
class Freshness:
    ts: float | None  # time of the newest value
    age_s: float | None
    allowed_s: float
    late: bool  # True also when there is no value at all
    owner: str  # the owner OPD's short name
    message_id: str  # '' when on time
    message_en: str

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_id


def age_text(seconds: float, lang: str = "id") -> str:
    """'4 hari' / '4 days': the coarsest whole unit."""
    units = (
        (86400, "hari", "day"),
        (3600, "jam", "hour"),
        (60, "menit", "minute"),
        (1, "detik", "second"),
    )
    for size, word_id, word_en in units:
        if seconds >= size or size == 1:
            count = int(max(seconds, 0) // size)
            if lang == "en":
                return f"{count} {word_en}{'' if count == 1 else 's'}"
            return f"{count} {word_id}"
    raise AssertionError("unreachable")


def owner_name(city: CityConfig, kpi: KpiConfig) -> str:
    opd = next((o for o in city.opds if o.id == kpi.owner), None)
    return opd.short_name if opd is not None else kpi.owner


def freshness(city: CityConfig, kpi: KpiConfig, ts: float | None, now: float) -> Freshness:
    """Age of the KPI's newest value and whether its owner is late for the KPI's cadence."""
    allowed = ALLOWED_AGE_S[kpi.cadence]
    owner = owner_name(city, kpi)
    cadence_id, cadence_en = CADENCE_LABELS[kpi.cadence]
    if ts is None:
        return Freshness(
            None,
            None,
            allowed,
            True,
            owner,
            f"Belum ada data dari {owner}",
            f"No data from {owner} yet",
        )
    age = max(now - ts, 0.0)
    if age <= allowed:
        return Freshness(ts, age, allowed, False, owner, "", "")
    return Freshness(
        ts,
        age,
        allowed,
        True,
        owner,
        f"TERLAMBAT: {owner} belum memperbarui data ({cadence_id}); "
        f"data terakhir {age_text(age)} lalu",
        f"LATE: {owner} has not updated this {cadence_en} KPI; last data {age_text(age, 'en')} ago",
    )


class BucketLike(Protocol):
    start_ms: int
    mean: float
    low: float
    high: float
    count: int


SummaryKind = Literal["mean", "last", "daily_total"]


def summary_kind(kpi: KpiConfig) -> SummaryKind:
    """How a period is summed up in one number: cumulative series (budget realised so far this
    year) by their latest value, running daily counts (portal visits today) by the mean of each
    day's total, everything else by the mean over the period."""
    if kpi.source.model == "year_progress":
        return "last"
    if kpi.source.model == "daily_count":
        return "daily_total"
    return "mean"


def period_value(
    kpi: KpiConfig, buckets: Sequence[BucketLike], zone_offset_ms: int = 0
) -> float | None:
    """One number for a period from its buckets (oldest first); None when there are none.
    Means are weighted by each bucket's count. For "daily_total", hour buckets are grouped
    into local days (`zone_offset_ms`) and each day's highest running count is its total;
    longer buckets take their highest value (a week bucket: its busiest day)."""
    if not buckets:
        return None
    kind = summary_kind(kpi)
    if kind == "last":
        return buckets[-1].high
    if kind == "daily_total":
        days: dict[int, float] = {}
        for b in buckets:
            day = (b.start_ms + zone_offset_ms) // 86_400_000
            days[day] = max(days.get(day, b.high), b.high)
        return sum(days.values()) / len(days)
    total = sum(b.count for b in buckets)
    if total == 0:
        return None
    return sum(b.mean * b.count for b in buckets) / total


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    label_id: str  # "Tata kelola"
    label_en: str  # "Smart Governance"
    good: int
    warn: int
    bad: int
    nodata: int
    score: float | None  # 0..100: (good + warn / 2) / KPIs with data; None without data

    @property
    def total(self) -> int:
        return self.good + self.warn + self.bad + self.nodata

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id


def score(good: int, warn: int, bad: int) -> float | None:
    """Share of KPIs on target, a KPI needing attention counting half; None without data."""
    measured = good + warn + bad
    return 100.0 * (good + 0.5 * warn) / measured if measured else None


def scorecard(kpis: Iterable[KpiConfig], statuses: Mapping[str, Status]) -> list[DimensionScore]:
    """Per dimension (in the fixed order of `Dimension`), counts of the given KPIs by status.
    A KPI missing from `statuses` counts as no data; dimensions without KPIs are left out."""
    counts: dict[str, dict[str, int]] = {}
    for kpi in kpis:
        key = statuses[kpi.id].key if kpi.id in statuses else "nodata"
        bucket = counts.setdefault(kpi.dimension, {"good": 0, "warn": 0, "bad": 0, "nodata": 0})
        bucket[key] += 1
    result = []
    for dimension in get_args(Dimension):
        if dimension not in counts:
            continue
        c = counts[dimension]
        english, indonesian = DIMENSION_LABELS[dimension]
        result.append(
            DimensionScore(
                dimension,
                indonesian,
                english,
                c["good"],
                c["warn"],
                c["bad"],
                c["nodata"],
                score(c["good"], c["warn"], c["bad"]),
            )
        )
    return result
