"""Values that no sensor measures, entered by OPD operators for a period (a day, an ISO week or a
month), validated with messages in Bahasa Indonesia and audited: who entered what, when, and
what it replaced.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data.city import City, KpiConfig
from data.db.models import AuditEntry, KpiValue
from data.live_store import LiveStore
from data.models import KpiValue as LiveKpiValue

log = logging.getLogger(__name__)

kpi_table = KpiValue.__table__
audit_table = AuditEntry.__table__

PERIOD_FORMATS = {
    # ASCII digits only: int() also reads other scripts' digits, and "٢٠٢٦-١١" would be a
    # second label for the period "2026-11", saved twice in one upload (issue 7).
    "daily": ("YYYY-MM-DD", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)),
    "weekly": ("YYYY-Www", re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)),
    "monthly": ("YYYY-MM", re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)),
}
MAX_CSV_ROWS = 5000


@dataclass(frozen=True)
class OperatorEntry:
    kpi_id: str
    period: str
    period_start: float  # epoch seconds of the period's first moment, in the city's time zone
    value: float
    region_kode: str = ""


@dataclass(frozen=True)
class EntryError:
    row: int  # 1-based row of a CSV upload, or 0 for a form
    field: str
    message: str  # Bahasa Indonesia, shown to the operator as is

    def __str__(self) -> str:
        where = f"Baris {self.row}: " if self.row else ""
        return f"{where}{self.field}: {self.message}"


def operator_kpis(city: City, opd_id: str) -> list[KpiConfig]:
    """KPIs whose values this OPD enters."""
    return [k for k in city.config.kpis if k.owner == opd_id and k.source.type == "operator"]


def parse_number(text: object) -> float:
    """Accepts 1.234,5 (Indonesian), 1234.5 and 1234; raises ValueError with a reason."""
    if isinstance(text, bool):
        raise ValueError("bukan angka")
    if isinstance(text, (int, float)):
        try:
            number = float(text)
        except OverflowError:  # a browser may post an integer of any size (issue 7)
            raise ValueError("bukan angka yang sah") from None
    else:
        cleaned = str(text).strip().replace(" ", "")
        if not cleaned:
            raise ValueError("wajib diisi")
        if "," in cleaned:  # Indonesian: '.' groups thousands, ',' marks decimals
            cleaned = cleaned.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned):
            cleaned = cleaned.replace(".", "")  # 13.500 is thirteen thousand five hundred
        try:
            number = float(cleaned)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"'{str(text)[:20]}' bukan angka") from exc
    if not math.isfinite(number):
        raise ValueError("bukan angka yang sah")
    return number


def _id_number(value: float) -> str:
    """1.234.567 or 96,5, as an Indonesian clerk writes them."""
    decimals = 0 if float(value).is_integer() else 2
    text = f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return text.rstrip("0").rstrip(",") if decimals else text


def period_start(cadence: str, period: str, zone: ZoneInfo) -> datetime:
    """The first moment of `period` ('2026-11-25', '2026-W48', '2026-11') in the city's zone."""
    label, pattern = PERIOD_FORMATS[cadence]
    match = pattern.match(period.strip())
    if not match:
        raise ValueError(f"format periode harus {label}")
    year, second = int(match.group(1)), int(match.group(2))
    try:
        if cadence == "daily":
            day = date(year, second, int(match.group(3)))
        elif cadence == "weekly":
            day = date.fromisocalendar(year, second, 1)
        else:
            day = date(year, second, 1)
    except ValueError as exc:
        raise ValueError("tanggal/periode tidak ada di kalender") from exc
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def validate_entry(
    city: City, opd_id: str, kpi_id: str, period: str, raw_value: object, now: float, row: int = 0
) -> OperatorEntry | EntryError:
    kpi = next((k for k in city.config.kpis if k.id == kpi_id), None)
    if kpi is None:
        return EntryError(row, "indikator", f"indikator '{kpi_id[:40]}' tidak dikenal")
    if kpi.owner != opd_id or kpi.source.type != "operator":
        return EntryError(row, "indikator", f"{kpi.name.id} tidak diisi oleh OPD ini")
    zone = ZoneInfo(city.config.timezone)
    try:
        start = period_start(kpi.cadence, period, zone)
    except (ValueError, KeyError) as exc:
        return EntryError(row, "periode", str(exc))
    if start.timestamp() > now:
        return EntryError(row, "periode", "periode ini belum dimulai")
    if start < datetime.fromtimestamp(now, zone) - timedelta(days=3660):
        return EntryError(row, "periode", "periode lebih dari 10 tahun yang lalu")
    try:
        value = parse_number(raw_value)
    except ValueError as exc:
        return EntryError(row, "nilai", str(exc))
    low = kpi.low if kpi.low is not None else -math.inf
    high = kpi.high if kpi.high is not None else math.inf
    if not low <= value <= high:
        return EntryError(
            row,
            "nilai",
            f"{_id_number(value)} di luar rentang wajar "
            f"({_id_number(low)}–{_id_number(high)} {kpi.unit})",
        )
    return OperatorEntry(kpi.id, period.strip(), start.timestamp(), value)


def parse_csv(
    city: City, opd_id: str, text: str, now: float
) -> tuple[list[OperatorEntry], list[EntryError]]:
    """Columns `indikator,periode,nilai` (header required; ',' or ';' separated, as spreadsheets
    in Indonesian locales export ';'). Every row is checked; good rows are returned even when
    others are wrong, and the caller decides whether to save a partly wrong file."""
    # The header decides the separator: a ';' typed in a cell below must not (issue 7).
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # newline="": the csv module then reads \r\n, \n and a lone \r (Excel for Mac) as ends of
    # rows itself, and keeps line breaks inside quoted cells.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        return [], [EntryError(1, "header", f"baris judul tidak terbaca ({exc})")]
    missing = {"indikator", "periode", "nilai"} - set(header)
    if missing:
        return [], [EntryError(1, "header", "kolom wajib tidak ada: " + ", ".join(sorted(missing)))]
    entries: list[OperatorEntry] = []
    errors: list[EntryError] = []
    number = 1
    rows = iter(reader)
    while True:
        number += 1
        try:
            raw = next(rows, None)
        except csv.Error as exc:  # e.g. a cell over 128 KiB: the rest cannot be trusted
            errors.append(EntryError(number, "berkas", f"baris tidak terbaca ({exc})"))
            break
        if raw is None:
            break
        if number - 1 > MAX_CSV_ROWS:
            errors.append(EntryError(number, "berkas", f"lebih dari {MAX_CSV_ROWS} baris"))
            break
        if None in raw:  # DictReader puts cells beyond the header's columns under None
            errors.append(EntryError(number, "berkas", "baris ini punya kolom lebih dari judul"))
            continue
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        result = validate_entry(
            city,
            opd_id,
            row.get("indikator", ""),
            row.get("periode", ""),
            row.get("nilai", ""),
            now,
            row=number,
        )
        (errors if isinstance(result, EntryError) else entries).append(result)  # type: ignore[arg-type]
    return entries, errors


def record_entries(
    engine: Engine,
    store: LiveStore | None,
    city: City,
    opd_id: str,
    actor: str,
    entries: list[OperatorEntry],
    channel: str = "form",
    now: float | None = None,
) -> int:
    """Save entries (a re-entered period replaces its value) with one audit row each, in one
    transaction; then refresh the live KPI values and the OPD's freshness."""
    if not entries:
        return 0
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    rows = [
        {
            "kpi_id": e.kpi_id,
            "region_kode": e.region_kode,
            "ts_ms": int(e.period_start * 1000),
            "value": e.value,
            "period": e.period,
            "source": "operator",
            "entered_by": actor[:64],
        }
        for e in entries
    ]
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as conn:
        previous = {
            (r.kpi_id, r.ts_ms): r.value
            for r in conn.execute(
                select(kpi_table.c.kpi_id, kpi_table.c.ts_ms, kpi_table.c.value).where(
                    kpi_table.c.kpi_id.in_({e.kpi_id for e in entries}),
                    kpi_table.c.region_kode == "",
                    kpi_table.c.ts_ms.in_({r["ts_ms"] for r in rows}),
                )
            )
        }
        statement = insert(kpi_table)
        statement = statement.on_conflict_do_update(
            index_elements=["kpi_id", "region_kode", "ts_ms"],
            set_={
                "value": statement.excluded.value,
                "entered_by": statement.excluded.entered_by,
                "source": statement.excluded.source,
            },
        )
        conn.execute(statement, rows)
        conn.execute(
            audit_table.insert(),
            [
                {
                    "ts_ms": now_ms,
                    "actor": actor[:64],
                    "action": "kpi.entry",
                    "subject": f"{r['kpi_id']}/{r['period']}",
                    "detail": json.dumps(
                        {
                            "opd": opd_id,
                            "value": r["value"],
                            "channel": channel,
                            "replaced": previous.get((r["kpi_id"], r["ts_ms"])),
                        }
                    ),
                }
                for r in rows
            ],
        )
    if store is not None:
        _refresh_live(engine, store, city, opd_id, {e.kpi_id for e in entries}, now)
    return len(entries)


def _refresh_live(
    engine: Engine, store: LiveStore, city: City, opd_id: str, kpi_ids: set[str], now: float
) -> None:
    """The live value of an operator KPI is its latest period's value."""
    latest: list[LiveKpiValue] = []
    with engine.connect() as conn:
        for kpi_id in sorted(kpi_ids):
            row = conn.execute(
                select(kpi_table.c.ts_ms, kpi_table.c.value)
                .where(kpi_table.c.kpi_id == kpi_id, kpi_table.c.region_kode == "")
                .order_by(kpi_table.c.ts_ms.desc())
                .limit(1)
            ).first()
            if row is not None:
                latest.append(LiveKpiValue(kpi_id=kpi_id, ts=row.ts_ms / 1000, value=row.value))
    try:
        store.write_kpis(latest)
        store.mark_opd_entry(opd_id, now)
        store.history_changed()
    except redis.RedisError as exc:  # recorded in SQL; the live state catches up on rebuild
        log.warning("operator entry saved but live state not updated: %s", exc)
