"""The OPD operator page (`/operator`, "Input Data OPD"): an ordinary light office page on which
an OPD's operator enters the values no sensor measures, by form or CSV upload, in Bahasa
Indonesia or, on request, English (numbers, periods and CSV columns stay as the city writes
them). Everything here is pure: the callbacks compute and pass in the time and the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from dash import dcc, html

from data.city import City, KpiConfig, OpdConfig
from data.operator_entries import operator_kpis
from layouts.formatting import format_number
from layouts.i18n import Text
from layouts.kpi_tiles import target_text

# Component ids of this page. They live here rather than in layouts/ids.py only because that file
# is shared with panels being written at the same time; move them there when convenient.
OP_OPD = "op-opd"
OP_FORM = "op-form"
OP_SAVE = "op-save"
OP_RESULT = "op-result"
OP_UPLOAD = "op-upload"
OP_UPLOAD_RESULT = "op-upload-result"
OP_TEMPLATE = "op-template"  # the example CSV shown as text
OP_TEMPLATE_LINK = "op-template-link"  # the OPD's template (values empty) as a download
OP_HISTORY = "op-history"
OP_SAVED = "op-saved"  # Store: bumped after every save, so the history table re-reads SQL
OP_PERIOD = "op-period"  # per KPI: {"type": OP_PERIOD, "kpi": id}
OP_VALUE = "op-value"  # per KPI: {"type": OP_VALUE, "kpi": id}

CADENCE_LABELS = {
    "daily": Text("harian", "daily"),
    "weekly": Text("mingguan", "weekly"),
    "monthly": Text("bulanan", "monthly"),
    "realtime": Text("waktu nyata", "real time"),
}
PERIOD_HINTS = {
    "daily": Text("TTTT-BB-HH, mis. 2026-05-04", "YYYY-MM-DD, e.g. 2026-05-04"),
    "weekly": Text("TTTT-Wmm (minggu ISO), mis. 2026-W19", "YYYY-Www (ISO week), e.g. 2026-W19"),
    "monthly": Text("TTTT-BB, mis. 2026-05", "YYYY-MM, e.g. 2026-05"),
}
CSV_COLUMNS = "indikator,periode,nilai"
EXAMPLE_PLACEHOLDER = "indikator;periode;nilai\n…"  # until an OPD is chosen
TEMPLATE_NAME = "templat-komando.csv"
MAX_UPLOAD_BYTES = 2_000_000  # 5000 rows (the parser's limit) fit many times over
HISTORY_LIMIT = 10
NO_OPD_TEXT = Text("Pilih OPD terlebih dahulu.", "Choose an OPD first.")
NO_OPD = NO_OPD_TEXT.id
NO_ENTRIES = Text("Belum ada isian untuk OPD ini.", "No entries for this OPD yet.")
NO_KPIS = Text("OPD ini tidak mengisi indikator apa pun.", "This OPD enters no indicators.")
FORM_RETRY_TEXT = Text("Perbaiki lalu tekan Simpan lagi.", "Correct it and press Save again.")


def cadence_label(cadence: str, lang: str = "id") -> str:
    label = CADENCE_LABELS.get(cadence)
    return label(lang) if label else cadence


def kpi_name(kpi: KpiConfig, lang: str = "id") -> str:
    return kpi.name.en if lang == "en" else kpi.name.id


def row_id(kind: str, kpi_id: str) -> dict[str, str]:
    return {"type": kind, "kpi": kpi_id}


def dom_id(component_id: dict[str, str]) -> str:
    """The DOM id Dash renders for a dict id (keys sorted, compact JSON), for <label for>."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def operator_opds(city: City) -> list[OpdConfig]:
    """OPDs that own at least one operator KPI, in the city file's order."""
    return [o for o in city.config.opds if operator_kpis(city, o.id)]


def current_period(cadence: str, now: float, zone: ZoneInfo) -> str:
    """The period that contains `now` in the city's time zone, in the format the entry validator
    expects: 2026-05-04 (daily), 2026-W19 (ISO week, whose year can differ from the calendar
    year around New Year), 2026-05 (monthly)."""
    day = datetime.fromtimestamp(now, zone).date()
    if cadence == "weekly":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if cadence == "monthly":
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


def exact_number(value: float, decimals: int = 0) -> str:
    """id-ID with at least `decimals` places and as many more (up to 4) as the value needs, so
    that a number the operator typed is never shown rounded as if it were the one saved."""
    while decimals < 4 and round(value, decimals) != value:
        decimals += 1
    return format_number(value, decimals)


def range_text(kpi: KpiConfig, lang: str = "id") -> str:
    if kpi.low is None and kpi.high is None:
        return ""
    low = "…" if kpi.low is None else exact_number(kpi.low)
    high = "…" if kpi.high is None else exact_number(kpi.high)
    return f"{Text('rentang wajar', 'plausible range')(lang)} {low}–{high}"


def empty_note(text: str) -> html.P:
    return html.P(text, className="op-empty")


# The page -------------------------------------------------------------------------------------


def operator_layout(city: City, lang: str = "id") -> html.Div:
    opds = operator_opds(city)
    return html.Div(
        [
            html.Header(
                [
                    html.Div("KOMANDO", className="op-brand"),
                    html.Div(city.config.name, className="op-city"),
                ],
                className="op-header",
            ),
            html.Main(
                [
                    html.H1(Text("Input Data OPD", "OPD Data Entry")(lang)),
                    html.P(
                        Text(
                            "Halaman ini untuk petugas OPD yang mengisi indikator yang tidak "
                            "diukur sensor, misalnya kehadiran ASN atau harga bahan pokok. Pilih "
                            "OPD, tulis nama Anda, lalu isi nilai per periode atau unggah berkas "
                            "CSV. Periode yang diisi ulang menggantikan nilai sebelumnya; setiap "
                            "isian dicatat beserta nama petugas dan waktunya.",
                            "This page is for OPD staff who enter the indicators no sensor "
                            "measures, such as civil servant attendance or staple food prices. "
                            "Choose the OPD, write your name, then fill in a value per period or "
                            "upload a CSV file. A period entered again replaces its previous "
                            "value; every entry is recorded with the officer's name and time.",
                        )(lang),
                        className="op-lead",
                    ),
                    html.Section(
                        [
                            html.Div(
                                [
                                    html.Label("OPD", htmlFor=OP_OPD),
                                    dcc.Dropdown(
                                        id=OP_OPD,
                                        options=[
                                            {
                                                "label": f"{o.short_name} — {o.name}",
                                                "value": o.id,
                                            }
                                            for o in opds
                                        ],
                                        placeholder=Text("Pilih OPD…", "Choose an OPD…")(lang),
                                        clearable=False,
                                        # An operator works for one OPD: keep it on reload.
                                        persistence=True,
                                        persistence_type="session",
                                        labels=dropdown_labels(lang),
                                        className="op-opd",
                                    ),
                                ],
                                className="op-field op-field-opd",
                            ),
                        ],
                        className="op-card op-who",
                    ),
                    html.Section(
                        [
                            html.H2(Text("Isi nilai", "Enter values")(lang)),
                            html.Div(
                                empty_note(NO_OPD_TEXT(lang)),
                                id=OP_FORM,
                            ),
                            html.Div(
                                [
                                    html.Button(
                                        Text("Simpan", "Save")(lang),
                                        id=OP_SAVE,
                                        n_clicks=0,
                                        className="op-button",
                                    ),
                                    html.Span(
                                        Text(
                                            "Baris yang nilainya kosong dilewati. Bila ada "
                                            "isian yang salah, tidak ada yang disimpan.",
                                            "Rows without a value are skipped. If any entry is "
                                            "wrong, nothing is saved.",
                                        )(lang),
                                        className="op-hint",
                                    ),
                                ],
                                className="op-actions",
                            ),
                            html.Div(id=OP_RESULT, className="op-result", role="status"),
                        ],
                        className="op-card",
                    ),
                    upload_section(lang),
                    html.Section(
                        [
                            html.H2(Text("Riwayat isian terakhir", "Latest entries")(lang)),
                            html.Div(
                                empty_note(NO_OPD_TEXT(lang)),
                                id=OP_HISTORY,
                            ),
                        ],
                        className="op-card",
                    ),
                    dcc.Store(id=OP_SAVED, data=0),
                ],
                className="op-main",
            ),
        ],
        className="operator-page",
        lang=lang,
    )


def dropdown_labels(lang: str = "id") -> dict[str, str]:
    return {
        "search": Text("Cari", "Search")(lang),
        "clear_search": Text("Hapus pencarian", "Clear search")(lang),
        "clear_selection": Text("Hapus pilihan", "Clear selection")(lang),
        "no_options_found": Text("Tidak ada OPD yang cocok", "No matching OPD")(lang),
    }


def upload_help(lang: str = "id") -> list:
    """How the CSV file is written. The column names stay Indonesian in both languages: they
    are what the file itself must say."""
    if lang == "en":
        return [
            "One row per value, with the header row ",
            html.Code(CSV_COLUMNS),
            ": ",
            html.Strong("indikator"),
            " is the indicator's code (see the form above), ",
            html.Strong("periode"),
            " follows the indicator's period format (daily YYYY-MM-DD, weekly YYYY-Www, "
            "monthly YYYY-MM), and ",
            html.Strong("nilai"),
            " (the value) may be written 96,5 or 96.5. Columns may be separated by commas or "
            "semicolons (as Indonesian Excel exports them); with commas, write decimals with a "
            "point.",
        ]
    return [
        "Satu baris per nilai, dengan baris judul ",
        html.Code(CSV_COLUMNS),
        ": ",
        html.Strong("indikator"),
        " adalah kode indikator (lihat formulir di atas), ",
        html.Strong("periode"),
        " mengikuti format indikatornya (harian TTTT-BB-HH, mingguan TTTT-Wmm, "
        "bulanan TTTT-BB), dan ",
        html.Strong("nilai"),
        " boleh ditulis 96,5 atau 96.5. Pemisah kolom boleh koma atau titik koma "
        "(seperti ekspor Excel berbahasa Indonesia); bila pemisahnya koma, tulis "
        "desimal dengan titik.",
    ]


def upload_section(lang: str = "id") -> html.Section:
    return html.Section(
        [
            html.H2(Text("Unggah berkas CSV", "Upload a CSV file")(lang)),
            html.P(upload_help(lang)),
            # All or nothing, deliberately: a clerk fixes the spreadsheet and uploads it again,
            # and a half-saved file would leave them guessing which rows are already in.
            html.P(
                Text(
                    "Berkas hanya disimpan bila semua barisnya benar. Bila ada baris yang salah, "
                    "tidak ada yang disimpan dan setiap kesalahan ditampilkan dengan nomor "
                    "barisnya.",
                    "A file is saved only when all its rows are right. If any row is wrong, "
                    "nothing is saved and every error is shown with its row number.",
                )(lang),
                className="op-note",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                Text("Contoh isi berkas:", "Example file contents:")(lang),
                                className="op-hint",
                            ),
                            html.Pre(EXAMPLE_PLACEHOLDER, id=OP_TEMPLATE, className="op-template"),
                        ]
                    ),
                    html.A(
                        Text(
                            "Unduh templat CSV (kolom nilai kosong, siap diisi)",
                            "Download the CSV template (values empty, ready to fill in)",
                        )(lang),
                        id=OP_TEMPLATE_LINK,
                        href=template_href(""),
                        download=TEMPLATE_NAME,
                        className="op-link",
                    ),
                ],
                className="op-template-box",
            ),
            dcc.Upload(
                html.Div(
                    [
                        html.Strong(Text("Seret berkas CSV ke sini", "Drop a CSV file here")(lang)),
                        Text(
                            " atau klik untuk memilih (maks. 2 MB)",
                            " or click to choose one (max. 2 MB)",
                        )(lang),
                    ]
                ),
                id=OP_UPLOAD,
                accept=".csv,text/csv,text/plain,application/vnd.ms-excel",
                max_size=MAX_UPLOAD_BYTES,
                className="op-upload",
                className_active="op-upload active",
                className_reject="op-upload rejected",
            ),
            html.Div(id=OP_UPLOAD_RESULT, className="op-result", role="status"),
        ],
        className="op-card",
    )


# Per OPD: form rows, CSV template ------------------------------------------------------------


INDICATOR = Text("Indikator", "Indicator")
PERIOD = Text("Periode", "Period")
VALUE = Text("Nilai", "Value")


def form_rows(city: City, opd_id: str, now: float, lang: str = "id") -> html.Div:
    kpis = operator_kpis(city, opd_id)
    if not kpis:
        return html.Div(empty_note(NO_KPIS(lang)))
    zone = ZoneInfo(city.config.timezone)
    head = html.Div(
        [html.Span(INDICATOR(lang)), html.Span(PERIOD(lang)), html.Span(VALUE(lang))],
        className="op-row op-row-head",
        **{"aria-hidden": "true"},
    )
    return html.Div([head, *(form_row(kpi, now, zone, lang) for kpi in kpis)], className="op-rows")


def form_row(kpi: KpiConfig, now: float, zone: ZoneInfo, lang: str = "id") -> html.Div:
    facts = [kpi.unit, cadence_label(kpi.cadence, lang), target_text(kpi)]
    if range_text(kpi, lang):
        facts.append(range_text(kpi, lang))
    name = kpi_name(kpi, lang)
    hint = PERIOD_HINTS.get(kpi.cadence)
    return html.Div(
        [
            html.Div(
                [
                    html.Div(name, className="op-kpi-name"),
                    html.Div(
                        [html.Code(kpi.id), " · ", " · ".join(f for f in facts if f)],
                        className="op-kpi-facts",
                    ),
                ],
                className="op-kpi",
            ),
            html.Div(
                [
                    html.Label(
                        f"{PERIOD(lang)} {name}",
                        htmlFor=dom_id(row_id(OP_PERIOD, kpi.id)),
                        className="op-sr-only",
                    ),
                    dcc.Input(
                        id=row_id(OP_PERIOD, kpi.id),
                        type="text",
                        value=current_period(kpi.cadence, now, zone),
                        className="op-input op-period",
                        spellCheck=False,
                    ),
                    html.Div(hint(lang) if hint else "", className="op-hint"),
                ]
            ),
            html.Div(
                [
                    html.Label(
                        f"{VALUE(lang)} {name} ({kpi.unit})",
                        htmlFor=dom_id(row_id(OP_VALUE, kpi.id)),
                        className="op-sr-only",
                    ),
                    dcc.Input(
                        id=row_id(OP_VALUE, kpi.id),
                        type="text",
                        placeholder=Text("kosong = lewati", "empty = skip")(lang),
                        className="op-input op-value",
                    ),
                    html.Span(kpi.unit, className="op-unit"),
                ],
                className="op-value-cell",
            ),
        ],
        className="op-row",
        **{"data-kpi": kpi.id},
    )


def csv_template(city: City, opd_id: str, now: float) -> str:
    """The file to download: the OPD's indicators and current periods with the values left
    empty, so that uploading the template unfilled saves nothing (every row says `wajib
    diisi`) instead of recording example numbers as real data."""
    zone = ZoneInfo(city.config.timezone)
    lines = ["indikator;periode;nilai"]
    lines += [
        f"{k.id};{current_period(k.cadence, now, zone)};" for k in operator_kpis(city, opd_id)
    ]
    return "\n".join(lines) + "\n"


def csv_example(city: City, opd_id: str, now: float) -> str:
    """What a filled file looks like (shown on the page, with the targets as sample values)."""
    zone = ZoneInfo(city.config.timezone)
    lines = ["indikator;periode;nilai"]
    lines += [
        f"{k.id};{current_period(k.cadence, now, zone)};{format_number(k.target, k.decimals)}"
        for k in operator_kpis(city, opd_id)
    ]
    return "\n".join(lines)


def template_href(text: str) -> str:
    # The BOM makes Excel read the file as UTF-8; parse_csv's callers strip it again.
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + (text or "indikator;periode;nilai\n"))


# Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    """One row of the operator's input as checked: what it is, and its error if any."""

    label: str  # e.g. "Kehadiran ASN · 2026-05-04" or "Baris 3", in the page's language
    value_text: str = ""  # id-ID formatted value with its unit, for valid rows
    error: str | None = None  # the validator's message (Bahasa Indonesia; see check_form)


# What a wrong item is called, "isian" (a form's entry) or "baris" (a file's row), in English.
NOUNS_EN = {"isian": ("entry", "entries"), "baris": ("row", "rows")}


def english_noun(noun: str, count: int) -> str:
    one, many = NOUNS_EN.get(noun, (noun, noun))
    return one if count == 1 else many


def result_view(
    rows: list[RowOutcome],
    problems: list[str],
    saved: bool,
    saved_at: str = "",
    retry: str | None = None,
    noun: str = "isian",
    notes: list[str] | None = None,
    error_count: int | None = None,
    lang: str = "id",
) -> html.Div:
    """The per-row listing under the Simpan button or the upload box.

    saved: whether the valid rows were written. When anything is wrong nothing is written, and
    the valid rows say so rather than claim to be saved. problems: what stopped the save (a
    missing name, an unreadable file); notes: plain information (the file's name)."""
    errors = sum(1 for r in rows if r.error) if error_count is None else error_count
    retry = FORM_RETRY_TEXT(lang) if retry is None else retry
    if saved:
        count = len(rows) - errors
        if lang == "en":
            headline = f"{count} {'value' if count == 1 else 'values'} saved" + (
                f" at {saved_at}." if saved_at else "."
            )
        else:
            headline = f"{count} nilai tersimpan" + (f" pukul {saved_at}." if saved_at else ".")
    elif errors:
        headline = Text(
            f"Tidak ada yang disimpan: {errors} {noun} salah. {retry}",
            f"Nothing saved: {errors} {english_noun(noun, errors)} wrong. {retry}",
        )(lang)
    else:
        headline = Text("Tidak ada yang disimpan.", "Nothing saved.")(lang)
    tone = "ok" if saved else "error"
    items = []
    for row in rows:
        if row.error:
            status, css = row.error, "op-status-error"
        elif saved:
            status, css = Text("Tersimpan", "Saved")(lang), "op-status-ok"
        else:
            status = Text("Benar, belum disimpan", "Correct, not saved")(lang)
            css = "op-status-pending"
        items.append(
            html.Li(
                [
                    html.Span(row.label, className="op-result-label"),
                    html.Span(row.value_text, className="op-result-value"),
                    html.Span(status, className="op-result-status"),
                ],
                className=f"op-result-row {css}",
            )
        )
    return html.Div(
        [
            html.Div(headline, className="op-result-headline"),
            *(html.Div(n, className="op-result-note") for n in notes or []),
            *(html.Div(p, className="op-problem") for p in problems),
            html.Ul(items, className="op-result-list") if items else None,
        ],
        className=f"op-result-box op-tone-{tone}",
    )


# History -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    ts: float  # when it was entered (epoch seconds)
    kpi_id: str
    period: str
    value: float | None
    actor: str
    channel: str  # form | csv | …
    replaced: float | None = None


CHANNEL_LABELS = {
    "form": Text("formulir", "form"),
    "csv": Text("CSV", "CSV"),
    "api": Text("API", "API"),
}


def history_table(city: City, rows: list[HistoryRow], lang: str = "id") -> html.Div:
    if not rows:
        return html.Div(empty_note(NO_ENTRIES(lang)))
    zone = ZoneInfo(city.config.timezone)
    by_id = {k.id: k for k in city.config.kpis}
    body = []
    for row in rows:
        kpi = by_id.get(row.kpi_id)
        decimals = kpi.decimals if kpi else 3
        value = format_number(row.value, decimals) + (f" {kpi.unit}" if kpi else "")
        if row.replaced is not None:
            replaced = Text("menggantikan", "replacing")(lang)
            value += f" ({replaced} {format_number(row.replaced, decimals)})"
        channel = CHANNEL_LABELS.get(row.channel)
        body.append(
            html.Tr(
                [
                    html.Td(kpi_name(kpi, lang) if kpi else row.kpi_id),
                    html.Td(row.period),
                    html.Td(value, className="op-num"),
                    html.Td(row.actor),
                    html.Td(datetime.fromtimestamp(row.ts, zone).strftime("%d-%m-%Y %H.%M")),
                    html.Td(channel(lang) if channel else row.channel),
                ]
            )
        )
    head = html.Tr(
        [
            html.Th(INDICATOR(lang)),
            html.Th(PERIOD(lang)),
            html.Th(VALUE(lang)),
            html.Th(Text("Petugas", "Officer")(lang)),
            html.Th(f"{Text('Waktu', 'Time')(lang)} ({city.config.timezone_label})"),
            html.Th(Text("Cara", "Channel")(lang)),
        ]
    )
    return html.Div(
        html.Table([html.Thead(head), html.Tbody(body)], className="op-history"),
        className="op-table-wrap",
    )
