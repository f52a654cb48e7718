"""The admin page "Data Masuk" (`/admin/data`): what every source sent, what was refused and
why, and which sensors and OPDs have gone quiet. A light office page like `/operator`, whose
header and styles it shares. Everything here is pure: the callbacks read Redis and SQL and pass
in the time, the counters, the live points and the dead letters. Bahasa Indonesia by default,
English on request; numbers and times stay id-ID, and the reasons a source's data was refused
are shown as the pipeline recorded them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from data.city import City
from data.operator_entries import operator_kpis
from layouts.formatting import format_age, format_clock, format_number
from layouts.i18n import Text
from layouts.map_panel import KIND_LABELS
from layouts.operator import cadence_label, empty_note, kpi_name, operator_opds

# Component ids of this page (kept here, like the operator page's, while layouts/ids.py is
# shared with panels being written at the same time).
IN_TICK = "in-tick"  # dcc.Interval: the automatic refresh
IN_RELOAD = "in-reload"  # the "Muat ulang" button
IN_UPDATED = "in-updated"  # "Diperbarui pukul …"
IN_COUNTERS = "in-counters"
IN_SENSORS = "in-sensors"
IN_OPDS = "in-opds"
IN_SOURCE = "in-source"  # dropdown: dead letters of one source, or all
IN_LETTERS = "in-letters"
IN_LETTERS_SHOWN = "in-letters-shown"  # Store: which dead letters are on screen (see signature)
IN_PAYLOAD_TOGGLE = "in-payload-toggle"  # per dead letter: {"type": IN_PAYLOAD_TOGGLE, "letter": n}
IN_PAYLOAD_FULL = "in-payload-full"  # per dead letter: where the whole payload appears

REFRESH_MS = 10_000
SENSOR_LATE_AFTER_S = 600.0
DAY_S = 86_400.0
# How long an OPD may go without an entry, by the cadence of its KPIs.
CADENCE_LIMITS_S = {"daily": DAY_S, "weekly": 7 * DAY_S, "monthly": 31 * DAY_S}
DEAD_LETTER_LIMIT = 50
PREVIEW_CHARS = 300
STORED_PAYLOAD_CHARS = 20_000  # data.history.dead_letter_row keeps no more than this
# Sources listed even before they have sent anything, so that a silent one shows as zero.
KNOWN_SOURCES = ("http", "ngsi-ld", "mqtt", "csv", "simulator")
SOURCE_LABELS = {
    "http": Text("API HTTP (JSON Komando)", "HTTP API (Komando JSON)"),
    "ngsi-ld": Text("FIWARE NGSI-LD", "FIWARE NGSI-LD"),
    "mqtt": Text("MQTT", "MQTT"),
    "csv": Text("Impor CSV", "CSV import"),
    "simulator": Text("Simulator (data demo)", "Simulator (demo data)"),
    "operator": Text("Halaman operator OPD", "OPD operator page"),
}
# Like the wall's map popups: one decimal for PM2.5, whole numbers for the rest.
VALUE_DECIMALS = {"air_quality": 1}
LIVE_UNAVAILABLE_TEXT = Text(
    "Keadaan langsung (Redis) tidak dapat dibaca saat ini; dicoba lagi otomatis.",
    "The live state (Redis) cannot be read right now; retrying automatically.",
)
LETTERS_UNAVAILABLE_TEXT = Text(
    "Basis data tidak dapat dibaca saat ini; dicoba lagi otomatis.",
    "The database cannot be read right now; retrying automatically.",
)
SHOW_ALL = Text("Tampilkan semua", "Show all")
HIDE = Text("Sembunyikan", "Hide")
LATE = Text("TERLAMBAT", "LATE")
SOURCE = Text("Sumber", "Source")
AGE = Text("Umur", "Age")
STATUS = Text("Status", "Status")


def payload_toggle_id(letter_id: int) -> dict[str, str | int]:
    return {"type": IN_PAYLOAD_TOGGLE, "letter": letter_id}


def payload_full_id(letter_id: int) -> dict[str, str | int]:
    return {"type": IN_PAYLOAD_FULL, "letter": letter_id}


def source_label(source: str, lang: str = "id") -> str:
    label = SOURCE_LABELS.get(source)
    return label(lang) if label else source


def format_moment(ts: float, zone: ZoneInfo, now: float | None = None) -> str:
    """08.45.12 when it is today in the city, else 24-11-2026 08.45.12."""
    moment = datetime.fromtimestamp(ts, zone)
    if now is not None and moment.date() == datetime.fromtimestamp(now, zone).date():
        return moment.strftime("%H.%M.%S")
    return moment.strftime("%d-%m-%Y %H.%M.%S")


def format_share(share: float | None) -> str:
    return "–" if share is None else f"{format_number(share * 100, 1)} %"


def updated_text(now: float, zone: ZoneInfo, zone_label: str, lang: str = "id") -> str:
    return f"{Text('Diperbarui pukul', 'Updated at')(lang)} {format_clock(now, zone)} {zone_label}"


def days_text(seconds: float, lang: str = "id") -> str:
    days = seconds / DAY_S
    unit = Text("hari", "day" if days == 1 else "days")(lang)
    return f"{format_number(days)} {unit}"


def _table(head: list[str], body: list, className: str, foot: list | None = None) -> html.Div:
    parts = [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)]
    if foot:
        parts.append(html.Tfoot(foot))
    return html.Div(html.Table(parts, className=f"in-table {className}"), className="in-wrap")


def _badge(text: str, tone: str) -> html.Span:
    return html.Span(text, className=f"in-badge in-badge-{tone}")


# The page -------------------------------------------------------------------------------------


def intake_layout(city: City, lang: str = "id") -> html.Div:
    return html.Div(
        [
            html.Header(
                [
                    html.Div("KOMANDO", className="op-brand"),
                    html.Div(city.config.name, className="op-city"),
                    html.Div("Admin", className="in-role"),
                ],
                className="op-header",
            ),
            html.Main(
                [
                    html.Div(
                        [
                            html.H1(Text("Data Masuk", "Incoming Data")(lang)),
                            html.Div(
                                [
                                    html.Span(id=IN_UPDATED, className="op-hint"),
                                    html.Button(
                                        Text("Muat ulang", "Reload")(lang),
                                        id=IN_RELOAD,
                                        n_clicks=0,
                                        className="op-button in-reload",
                                    ),
                                ],
                                className="in-toolbar",
                            ),
                        ],
                        className="in-title",
                    ),
                    html.P(
                        Text(
                            "Apa yang dikirim setiap sumber data, apa yang ditolak beserta "
                            "alasannya, dan sensor atau OPD mana yang datanya terlambat. Halaman "
                            f"ini diperbarui otomatis setiap {REFRESH_MS // 1000} detik.",
                            "What every data source sent, what was refused and why, and which "
                            "sensors or OPDs are late with their data. This page refreshes "
                            f"itself every {REFRESH_MS // 1000} seconds.",
                        )(lang),
                        className="op-lead",
                    ),
                    html.Section(
                        [
                            html.H2(
                                Text(
                                    "Diterima dan ditolak per sumber",
                                    "Accepted and refused per source",
                                )(lang)
                            ),
                            html.Div(id=IN_COUNTERS),
                            html.P(
                                Text(
                                    "Dihitung sejak keadaan langsung (Redis) terakhir dimulai: "
                                    "hitungan kembali ke nol bila server Redis dijalankan "
                                    "ulang. Setiap data yang ditolak tetap tersimpan di daftar "
                                    "di bawah.",
                                    "Counted since the live state (Redis) last started: the "
                                    "counts go back to zero when the Redis server restarts. "
                                    "Every refused item stays stored in the list below.",
                                )(lang),
                                className="op-hint in-after",
                            ),
                        ],
                        className="op-card",
                    ),
                    html.Section(
                        [
                            html.H2(Text("Kesegaran data sensor", "Sensor data freshness")(lang)),
                            html.P(
                                Text(
                                    "Umur nilai terakhir setiap sensor (besaran utamanya), yang "
                                    f"tertua di atas. Lebih dari {SENSOR_LATE_AFTER_S / 60:.0f} "
                                    "menit tanpa data: TERLAMBAT.",
                                    "The age of every sensor's last value (its main quantity), "
                                    f"oldest first. More than {SENSOR_LATE_AFTER_S / 60:.0f} "
                                    "minutes without data: LATE.",
                                )(lang),
                                className="op-hint",
                            ),
                            html.Div(id=IN_SENSORS),
                        ],
                        className="op-card",
                    ),
                    html.Section(
                        [
                            html.H2(Text("Kesegaran isian OPD", "OPD entry freshness")(lang)),
                            html.P(
                                Text(
                                    "Isian terakhir setiap OPD yang mengisi indikator di halaman "
                                    "operator, dibanding jadwal indikatornya (harian: 1 hari, "
                                    "mingguan: 7 hari, bulanan: 31 hari; bila jadwalnya berbeda, "
                                    "yang tersering yang berlaku).",
                                    "The last entry of every OPD that enters indicators on the "
                                    "operator page, against its indicators' schedule (daily: 1 "
                                    "day, weekly: 7 days, monthly: 31 days; when they differ, "
                                    "the most frequent applies).",
                                )(lang),
                                className="op-hint",
                            ),
                            html.Div(id=IN_OPDS),
                        ],
                        className="op-card",
                    ),
                    letters_section(lang),
                    dcc.Interval(id=IN_TICK, interval=REFRESH_MS),
                    dcc.Store(id=IN_LETTERS_SHOWN),
                ],
                className="op-main in-main",
            ),
        ],
        # operator-page: the office page's colours, fonts and scrolling; intake-page: our own.
        className="operator-page intake-page",
        lang=lang,
    )


def letters_section(lang: str = "id") -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.H2(
                        Text(
                            f"Data yang ditolak ({DEAD_LETTER_LIMIT} terakhir)",
                            f"Refused data (latest {DEAD_LETTER_LIMIT})",
                        )(lang)
                    ),
                    html.Div(
                        [
                            html.Label(SOURCE(lang), htmlFor=IN_SOURCE),
                            dcc.Dropdown(
                                id=IN_SOURCE,
                                options=source_options({}, lang),
                                placeholder=Text("Semua sumber", "All sources")(lang),
                                clearable=True,
                                searchable=False,
                                persistence=True,
                                persistence_type="session",
                                labels={
                                    "clear_selection": Text("Hapus pilihan", "Clear selection")(
                                        lang
                                    )
                                },
                                className="in-source",
                            ),
                        ],
                        className="in-filter",
                    ),
                ],
                className="in-letters-head",
            ),
            html.P(
                [
                    Text(
                        "Setiap data yang ditolak disimpan beserta sumber, alasan dan isinya, "
                        "yang terbaru di atas. Isi yang panjang dipotong; tekan ",
                        "Every refused item is stored with its source, reason and contents, "
                        "newest first. Long contents are cut short; press ",
                    )(lang),
                    html.Em(SHOW_ALL(lang)),
                    Text(" untuk membaca seluruhnya.", " to read all of it.")(lang),
                ],
                className="op-hint",
            ),
            html.Div(id=IN_LETTERS),
        ],
        className="op-card",
    )


# Counters per source -------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceCount:
    source: str
    accepted: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    @property
    def refused_share(self) -> float | None:
        return self.rejected / self.total if self.total else None


def source_counts(counters: dict[str, int]) -> list[SourceCount]:
    """Redis's `<source>:accepted` / `<source>:rejected` counters, one row per source: the
    known sources first (zero when silent), then any other in alphabetical order."""
    found: dict[str, dict[str, int]] = {}
    for name, amount in counters.items():
        source, _, kind = name.rpartition(":")
        if source and kind in ("accepted", "rejected"):
            found.setdefault(source, {})[kind] = int(amount)
    order = [*KNOWN_SOURCES, *sorted(set(found) - set(KNOWN_SOURCES))]
    return [
        SourceCount(s, found.get(s, {}).get("accepted", 0), found.get(s, {}).get("rejected", 0))
        for s in order
    ]


def source_options(counters: dict[str, int], lang: str = "id") -> list[dict[str, str]]:
    return [
        {"label": source_label(row.source, lang), "value": row.source}
        for row in source_counts(counters)
    ]


def counters_view(rows: list[SourceCount], lang: str = "id") -> html.Div:
    body = []
    for row in rows:
        body.append(
            html.Tr(
                [
                    html.Td([source_label(row.source, lang), " ", html.Code(row.source)]),
                    html.Td(format_number(row.accepted), className="in-num"),
                    html.Td(
                        format_number(row.rejected),
                        className="in-num in-refused" if row.rejected else "in-num",
                    ),
                    html.Td(format_share(row.refused_share), className="in-num"),
                ],
                className="in-silent" if not row.total else None,
                **{"data-source": row.source},
            )
        )
    total = SourceCount("", sum(r.accepted for r in rows), sum(r.rejected for r in rows))
    foot = [
        html.Tr(
            [
                html.Td(Text("Jumlah", "Total")(lang)),
                html.Td(format_number(total.accepted), className="in-num"),
                html.Td(format_number(total.rejected), className="in-num"),
                html.Td(format_share(total.refused_share), className="in-num"),
            ]
        )
    ]
    head = [
        SOURCE(lang),
        Text("Diterima", "Accepted")(lang),
        Text("Ditolak", "Refused")(lang),
        Text("Porsi ditolak", "Share refused")(lang),
    ]
    return _table(head, body, "in-counters", foot)


# Sensor freshness ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorAge:
    sensor_id: str
    name: str
    kind: str
    owner: str  # OPD short name, or ""
    unit: str
    value: float | None  # None: no value in the live state
    ts: float | None
    age_s: float | None
    late: bool


def sensor_ages(
    city: City,
    points: dict[str, tuple[float, float]],
    now: float,
    late_after_s: float = SENSOR_LATE_AFTER_S,
) -> list[SensorAge]:
    """Every configured sensor's primary value and its age, sensors without a value first,
    then oldest first. Fields "<id>/<quantity>" are secondary quantities and not listed; a live
    sensor that the city file no longer has is listed under its id."""
    opds = {o.id: o.short_name for o in city.config.opds}
    configured = {s.id: s for s in city.config.sensors}
    ids = [*configured, *sorted(k for k in points if "/" not in k and k not in configured)]
    rows = []
    for sensor_id in ids:
        sensor = configured.get(sensor_id)
        point = points.get(sensor_id)
        # Clamped: a device clock a little ahead (the pipeline allows 5 min) is not "in -3 s".
        age = None if point is None else max(0.0, now - point[1])
        rows.append(
            SensorAge(
                sensor_id=sensor_id,
                name=sensor.name if sensor else sensor_id,
                kind=sensor.kind if sensor else "",
                owner=opds.get(sensor.owner or "", "") if sensor else "",
                unit=sensor.unit if sensor else "",
                value=None if point is None else point[0],
                ts=None if point is None else point[1],
                age_s=age,
                late=age is None or age > late_after_s,
            )
        )
    return sorted(rows, key=lambda r: (r.ts is not None, r.ts or 0.0, r.sensor_id))


def sensors_view(
    rows: list[SensorAge], zone: ZoneInfo, zone_label: str, now: float, lang: str = "id"
) -> html.Div:
    if not rows:
        return html.Div(
            empty_note(
                Text("Kota ini belum mempunyai sensor.", "This city has no sensors yet.")(lang)
            )
        )
    body = []
    for row in rows:
        if row.ts is None:
            status = _badge(Text("BELUM ADA DATA", "NO DATA YET")(lang), "late")
        elif row.late:
            status = _badge(LATE(lang), "late")
        else:
            status = _badge(Text("segar", "fresh")(lang), "ok")
        kind = KIND_LABELS.get(row.kind)
        value = (
            "–"
            if row.value is None
            else f"{format_number(row.value, VALUE_DECIMALS.get(row.kind, 0))} {row.unit}".strip()
        )
        body.append(
            html.Tr(
                [
                    html.Td(
                        [html.Span(row.name, className="in-name"), " ", html.Code(row.sensor_id)]
                    ),
                    html.Td(kind(lang) if kind else row.kind or "–"),
                    html.Td(row.owner or "–"),
                    html.Td(value, className="in-num"),
                    html.Td(
                        "–" if row.ts is None else format_moment(row.ts, zone, now),
                        className="in-num",
                    ),
                    html.Td(format_age(row.age_s, lang), className="in-num"),
                    html.Td(status),
                ],
                className="in-late" if row.late else None,
                **{"data-sensor": row.sensor_id},
            )
        )
    late = sum(1 for r in rows if r.late)
    if lang == "en":
        summary = f"{len(rows)} {'sensor' if len(rows) == 1 else 'sensors'} · " + (
            f"{late} late or without data" if late else "all fresh"
        )
    else:
        summary = f"{len(rows)} sensor · " + (
            f"{late} terlambat atau belum ada data" if late else "semua segar"
        )
    return html.Div(
        [
            html.Div(summary, className=f"in-summary{' in-summary-late' if late else ''}"),
            _table(
                [
                    "Sensor",
                    Text("Jenis", "Kind")(lang),
                    "OPD",
                    Text("Nilai terakhir", "Last value")(lang),
                    f"{Text('Waktu', 'Time')(lang)} ({zone_label})",
                    AGE(lang),
                    STATUS(lang),
                ],
                body,
                "in-sensors",
            ),
        ]
    )


# OPD freshness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpdAge:
    opd_id: str
    short_name: str
    name: str
    kpis: tuple[tuple[str, str], ...]  # (KPI name, cadence)
    limit_s: float
    ts: float | None  # last entry; None: never entered (as far as the live state knows)
    age_s: float | None
    late: bool


def opd_ages(city: City, entries: dict[str, float], now: float, lang: str = "id") -> list[OpdAge]:
    """OPDs with operator KPIs, with their last entry against the most frequent cadence among
    their KPIs: never entered first, then late ones, then the rest, each by how much of their
    allowance has passed."""
    rows = []
    for opd in operator_opds(city):
        kpis = operator_kpis(city, opd.id)
        limit = min(CADENCE_LIMITS_S.get(k.cadence, DAY_S) for k in kpis)
        ts = entries.get(opd.id)
        age = None if ts is None else max(0.0, now - ts)
        rows.append(
            OpdAge(
                opd_id=opd.id,
                short_name=opd.short_name,
                name=opd.name,
                kpis=tuple((kpi_name(k, lang), k.cadence) for k in kpis),
                limit_s=limit,
                ts=ts,
                age_s=age,
                late=age is None or age > limit,
            )
        )
    return sorted(
        rows,
        key=lambda r: (r.ts is not None, not r.late, -(r.age_s or 0.0) / r.limit_s, r.opd_id),
    )


def opds_view(
    rows: list[OpdAge], zone: ZoneInfo, zone_label: str, now: float, lang: str = "id"
) -> html.Div:
    if not rows:
        return html.Div(
            empty_note(
                Text(
                    "Tidak ada OPD yang mengisi indikator di halaman operator.",
                    "No OPD enters indicators on the operator page.",
                )(lang)
            )
        )
    body = []
    for row in rows:
        if row.ts is None:
            status = _badge(Text("belum pernah", "never")(lang), "late")
        elif row.late:
            status = _badge(LATE(lang), "late")
        else:
            status = _badge(Text("tepat waktu", "on time")(lang), "ok")
        body.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Div(row.short_name, className="in-name"),
                            html.Div(row.name, className="op-hint"),
                        ]
                    ),
                    html.Td(
                        html.Ul(
                            [
                                html.Li(f"{name} ({cadence_label(cadence, lang)})")
                                for name, cadence in row.kpis
                            ],
                            className="in-kpis",
                        )
                    ),
                    html.Td(days_text(row.limit_s, lang), className="in-num"),
                    html.Td(
                        "–" if row.ts is None else format_moment(row.ts, zone, now),
                        className="in-num",
                    ),
                    html.Td(
                        "–" if row.ts is None else format_age(row.age_s, lang), className="in-num"
                    ),
                    html.Td(status),
                ],
                className="in-late" if row.late else None,
                **{"data-opd": row.opd_id},
            )
        )
    head = [
        "OPD",
        Text("Indikator", "Indicators")(lang),
        Text("Batas", "Allowance")(lang),
        f"{Text('Isian terakhir', 'Last entry')(lang)} ({zone_label})",
        AGE(lang),
        STATUS(lang),
    ]
    return _table(head, body, "in-opds")


# Dead letters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    received_ms: int
    source: str
    reason: str
    payload_head: str  # at most PREVIEW_CHARS of it: the list never carries whole payloads
    payload_chars: int

    @property
    def truncated(self) -> bool:
        return self.payload_chars > PREVIEW_CHARS


def letters_signature(source: str | None, rows: list[DeadLetterRow]) -> dict:
    """What the table on screen shows. The automatic refresh leaves an unchanged table alone,
    so that a payload an admin has opened stays open and nothing is re-sent."""
    return {"source": source or "", "ids": [r.id for r in rows]}


def payload_preview(row: DeadLetterRow) -> str:
    head = row.payload_head[:PREVIEW_CHARS]
    return head + "…" if row.truncated else head


def pretty_payload(text: str) -> str:
    """JSON laid out on several lines for reading; anything else (or JSON cut off at the
    storage limit) as it was received."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if not isinstance(parsed, (dict, list)):
        return text
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def full_payload_view(text: str | None, lang: str = "id") -> html.Div:
    if text is None:
        return html.Div(
            empty_note(
                Text(
                    "Data ini tidak ditemukan lagi di basis data.",
                    "This item is no longer in the database.",
                )(lang)
            )
        )
    parts: list = [html.Pre(pretty_payload(text), className="in-payload in-payload-full")]
    if len(text) >= STORED_PAYLOAD_CHARS:
        chars = format_number(STORED_PAYLOAD_CHARS)
        parts.append(
            html.Div(
                Text(
                    f"Disimpan terpotong pada {chars} karakter.",
                    f"Stored cut short at {chars} characters.",
                )(lang),
                className="op-hint",
            )
        )
    return html.Div(parts)


def letters_view(
    rows: list[DeadLetterRow],
    source: str | None,
    zone: ZoneInfo,
    zone_label: str,
    lang: str = "id",
) -> html.Div:
    if not rows:
        if lang == "en":
            where = f" from {source_label(source, lang)}" if source else ""
            return html.Div(empty_note(f"No refused data{where} yet."))
        where = f" dari sumber {source_label(source)}" if source else ""
        return html.Div(empty_note(f"Belum ada data yang ditolak{where}."))
    body = []
    for row in rows:
        payload: list = [html.Pre(payload_preview(row), className="in-payload")]
        if row.truncated:
            payload += [
                html.Div(
                    [
                        html.Button(
                            SHOW_ALL(lang),
                            id=payload_toggle_id(row.id),
                            n_clicks=0,
                            className="in-link-button",
                        ),
                        html.Span(
                            f"{format_number(row.payload_chars)} "
                            f"{Text('karakter', 'characters')(lang)}",
                            className="op-hint",
                        ),
                    ],
                    className="in-payload-actions",
                ),
                html.Div(id=payload_full_id(row.id)),
            ]
        received = datetime.fromtimestamp(row.received_ms / 1000, zone)
        body.append(
            html.Tr(
                [
                    html.Td(f"#{row.id}", className="in-num"),
                    html.Td(received.strftime("%d-%m-%Y %H.%M.%S"), className="in-num"),
                    html.Td(html.Code(row.source), title=source_label(row.source, lang)),
                    html.Td(row.reason, className="in-reason"),
                    html.Td(payload, className="in-payload-cell"),
                ],
                **{"data-letter": str(row.id)},
            )
        )
    head = [
        "No.",
        f"{Text('Diterima', 'Received')(lang)} ({zone_label})",
        SOURCE(lang),
        Text("Alasan", "Reason")(lang),
        Text("Isi data", "Contents")(lang),
    ]
    return _table(head, body, "in-letters")
