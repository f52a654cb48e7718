"""The review's numbers outside the page: `GET /kpi/export.csv` and `GET /kpi/laporan` (a
printable report), with the page's own query parameters (`wilayah`, `periode`, `dari`, `sampai`).

CSV choices, for Excel and LibreOffice in Indonesian locales, where a comma is the decimal mark
and list separator is ';':
- UTF-8 with a BOM (without it Excel reads "µg/m³" as mojibake);
- ';' between fields, numbers with a decimal comma and no thousands separator (1234,5), so that
  they arrive as numbers, not text;
- times as local "YYYY-MM-DD HH:MM" in the city's zone, which every spreadsheet parses.
`?jenis=seri` exports the bucketed series (one row per KPI and bucket) instead of the summary.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from data.city import DIMENSION_LABELS, City
from data.kpi_report import Review, build_review, parse_query
from data.kpi_status import CADENCE_LABELS
from layouts.formatting import format_number
from layouts.i18n import Text, format_datetime, lang_from_search
from layouts.kpi_review import SOURCE_LABELS, TITLE, dimension_title, period_text, target_text

CSV_HEADER = (
    "indikator",
    "nama",
    "dimensi",
    "wilayah_kode",
    "wilayah",
    "tingkat",
    "periode_mulai",
    "periode_akhir",
    "nilai_periode",
    "nilai_periode_sebelumnya",
    "perubahan",
    "satuan",
    "arah",
    "target",
    "batas_peringatan",
    "status",
    "nilai_terkini",
    "waktu_terkini",
    "terlambat",
    "opd",
    "sumber",
)
DIRECTION_WORDS = {"higher": "lebih tinggi lebih baik", "lower": "lebih rendah lebih baik"}
SERIES_HEADER = ("indikator", "wilayah_kode", "waktu", "rata_rata", "min", "maks", "jumlah_data")


def csv_number(value: float | None, decimals: int) -> str:
    """1234,5: decimal comma, no grouping; '' for no value."""
    if value is None:
        return ""
    return f"{value:.{decimals}f}".replace(".", ",")


def _local(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M")


def review_csv(review: Review, series: bool = False) -> str:
    """The review as CSV text (without the BOM, which the response adds)."""
    zone = ZoneInfo(review.city.config.timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    region_kode = review.region.kode
    if series:
        writer.writerow(SERIES_HEADER)
        for row in review.rows:
            d = row.kpi.decimals + 1
            for b in row.series:
                writer.writerow(
                    (
                        row.kpi.id,
                        row.region_kode or review.city.config.kode,
                        _local(b.start_ms / 1000, zone),
                        csv_number(b.mean, d),
                        csv_number(b.low, d),
                        csv_number(b.high, d),
                        b.count,
                    )
                )
        return out.getvalue()
    writer.writerow(CSV_HEADER)
    for row in review.rows:
        kpi = row.kpi
        d = kpi.decimals + 1
        writer.writerow(
            (
                kpi.id,
                kpi.name.id,
                DIMENSION_LABELS[kpi.dimension][0],
                review.city.config.kode if row.city_level else region_kode,
                review.city.config.name if row.city_level else review.region.name,
                "kota" if row.city_level else review.region.level,
                _local(review.period.start, zone),
                _local(review.period.end, zone),
                csv_number(row.value, d),
                csv_number(row.previous, d),
                csv_number(row.trend.delta, d),
                kpi.unit,
                DIRECTION_WORDS[kpi.direction],
                csv_number(kpi.target, kpi.decimals),
                csv_number(kpi.warn, kpi.decimals),
                row.status.label_id,
                csv_number(row.latest[0], d) if row.latest else "",
                _local(row.latest[1], zone) if row.latest else "",
                "ya" if row.freshness.late else "tidak",
                row.freshness.owner,
                kpi.source.type,
            )
        )
    return out.getvalue()


def _e(text: object) -> str:
    return html.escape(str(text))


REPORT_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1d2733; margin: 24px auto; max-width: 1100px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.sub { color: #4b5866; margin: 0 0 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 8px; }
.card { border: 1px solid #d5dce3; border-radius: 6px; padding: 8px 10px; break-inside: avoid; }
.card b { font-size: 22px; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { border-bottom: 1px solid #d5dce3; padding: 4px 6px; text-align: left;
         vertical-align: top; }
th { background: #f1f4f7; } td.num { text-align: right; white-space: nowrap; }
.s-good { color: #1f7a33; } .s-warn { color: #8a6d00; } .s-bad { color: #b3141a; }
.s-nodata { color: #6b7785; } .late { color: #b3141a; font-weight: 600; }
.tools { margin: 12px 0; } .tools a { margin-right: 12px; }
footer { color: #6b7785; font-size: 12px; margin-top: 24px; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  .tools { display: none; }
  tr, .card { break-inside: avoid; }
  @page { size: A4 landscape; margin: 12mm; }
}
"""


def review_html(review: Review, lang: str) -> str:
    """A self-contained, printable page: title, city, area, period, scorecard, table."""
    zone = ZoneInfo(review.city.config.timezone)
    label = review.city.config.timezone_label
    area = " › ".join(r.name for r in review.path)
    search = review.query.search()
    cards = "".join(
        f'<div class="card"><div>{_e(dimension_title(d.dimension, lang))}</div>'
        f"<b>{'–' if d.score is None else format_number(d.score, 0)}</b>"
        f"<div>{d.good} {Text('sesuai', 'on target')(lang)} · {d.warn} "
        f"{Text('perhatian', 'attention')(lang)} · {d.bad} {Text('di luar', 'off')(lang)} · "
        f"{d.nodata} {Text('tanpa data', 'no data')(lang)}</div></div>"
        for d in review.scorecard
    )
    heads = (
        Text("Indikator", "Indicator"),
        Text("Nilai periode", "Period value"),
        Text("Sebelumnya", "Previous"),
        Text("Target", "Target"),
        Text("Status", "Status"),
        Text("Data terakhir", "Last data"),
        Text("OPD · sumber", "OPD · source"),
    )
    rows = []
    for row in review.rows:
        kpi = row.kpi
        name = kpi.name.en if lang == "en" else kpi.name.id
        if row.city_level:
            name += f" ({Text('tingkat kota', 'city level')(lang)})"
        late = (
            f'<div class="late">{_e(row.freshness.message(lang))}</div>'
            if (row.freshness.late)
            else ""
        )
        cadence = CADENCE_LABELS[kpi.cadence][1 if lang == "en" else 0]
        rows.append(
            "<tr>"
            f"<td>{_e(name)}</td>"
            f'<td class="num">{_e(format_number(row.value, kpi.decimals))} {_e(kpi.unit)}</td>'
            f'<td class="num">{_e(format_number(row.previous, kpi.decimals))}</td>'
            f'<td class="num">{_e(target_text(kpi, lang).split(" ", 1)[1])}</td>'
            f'<td class="s-{row.status.key}">{_e(row.status.label(lang))}</td>'
            f"<td>{_e(format_datetime(row.latest[1], zone, label, lang) if row.latest else '–')}"
            f"{late}</td>"
            f"<td>{_e(row.freshness.owner)} · {_e(SOURCE_LABELS[kpi.source.type](lang))} · "
            f"{_e(cadence)}</td>"
            "</tr>"
        )
    title = TITLE(lang)
    stamp = format_datetime(review.now, zone, label, lang)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} — {_e(review.city.config.name)}</title><style>{REPORT_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="sub"><b>{_e(review.city.config.name)}</b> · {_e(area)}</p>
<p class="sub">{_e(Text("Periode", "Period")(lang))}: {_e(period_text(review, lang))}</p>
<p class="sub">{_e(Text("Dibuat", "Generated")(lang))}: {_e(stamp)}</p>
<p class="tools"><a href="javascript:window.print()">{_e(Text("Cetak", "Print")(lang))}</a>
<a href="/kpi{_e(search)}">{_e(Text("Kembali ke tinjauan", "Back to the review")(lang))}</a>
<a href="/kpi/export.csv{_e(search)}">CSV</a></p>
<h2>{_e(Text("Kartu skor per dimensi", "Scorecard by dimension")(lang))}</h2>
<div class="cards">{cards}</div>
<h2>{_e(Text("Indikator", "Indicators")(lang))}</h2>
<table><thead><tr>{"".join(f"<th>{_e(h(lang))}</th>" for h in heads)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<footer>Komando · {_e(review.city.config.name)}</footer>
</body></html>"""


def add_kpi_export_routes(server: FastAPI, city: City, engine: Engine) -> None:
    """Register the CSV and report routes; call before the server starts (Dash's FastAPI
    backend adds a catch-all page route later, which would shadow them)."""

    async def review_for(request: Request) -> Review:
        query = parse_query(dict(request.query_params), city)
        return await asyncio.to_thread(build_review, engine, city, query, time.time(), None, False)

    @server.get("/kpi/export.csv", include_in_schema=False)
    async def export_csv(request: Request) -> Response:
        try:
            review = await review_for(request)
        except SQLAlchemyError:
            return Response("database unavailable, retry later\n", status_code=503)
        series = request.query_params.get("jenis") == "seri"
        body = "\ufeff" + review_csv(review, series)
        area = review.region.kode.replace(".", "")
        name = f"kpi-{city.slug}-{area}-{review.query.periode}{'-seri' if series else ''}.csv"
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @server.get("/kpi/laporan", include_in_schema=False)
    async def report(request: Request) -> HTMLResponse:
        lang = lang_from_search(str(request.url.query)) or "id"
        try:
            review = await review_for(request)
        except SQLAlchemyError:
            return HTMLResponse("<p>Database tidak tersedia / unavailable</p>", status_code=503)
        return HTMLResponse(review_html(review, lang))
