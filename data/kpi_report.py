"""The numbers behind the mayor's review (`/kpi`), its CSV export and its printed report.

`parse_query` reads the shared URL parameters (`wilayah`, `periode`, `dari`, `sampai`, `kpi`),
`resolve_period` turns a period code into a time range in the city's zone, `read_history` runs
the bucketed history queries (data/history_queries.py; nothing row-by-row leaves SQL) into plain
data that web workers share through Redis (data/review_cache.py), and `build_review` judges each
KPI with data/kpi_status.py. Blocking: web callers run them in a thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from data.city import City, KpiConfig
from data.history_queries import (
    Bucket,
    kpi_region_means,
    kpi_series,
    latest_kpi_points,
    zone_offset_ms,
)
from data.kpi_status import (
    DimensionScore,
    Freshness,
    Status,
    Trend,
    freshness,
    period_value,
    scorecard,
    status,
    trend,
)
from data.regions import Region, RegionTree, db_kode, region_tree

PERIOD_CODES = ("today", "7d", "30d", "quarter", "year", "custom")
PERIOD_LABELS: dict[str, tuple[str, str]] = {
    "today": ("Hari ini", "Today"),
    "7d": ("7 hari", "7 days"),
    "30d": ("30 hari", "30 days"),
    "quarter": ("Kuartal ini", "This quarter"),
    "year": ("Tahun ini", "This year"),
    "custom": ("Rentang", "Range"),
}
DEFAULT_PERIOD = "30d"
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class ReviewQuery:
    wilayah: str = ""  # kode wilayah of a kecamatan or desa; '' = the whole city
    periode: str = DEFAULT_PERIOD
    dari: str = ""  # custom range, YYYY-MM-DD, inclusive
    sampai: str = ""
    kpi: str = ""  # the KPI compared across districts

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "wilayah": self.wilayah,
            "periode": self.periode,
            "dari": self.dari if self.periode == "custom" else "",
            "sampai": self.sampai if self.periode == "custom" else "",
            "kpi": self.kpi,
        }
        values.update(changes)
        if values.get("periode") != "custom":
            values["dari"] = values["sampai"] = ""
        return {k: v for k, v in values.items() if v}

    def search(self, **changes: str) -> str:
        """'?wilayah=16.74.05&periode=30d', for links that keep the page's state."""
        encoded = urlencode(self.params(**changes), safe=".")
        return f"?{encoded}" if encoded else ""


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_query(search: str | Mapping[str, str] | None, city: City) -> ReviewQuery:
    """The page state from a query string or mapping; anything unknown falls back to the
    defaults (the whole city, 30 days), so an edited or old link still opens."""
    if isinstance(search, Mapping):
        raw = {k: str(v) for k, v in search.items()}
    else:
        raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    tree = region_tree(city)
    wilayah = raw.get("wilayah", "").strip()
    if wilayah == city.config.kode or tree.get(wilayah) is None:
        wilayah = ""
    periode = raw.get("periode", DEFAULT_PERIOD)
    if periode not in PERIOD_CODES:
        periode = DEFAULT_PERIOD
    dari, sampai = raw.get("dari", ""), raw.get("sampai", "")
    if periode == "custom":
        start, end = _parse_day(dari), _parse_day(sampai)
        if start is None or end is None or end < start:
            periode, dari, sampai = DEFAULT_PERIOD, "", ""
        elif (end - start).days > MAX_CUSTOM_DAYS:
            dari = (end - timedelta(days=MAX_CUSTOM_DAYS)).isoformat()
    else:
        dari = sampai = ""
    kpi = raw.get("kpi", "")
    if kpi not in {k.id for k in city.config.kpis}:
        kpi = ""
    return ReviewQuery(wilayah, periode, dari, sampai, kpi)


@dataclass(frozen=True)
class Period:
    code: str
    start: float
    end: float
    previous_start: float  # the same length just before, for trends
    bucket: str  # hour | day | week

    @property
    def length_s(self) -> float:
        return self.end - self.start


def _midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def bucket_for(length_s: float) -> str:
    """Hour buckets up to 7 days, days up to ~4 months, weeks beyond: 24–170 points a chart."""
    if length_s <= 7 * 86400 + 3600:
        return "hour"
    if length_s <= 130 * 86400:
        return "day"
    return "week"


def resolve_period(query: ReviewQuery, now: float, zone: ZoneInfo) -> Period:
    """Time range of the query's period in the city's zone, ending now (custom: at the end of
    its last day, or now if that is later than now)."""
    today = datetime.fromtimestamp(now, zone).date()
    code = query.periode
    if code == "today":
        start, end = _midnight(today, zone), now
    elif code == "7d":
        start, end = now - 7 * 86400, now
    elif code == "30d":
        start, end = _midnight(today - timedelta(days=29), zone), now
    elif code == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        start, end = _midnight(date(today.year, first_month, 1), zone), now
    elif code == "year":
        start, end = _midnight(date(today.year, 1, 1), zone), now
    else:
        first, last = date.fromisoformat(query.dari), date.fromisoformat(query.sampai)
        start = _midnight(first, zone)
        end = min(_midnight(last + timedelta(days=1), zone), max(now, start + 3600))
    length = max(end - start, 60.0)
    return Period(code, start, end, start - length, bucket_for(length))


@dataclass
class KpiRow:
    kpi: KpiConfig
    region_kode: str  # '' when the values are the city's
    city_level: bool  # a city-system KPI shown in a district view ("tingkat kota")
    value: float | None  # the period's value
    previous: float | None  # the previous period's value
    status: Status
    trend: Trend
    latest: tuple[float, float] | None  # newest (value, ts), live when available
    freshness: Freshness  # not late, with a "not measured" message, when never recorded here
    series: list[Bucket] = field(default_factory=list)  # this period's buckets


@dataclass
class Comparison:
    kpi: KpiConfig
    regions: list[tuple[Region, float | None]]  # the children of the current region


@dataclass
class Review:
    city: City
    query: ReviewQuery
    period: Period
    region: Region
    path: list[Region]  # breadcrumb, city first
    children: list[Region]  # kecamatan of the city, desa of a kecamatan, none for a desa
    rows: list[KpiRow]
    scorecard: list[DimensionScore]
    comparison: Comparison | None
    now: float


def region_scope(kpi: KpiConfig, region_kode: str) -> str:
    """Where the KPI's values for a region view come from: city-system KPIs have only the
    city's ('' = city level), the others the region's own."""
    return "" if kpi.source.type == "simulated" else region_kode


def comparable_kpis(city: City) -> list[KpiConfig]:
    """KPIs that have values per district: sensor aggregates and operator entries."""
    return [k for k in city.config.kpis if k.source.type != "simulated"]


def comparison_children(tree: RegionTree, region: Region) -> list[Region]:
    """The areas a comparison sets side by side: the region's children, or its siblings."""
    return tree.children(region.kode) or (tree.children(region.parent) if region.parent else [])


def read_comparison(
    engine: Engine, city: City, region: Region, kpi_id: str, period: Period
) -> dict[str, tuple[float, int]]:
    """The SQL behind a comparison: {kode: (mean, count)} of the KPI in each area compared."""
    children = comparison_children(region_tree(city), region)
    return kpi_region_means(engine, kpi_id, [c.kode for c in children], period.start, period.end)


def comparison_of(
    city: City, region: Region, kpi_id: str, means: Mapping[str, tuple[float, int]]
) -> Comparison | None:
    kpi = next((k for k in comparable_kpis(city) if k.id == kpi_id), None)
    if kpi is None:
        return None
    children = comparison_children(region_tree(city), region)
    return Comparison(kpi, [(c, means.get(c.kode, (None, 0))[0]) for c in children])


@dataclass
class ReviewHistory:
    """What the review reads from SQL for one query, as plain data: it is kept in Redis for a
    minute and shared by every web worker (data/review_cache.py). `read_at` is the time it was
    read: the period is resolved from it, so the buckets and the period agree."""

    read_at: float
    latest_here: dict[str, tuple[float, float]]
    latest_city: dict[str, tuple[float, float]]
    series: dict[str, list[Bucket]]  # kpi id -> buckets of the period and the one before
    comparison_kpi: str = ""
    comparison_means: dict[str, tuple[float, int]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ReviewHistory:
        raw = json.loads(text)
        return cls(
            read_at=float(raw["read_at"]),
            latest_here={k: (v[0], v[1]) for k, v in raw["latest_here"].items()},
            latest_city={k: (v[0], v[1]) for k, v in raw["latest_city"].items()},
            series={k: [Bucket(**b) for b in v] for k, v in raw["series"].items()},
            comparison_kpi=raw["comparison_kpi"],
            comparison_means={k: (v[0], v[1]) for k, v in raw["comparison_means"].items()},
        )


def read_history(
    engine: Engine, city: City, query: ReviewQuery, now: float, with_comparison: bool = True
) -> ReviewHistory:
    """Every SQL read of the review for `query` at `now`."""
    tree = region_tree(city)
    region = tree.get(query.wilayah) or tree.city
    kode = db_kode(city.config.kode, region.kode)
    zone = ZoneInfo(city.config.timezone)
    period = resolve_period(query, now, zone)
    kpis = city.config.kpis
    latest_here = latest_kpi_points(engine, [k.id for k in kpis], kode, before=now + 300)
    latest_city = (
        latest_kpi_points(
            engine, [k.id for k in kpis if k.source.type == "simulated"], "", before=now + 300
        )
        if kode
        else latest_here
    )
    series = {
        kpi.id: kpi_series(
            engine,
            kpi.id,
            period.previous_start,
            period.end,
            period.bucket,
            zone.key,
            region_scope(kpi, kode),
        )
        for kpi in kpis
    }
    history = ReviewHistory(now, latest_here, latest_city, series)
    if with_comparison:
        history.comparison_kpi = query.kpi or comparable_kpis(city)[0].id
        history.comparison_means = read_comparison(
            engine, city, region, history.comparison_kpi, period
        )
    return history


def build_review(
    engine: Engine | None,
    city: City,
    query: ReviewQuery,
    now: float,
    live: Mapping[str, tuple[float, float]] | None = None,
    with_comparison: bool = True,
    history: ReviewHistory | None = None,
) -> Review:
    """Every number of the review for `query`. `live` ({kpi_id: (value, ts)}) are the region's
    live KPI points from Redis, newer than what SQL has; city-level live points for city-system
    KPIs may be passed under the key '<kpi_id>@city'. `history`: what `read_history` read
    (perhaps a little earlier, from the shared cache); without it SQL is read now."""
    if history is None:
        assert engine is not None, "no history and no database to read it from"
        history = read_history(engine, city, query, now, with_comparison)
    zone = ZoneInfo(city.config.timezone)
    tree = region_tree(city)
    region = tree.get(query.wilayah) or tree.city
    kode = db_kode(city.config.kode, region.kode)
    period = resolve_period(query, history.read_at, zone)
    offset = zone_offset_ms(city.config.timezone, period.start)
    live = live or {}
    rows: list[KpiRow] = []
    start_ms = int(period.start * 1000)
    for kpi in city.config.kpis:
        scope = region_scope(kpi, kode)
        both = history.series.get(kpi.id, [])
        current = [b for b in both if b.start_ms >= start_ms]
        previous = [b for b in both if b.start_ms < start_ms]
        value = period_value(kpi, current, offset)
        before = period_value(kpi, previous, offset)
        stored = (history.latest_city if scope != kode else history.latest_here).get(kpi.id)
        live_point = live.get(f"{kpi.id}@city") if scope != kode else live.get(kpi.id)
        latest = max(
            (p for p in (stored, live_point) if p is not None), key=lambda p: p[1], default=None
        )
        fresh = freshness(city.config, kpi, latest[1] if latest else None, now)
        if latest is None and scope:
            # Never recorded here: no sensor of its kind in this area, or an OPD that enters it
            # for the whole city only. Not measured is not late.
            fresh = Freshness(
                None, None, fresh.allowed_s, False, fresh.owner,
                "Tidak diukur di wilayah ini", "Not measured in this area",
            )  # fmt: skip
        rows.append(
            KpiRow(
                kpi=kpi,
                region_kode=scope,
                city_level=bool(kode) and scope != kode,
                value=value,
                previous=before,
                status=status(kpi, value),
                trend=trend(kpi, value, before),
                latest=latest,
                freshness=fresh,
                series=current,
            )
        )
    # A district's scorecard counts only what was measured in the district.
    statuses = {r.kpi.id: r.status for r in rows if not r.city_level}
    card = scorecard([r.kpi for r in rows if not r.city_level], statuses)
    comparison = None
    if with_comparison and history.comparison_kpi:
        comparison = comparison_of(city, region, history.comparison_kpi, history.comparison_means)
    return Review(
        city=city,
        query=query,
        period=period,
        region=region,
        path=tree.path(region.kode),
        children=tree.children(region.kode),
        rows=rows,
        scorecard=card,
        comparison=comparison,
        now=now,
    )
