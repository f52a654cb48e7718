"""The mayor's review (`/kpi`): scorecard per dimension, KPI trends against target, comparison
of districts, drill-down city → kecamatan → desa and a table of the numbers.

Pure functions of a `Review` (data/kpi_report.py). The page's state lives in its URL
(`/kpi?wilayah=16.74.05&periode=30d`), so every control is a link and a link can be shared.
Figures are plain dicts; numbers and dates are written the id-ID way in both languages.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from data.city import DIMENSION_LABELS, City, KpiConfig
from data.kpi_report import PERIOD_CODES, PERIOD_LABELS, Comparison, KpiRow, Review
from data.kpi_status import CADENCE_LABELS, status, summary_kind
from layouts.formatting import format_number
from layouts.i18n import Text, format_date, format_datetime

# Component ids of this page (the wall's live in layouts/ids.py).
REVIEW_LANG = "review-lang"  # Store: the page's language; its arrival renders the body
REVIEW_BODY = "review-body"
COMPARE_KPI = "review-compare-kpi"
COMPARE_GRAPH = "review-compare-graph"
RANGE = "review-range"
RANGE_APPLY = "review-range-apply"

TITLE = Text("Tinjauan Kinerja Kota", "City Performance Review")
LOADING = Text("Memuat angka…", "Loading the numbers…")
SOURCE_LABELS = {
    "sensors": Text("Agregat sensor", "Sensor aggregate"),
    "operator": Text("Input OPD", "OPD entry"),
    "simulated": Text("Sistem kota (simulasi)", "City system (simulated)"),
}
CITY_LEVEL = Text("tingkat kota", "city level")
BUCKET_LABELS = {
    "hour": Text("per jam", "hourly"),
    "day": Text("per hari", "daily"),
    "week": Text("per minggu", "weekly"),
}
LEVEL_LABELS = {
    "kota": Text("Kecamatan", "Districts (kecamatan)"),
    "kecamatan": Text("Desa/kelurahan", "Villages (desa/kelurahan)"),
}
MINUS = "\u2212"
BLUE = "#1f6fd1"
GREY = "#6b7785"


def kpi_review_layout(city: City, lang: str) -> html.Div:
    """The page shell; its body is rendered by callbacks/kpi_review.py from the URL."""
    return html.Div(
        [
            dcc.Store(id=REVIEW_LANG, data=lang),
            html.Div(
                html.P(LOADING(lang), className="review-loading"),
                id=REVIEW_BODY,
                className="review-body",
            ),
        ],
        className="review-page",
        lang=lang,
    )


# -- small helpers -----------------------------------------------------------------------------
def dimension_title(dimension: str, lang: str) -> str:
    english, indonesian = DIMENSION_LABELS[dimension]
    return english if lang == "en" else f"{indonesian} · {english}"


def kpi_name(kpi: KpiConfig, lang: str) -> str:
    return kpi.name.en if lang == "en" else kpi.name.id


def value_text(kpi: KpiConfig, value: float | None) -> str:
    return format_number(value, kpi.decimals)


def signed(value: float, decimals: int) -> str:
    text = format_number(abs(value), decimals)
    return f"+{text}" if value > 0 else (f"{MINUS}{text}" if value < 0 else text)


def target_text(kpi: KpiConfig, lang: str) -> str:
    sign = "≥" if kpi.direction == "higher" else "≤"
    return f"{Text('Target', 'Target')(lang)} {sign} {value_text(kpi, kpi.target)} {kpi.unit}"


def age_words(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return Text("belum ada data", "no data yet")(lang)
    for size, word_id, word_en in (
        (86400, "hari", "d"),
        (3600, "jam", "h"),
        (60, "mnt", "min"),
    ):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {word_en} ago" if lang == "en" else f"{count} {word_id} lalu"
    return Text("baru saja", "just now")(lang)


def period_text(review: Review, lang: str) -> str:
    zone = ZoneInfo(review.city.config.timezone)
    period = review.period
    first = format_date(period.start, zone, lang)
    last = format_date(max(period.end - 1, period.start), zone, lang)
    span = first if first == last else f"{first} – {last}"
    return f"{span} · {BUCKET_LABELS[period.bucket](lang)}"


def _local(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone)


def _tick_label(moment: datetime, bucket: str, lang: str, zone: ZoneInfo) -> str:
    if bucket == "hour" and moment.hour:
        return moment.strftime("%H.%M")
    return format_date(moment.timestamp(), zone, lang).rsplit(" ", 1)[0]


# -- figures (plain dicts) ---------------------------------------------------------------------
BASE_LAYOUT = {
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "separators": ",.",
    "font": {"family": "system-ui, sans-serif", "size": 11, "color": "#33404d"},
    "showlegend": False,
    "hovermode": "closest",
}
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def trend_figure(row: KpiRow, review: Review, lang: str) -> dict:
    """The period's buckets as a line, the target as a dashed line."""
    kpi = row.kpi
    zone = ZoneInfo(review.city.config.timezone)
    bucket = review.period.bucket
    moments = [_local(b.start_ms, zone) for b in row.series]
    x = [m.strftime("%Y-%m-%d %H:%M") for m in moments]
    # Running totals (budget so far, visits today) are drawn by their highest value per bucket.
    cumulative = summary_kind(kpi) == "last" or (
        summary_kind(kpi) == "daily_total" and bucket != "hour"
    )
    y = [round(b.high if cumulative else b.mean, kpi.decimals + 1) for b in row.series]
    hover = [
        [
            format_datetime(m.timestamp(), zone, review.city.config.timezone_label, lang)
            if bucket == "hour"
            else format_date(m.timestamp(), zone, lang),
            f"{value_text(kpi, v)} {kpi.unit}",
        ]
        for m, v in zip(moments, y, strict=True)
    ]
    start = _local(int(review.period.start * 1000), zone).strftime("%Y-%m-%d %H:%M")
    end = _local(int(review.period.end * 1000), zone).strftime("%Y-%m-%d %H:%M")
    step = max(1, len(x) // 4)
    ticks = list(range(0, len(x), step))
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines" if len(x) > 1 else "markers",
                "x": x,
                "y": y,
                "customdata": hover,
                "hovertemplate": "%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
                "line": {"color": BLUE, "width": 2},
                "marker": {"color": BLUE, "size": 6},
                "name": kpi_name(kpi, lang),
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": [start, end],
                "y": [kpi.target, kpi.target],
                "line": {"color": "#2e9e44", "width": 1.5, "dash": "dash"},
                "hoverinfo": "skip",
                "name": "Target",
            },
        ],
        "layout": {
            **BASE_LAYOUT,
            "height": 150,
            "margin": {"l": 46, "r": 8, "t": 6, "b": 24},
            "xaxis": {
                "type": "date",
                "range": [start, end],
                "tickvals": [x[i] for i in ticks],
                "ticktext": [_tick_label(moments[i], bucket, lang, zone) for i in ticks],
                "showgrid": False,
                "fixedrange": True,
            },
            "yaxis": {"gridcolor": "#e6eaef", "fixedrange": True, "zeroline": False},
        },
    }


def comparison_figure(comparison: Comparison | None, lang: str) -> dict:
    """One horizontal bar per district, coloured by status; the target as a dashed line."""
    if comparison is None or not comparison.regions:
        return {"data": [], "layout": {**BASE_LAYOUT, "height": 80}}
    kpi = comparison.kpi
    regions = comparison.regions
    names = [r.name for r, _ in regions]
    values = [v if v is not None else 0 for _, v in regions]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": names,
                "x": [round(v, kpi.decimals + 1) for v in values],
                "marker": {"color": [status(kpi, v).color for _, v in regions]},
                "text": [
                    f"{value_text(kpi, v)} {kpi.unit}" if v is not None else "–" for _, v in regions
                ],
                "textposition": "auto",
                "customdata": [
                    Text("tidak ada data", "no data")(lang) if v is None else "" for _, v in regions
                ],
                "hovertemplate": "%{y}: %{text} %{customdata}<extra></extra>",
            }
        ],
        "layout": {
            **BASE_LAYOUT,
            "height": 60 + 34 * len(regions),
            "margin": {"l": 150, "r": 16, "t": 8, "b": 28},
            "yaxis": {"autorange": "reversed", "automargin": True, "fixedrange": True},
            "xaxis": {"gridcolor": "#e6eaef", "fixedrange": True, "rangemode": "tozero"},
            "shapes": [
                {
                    "type": "line",
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "x0": kpi.target,
                    "x1": kpi.target,
                    "line": {"color": "#2e9e44", "width": 1.5, "dash": "dash"},
                }
            ],
        },
    }


# -- sections ----------------------------------------------------------------------------------
def header(review: Review, lang: str) -> html.Header:
    query = review.query
    zone = ZoneInfo(review.city.config.timezone)
    other = "en" if lang == "id" else "id"
    search = query.search()
    lang_link = f"/kpi{search}{'&' if search else '?'}lang={other}"
    stamp = format_datetime(review.now, zone, review.city.config.timezone_label, lang)
    return html.Header(
        [
            html.Div(
                [
                    html.H1(TITLE(lang)),
                    html.P(
                        [
                            html.Strong(review.city.config.name),
                            f" · {Text('Data per', 'Data as of')(lang)} {stamp}",
                        ],
                        className="review-sub",
                    ),
                ]
            ),
            html.Nav(
                [
                    html.A(
                        "English" if lang == "id" else "Bahasa Indonesia",
                        href=lang_link,
                        className="review-button review-lang",
                        id="review-lang-link",
                    ),
                    html.A(
                        Text("Unduh CSV", "Download CSV")(lang),
                        href=f"/kpi/export.csv{search}",
                        className="review-button",
                        id="review-csv",
                        download="",
                    ),
                    html.A(
                        Text("Laporan cetak", "Printable report")(lang),
                        href=f"/kpi/laporan{search}{'&' if search else '?'}lang={lang}",
                        className="review-button",
                        id="review-print",
                        target="_blank",
                    ),
                ],
                className="review-actions",
            ),
        ],
        className="review-header",
    )


def breadcrumb(review: Review, lang: str) -> html.Nav:
    items: list = []
    for index, region in enumerate(review.path):
        if index:
            items.append(html.Span("›", className="crumb-sep", **{"aria-hidden": "true"}))
        wilayah = "" if region.level == "kota" else region.kode
        if index == len(review.path) - 1:
            items.append(html.Span(region.name, className="crumb-current"))
        else:
            items.append(dcc.Link(region.name, href=f"/kpi{review.query.search(wilayah=wilayah)}"))
    children = []
    if review.children:
        children = [
            html.Span(LEVEL_LABELS[review.region.level](lang) + ":", className="drill-label"),
            *[
                dcc.Link(
                    child.name,
                    href=f"/kpi{review.query.search(wilayah=child.kode)}",
                    className="chip",
                    id={"type": "review-drill", "kode": child.kode},
                )
                for child in review.children
            ],
        ]
    return html.Nav(
        [
            html.Div(items, className="crumbs", id="review-crumbs"),
            html.Div(children, className="drill"),
        ],
        className="review-breadcrumb",
        **{"aria-label": Text("Wilayah", "Area")(lang)},
    )


def period_picker(review: Review, lang: str) -> html.Nav:
    query = review.query
    links = [
        dcc.Link(
            PERIOD_LABELS[code][1 if lang == "en" else 0],
            href=f"/kpi{query.search(periode=code)}",
            className="chip chip-active" if code == query.periode else "chip",
            id={"type": "review-period", "code": code},
        )
        for code in PERIOD_CODES
        if code != "custom"
    ]
    zone = ZoneInfo(review.city.config.timezone)
    start = datetime.fromtimestamp(review.period.start, zone).date()
    end = datetime.fromtimestamp(max(review.period.end - 1, review.period.start), zone).date()
    custom = html.Div(
        [
            dcc.DatePickerRange(
                id=RANGE,
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                display_format="DD/MM/YYYY",
                first_day_of_week=1,
                max_date_allowed=datetime.fromtimestamp(review.now, zone).date().isoformat(),
                minimum_nights=0,
                start_date_placeholder_text=Text("Dari", "From")(lang),
                end_date_placeholder_text=Text("Sampai", "To")(lang),
                className="review-range",
            ),
            dcc.Link(
                Text("Terapkan", "Apply")(lang),
                href="/kpi"
                + query.search(periode="custom", dari=start.isoformat(), sampai=end.isoformat()),
                id=RANGE_APPLY,
                className="chip chip-active" if query.periode == "custom" else "chip",
            ),
        ],
        className="review-custom",
    )
    return html.Nav(
        [html.Div(links, className="chips"), custom, html.P(period_text(review, lang))],
        className="review-periods",
        **{"aria-label": Text("Periode", "Period")(lang)},
    )


def scorecard_section(review: Review, lang: str) -> html.Section:
    cards = []
    for item in review.scorecard:
        score = item.score
        tone = (
            "nodata"
            if score is None
            else ("good" if score >= 80 else ("warn" if score >= 60 else "bad"))
        )
        cards.append(
            html.Div(
                [
                    html.H3(dimension_title(item.dimension, lang)),
                    html.Div(
                        "–" if score is None else format_number(score, 0),
                        className=f"score score-{tone}",
                    ),
                    html.Div(
                        html.Div(
                            className=f"score-fill score-{tone}",
                            style={"width": f"{score or 0:.0f}%"},
                        ),
                        className="score-bar",
                    ),
                    html.Ul(
                        [
                            html.Li(
                                f"{count} {label(lang)}",
                                className=f"count count-{key}",
                            )
                            for key, count, label in (
                                ("good", item.good, Text("sesuai", "on target")),
                                ("warn", item.warn, Text("perhatian", "attention")),
                                ("bad", item.bad, Text("di luar batas", "off target")),
                                ("nodata", item.nodata, Text("tanpa data", "no data")),
                            )
                            if count
                        ],
                        className="counts",
                    ),
                ],
                className="score-card",
                id={"type": "review-score", "dimension": item.dimension},
            )
        )
    note = (
        Text(
            "Skor: bagian indikator yang sesuai target (yang perlu perhatian dihitung setengah). "
            "Di tingkat kecamatan/desa hanya indikator yang diukur di wilayah itu.",
            "Score: share of KPIs on target (those needing attention count half). For a "
            "district or village, only KPIs measured there.",
        )
    )(lang)
    return html.Section(
        [
            html.H2(Text("Kartu skor per dimensi", "Scorecard by dimension")(lang)),
            html.Div(cards, className="score-grid"),
            html.P(note, className="review-note"),
        ],
        className="review-section",
    )


def kpi_card(row: KpiRow, review: Review, lang: str) -> html.Article:
    kpi = row.kpi
    badges = [html.Span(SOURCE_LABELS[kpi.source.type](lang), className="badge")]
    if row.city_level:
        badges.append(html.Span(CITY_LEVEL(lang), className="badge badge-city"))
    trend_bits: list = []
    if row.trend.arrow is not None and row.trend.delta is not None:
        arrow = {"up": "▲", "down": "▼", "flat": "●"}[row.trend.arrow]
        tone = {True: "better", False: "worse", None: "flat"}[row.trend.improved]
        percent = f" ({signed(row.trend.percent, 1)}%)" if row.trend.percent is not None else ""
        trend_bits = [
            html.Span(
                f"{arrow} {signed(row.trend.delta, kpi.decimals)}{percent}",
                className=f"trend trend-{tone}",
            ),
            html.Span(
                " " + Text("vs periode sebelumnya", "vs previous period")(lang),
                className="muted",
            ),
        ]
    latest = row.latest
    latest_line = [
        html.Span(
            f"{Text('Terkini', 'Latest')(lang)}: "
            + (f"{value_text(kpi, latest[0])} {kpi.unit}" if latest else "–")
        ),
        html.Span(f" · {age_words(row.freshness.age_s, lang)}", className="muted"),
    ]
    message = row.freshness.message(lang)
    cadence = CADENCE_LABELS[kpi.cadence][1 if lang == "en" else 0]
    return html.Article(
        [
            html.Div(
                [html.H4(kpi_name(kpi, lang)), html.Div(badges, className="badges")],
                className="kpi-card-head",
            ),
            html.Div(
                [
                    html.Span(value_text(kpi, row.value), className="kpi-number"),
                    html.Span(f" {kpi.unit}", className="kpi-unit"),
                    html.Span(
                        row.status.label(lang), className=f"status-pill status-{row.status.key}"
                    ),
                ],
                className="kpi-value-line",
            ),
            html.Div(trend_bits, className="kpi-trend"),
            html.Div(
                [
                    html.Span(target_text(kpi, lang)),
                    html.Span(f" · {row.freshness.owner} · {cadence}", className="muted"),
                ],
                className="kpi-meta",
            ),
            html.Div(latest_line, className="kpi-meta"),
            html.Div(
                message,
                className="kpi-late" if row.freshness.late else "kpi-note",
            )
            if message
            else None,
            dcc.Graph(
                figure=trend_figure(row, review, lang),
                config=GRAPH_CONFIG,
                className="kpi-graph",
                style={"height": "150px"},
            )
            if row.series
            else html.Div(
                Text("Tidak ada data pada periode ini", "No data in this period")(lang),
                className="kpi-empty",
            ),
        ],
        className=f"kpi-card kpi-{row.status.key}",
        id={"type": "review-kpi", "kpi": kpi.id},
    )


def kpi_sections(review: Review, lang: str) -> list[html.Section]:
    sections = []
    for dimension in DIMENSION_LABELS:
        rows = [r for r in review.rows if r.kpi.dimension == dimension]
        if rows:
            sections.append(
                html.Section(
                    [
                        html.H2(dimension_title(dimension, lang)),
                        html.Div([kpi_card(r, review, lang) for r in rows], className="kpi-grid"),
                    ],
                    className="review-section",
                )
            )
    return sections


def comparison_section(review: Review, lang: str) -> html.Section | None:
    comparison = review.comparison
    if comparison is None:
        return None
    options = [
        {"label": kpi_name(r.kpi, lang), "value": r.kpi.id}
        for r in review.rows
        if r.kpi.source.type != "simulated"
    ]
    level = "kota" if review.region.level == "kota" else "kecamatan"
    return html.Section(
        [
            html.H2(
                Text("Perbandingan wilayah", "Comparison of areas")(lang)
                + f" — {LEVEL_LABELS[level](lang)}"
            ),
            dcc.Dropdown(
                id=COMPARE_KPI,
                options=options,
                value=comparison.kpi.id,
                clearable=False,
                searchable=False,
                className="review-compare-kpi",
            ),
            dcc.Graph(
                id=COMPARE_GRAPH,
                figure=comparison_figure(comparison, lang),
                config=GRAPH_CONFIG,
                style={"height": f"{comparison_figure(comparison, lang)['layout']['height']}px"},
            ),
        ],
        className="review-section review-compare",
    )


TABLE_HEAD = (
    Text("Indikator", "Indicator"),
    Text("Dimensi", "Dimension"),
    Text("Nilai periode", "Period value"),
    Text("Periode sebelumnya", "Previous period"),
    Text("Perubahan", "Change"),
    Text("Target", "Target"),
    Text("Status", "Status"),
    Text("Terkini", "Latest"),
    Text("Data terakhir", "Last data"),
    Text("OPD", "OPD"),
)


def table_section(review: Review, lang: str) -> html.Section:
    zone = ZoneInfo(review.city.config.timezone)
    label = review.city.config.timezone_label
    body = []
    for row in review.rows:
        kpi = row.kpi
        delta = row.trend.delta
        name = kpi_name(kpi, lang) + (f" ({CITY_LEVEL(lang)})" if row.city_level else "")
        body.append(
            html.Tr(
                [
                    html.Td(name),
                    html.Td(DIMENSION_LABELS[kpi.dimension][0 if lang == "en" else 1]),
                    html.Td(
                        f"{value_text(kpi, row.value)} {kpi.unit}"
                        if row.value is not None
                        else "–",
                        className="num",
                    ),
                    html.Td(f"{value_text(kpi, row.previous)}", className="num"),
                    html.Td(
                        signed(delta, kpi.decimals) if delta is not None else "–",
                        className="num",
                    ),
                    html.Td(target_text(kpi, lang).split(" ", 1)[1], className="num"),
                    html.Td(
                        row.status.label(lang), className=f"status-cell status-{row.status.key}"
                    ),
                    html.Td(value_text(kpi, row.latest[0]) if row.latest else "–", className="num"),
                    html.Td(
                        format_datetime(row.latest[1], zone, label, lang) if row.latest else "–",
                        className="late" if row.freshness.late else "",
                    ),
                    html.Td(row.freshness.owner),
                ]
            )
        )
    return html.Section(
        [
            html.H2(Text("Tabel angka", "Table of the numbers")(lang)),
            html.Div(
                html.Table(
                    [
                        html.Thead(html.Tr([html.Th(h(lang)) for h in TABLE_HEAD])),
                        html.Tbody(body),
                    ],
                    className="review-table",
                    id="review-table",
                ),
                className="table-scroll",
            ),
        ],
        className="review-section",
    )


def review_body(review: Review, lang: str) -> list:
    """Everything under the page title, for one query."""
    simulated = ", ".join(
        kpi_name(k, lang) for k in review.city.config.kpis if k.source.type == "simulated"
    )
    footer = Text(
        f"Nilai sistem kota ({simulated}) masih simulasi dan hanya ada di tingkat kota. "
        "Data sensor adalah data demo.",
        f"City-system values ({simulated}) are still simulated and exist at city level only. "
        "Sensor data are demo data.",
    )
    return [
        header(review, lang),
        breadcrumb(review, lang),
        period_picker(review, lang),
        scorecard_section(review, lang),
        *kpi_sections(review, lang),
        comparison_section(review, lang),
        table_section(review, lang),
        html.Footer(footer(lang), className="review-note"),
    ]
