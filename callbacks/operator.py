"""The OPD operator page: per-OPD form rows, saving by form or CSV (all or nothing), and the
OPD's recent entries read back from the audit trail.

The page's own messages follow the page's language (the `LANG` store); the validator's
messages per field (data/operator_entries.py) are Bahasa Indonesia in both languages."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.logged import logged
from data.access import current_principal, may_enter_for_opd
from data.city import City, KpiConfig
from data.db.models import AuditEntry
from data.live_store import LiveStore
from data.operator_entries import (
    EntryError,
    OperatorEntry,
    operator_kpis,
    parse_csv,
    record_entries,
    validate_entry,
)
from layouts.formatting import format_hhmm
from layouts.i18n import Text, normal_lang
from layouts.operator import (
    EXAMPLE_PLACEHOLDER,
    FORM_RETRY_TEXT,
    HISTORY_LIMIT,
    MAX_UPLOAD_BYTES,
    NO_OPD,  # noqa: F401  (re-exported: the Bahasa text, as tests compare it)
    NO_OPD_TEXT,
    OP_FORM,
    OP_HISTORY,
    OP_OPD,
    OP_PERIOD,
    OP_RESULT,
    OP_SAVE,
    OP_SAVED,
    OP_TEMPLATE,
    OP_TEMPLATE_LINK,
    OP_UPLOAD,
    OP_UPLOAD_RESULT,
    OP_VALUE,
    TEMPLATE_NAME,
    HistoryRow,
    RowOutcome,
    csv_example,
    csv_template,
    empty_note,
    exact_number,
    form_rows,
    history_table,
    kpi_name,
    operator_opds,
    result_view,
    row_id,
    template_href,
)
from layouts.pages import LANG

log = logging.getLogger(__name__)

MAX_LISTED_ERRORS = 500  # a file with every row wrong needs the pattern, not 5000 lines
MAX_ACTOR_LENGTH = 64  # audit_log.actor
NO_ACTOR_TEXT = Text(
    "Nama petugas wajib diisi: nama ini dicatat di jejak audit.",
    "The officer's name is required: it is recorded in the audit trail.",
)
NOTHING_FILLED_TEXT = Text("Isi sedikitnya satu nilai.", "Fill in at least one value.")
SAVE_FAILED_TEXT = Text(
    "Gagal menyimpan ke basis data; tidak ada yang tersimpan. Coba lagi sebentar lagi.",
    "Could not save to the database; nothing was saved. Try again in a moment.",
)
CSV_RETRY_TEXT = Text(
    "Perbaiki berkasnya lalu unggah ulang.", "Correct the file and upload it again."
)
UNREADABLE = Text(
    "Berkas tidak terbaca. Unggah berkas CSV.", "The file cannot be read. Upload a CSV file."
)
HISTORY_UNAVAILABLE = Text(
    "Riwayat tidak dapat dibaca saat ini; coba muat ulang halaman.",
    "The history cannot be read right now; try reloading the page.",
)
ROW = Text("Baris", "Row")
# The Bahasa texts under their old names (tests and callers compare with them).
NO_ACTOR = NO_ACTOR_TEXT.id
NOTHING_FILLED = NOTHING_FILLED_TEXT.id
SAVE_FAILED = SAVE_FAILED_TEXT.id
FORM_RETRY = FORM_RETRY_TEXT.id
CSV_RETRY = CSV_RETRY_TEXT.id


@dataclass(frozen=True)
class Check:
    """An operator's submission, checked: the rows as shown, page-level problems, and what
    would be saved. Saving is all or nothing: `can_save` only when nothing at all is wrong."""

    rows: list[RowOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    entries: list[OperatorEntry] = field(default_factory=list)
    actor: str = ""
    notes: list[str] = field(default_factory=list)
    error_count: int | None = None  # when not every wrong row is listed
    no_opd: bool = False  # no (known) OPD chosen: nothing else was checked

    @property
    def can_save(self) -> bool:
        return bool(self.entries) and not self.problems and not any(r.error for r in self.rows)


def value_text(kpi: KpiConfig | None, value: float) -> str:
    """id-ID number with the KPI's decimals (or more, when typed) and its unit."""
    return exact_number(value, kpi.decimals if kpi else 0) + (f" {kpi.unit}" if kpi else "")


def error_text(error: EntryError) -> str:
    return f"{error.field.capitalize()}: {error.message}"


def known_opd(city: City, opd_id: str | None) -> bool:
    return opd_id in {o.id for o in operator_opds(city)}


def who_problems(city: City, opd_id: str | None, actor: str | None, lang: str = "id") -> list[str]:
    problems = []
    if not known_opd(city, opd_id):
        problems.append(NO_OPD_TEXT(lang))
    name = (actor or "").strip()
    if not name:
        problems.append(NO_ACTOR_TEXT(lang))
    elif len(name) > MAX_ACTOR_LENGTH:
        problems.append(
            Text(
                f"Nama petugas paling panjang {MAX_ACTOR_LENGTH} huruf.",
                f"The officer's name can be at most {MAX_ACTOR_LENGTH} characters.",
            )(lang)
        )
    return problems


def check_form(
    city: City,
    opd_id: str | None,
    actor: str | None,
    rows: list[tuple[str, str | None, str | float | None]],
    now: float,
    lang: str = "id",
) -> Check:
    """`rows` are (kpi id, period, value) as typed. A row without a value is skipped, not an
    error: an OPD enters its daily KPI every day and its monthly one once a month."""
    problems = who_problems(city, opd_id, actor, lang)
    if not known_opd(city, opd_id):
        return Check(problems=problems, no_opd=True)
    kpis = {k.id: k for k in city.config.kpis}
    outcomes: list[RowOutcome] = []
    entries: list[OperatorEntry] = []
    for kpi_id, period, raw in rows:
        if raw is None or not str(raw).strip():
            continue
        kpi = kpis.get(kpi_id)
        label = f"{kpi_name(kpi, lang) if kpi else kpi_id} · {(period or '').strip() or '?'}"
        result = validate_entry(city, opd_id or "", kpi_id, period or "", raw, now)
        if isinstance(result, EntryError):
            outcomes.append(RowOutcome(label, str(raw).strip(), error_text(result)))
        else:
            entries.append(result)
            outcomes.append(RowOutcome(label, value_text(kpi, result.value)))
    if not outcomes:
        problems.append(NOTHING_FILLED_TEXT(lang))
    return Check(outcomes, problems, entries, (actor or "").strip())


def decode_upload(contents: str, lang: str = "id") -> str:
    """`dcc.Upload` contents (a data URL) to text; ValueError with a reason in `lang`."""
    _, sep, encoded = (contents or "").partition("base64,")
    if not sep:
        raise ValueError(UNREADABLE(lang))
    if len(encoded) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
        megabytes = MAX_UPLOAD_BYTES // 1_000_000
        raise ValueError(
            Text(f"Berkas lebih dari {megabytes} MB.", f"The file is over {megabytes} MB.")(lang)
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(UNREADABLE(lang)) from exc
    if raw.startswith(b"PK\x03\x04"):
        raise ValueError(
            Text(
                "Ini berkas Excel (.xlsx), bukan CSV. Di Excel pilih Simpan Sebagai › CSV, lalu "
                "unggah berkas CSV-nya.",
                "This is an Excel file (.xlsx), not a CSV. In Excel choose Save As › CSV, then "
                "upload the CSV file.",
            )(lang)
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page unless told to use UTF-8.
        return raw.decode("cp1252", errors="replace")


def csv_in_file_order(
    entries: list[OperatorEntry], errors: list[EntryError]
) -> list[tuple[int, OperatorEntry | EntryError]]:
    """parse_csv's results back in file order with their row numbers. parse_csv numbers data
    rows from 2 and gives each exactly one result, so the entries, in order, fill the numbers
    that the errors leave free."""
    by_row: dict[int, list[EntryError]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(error)
    ordered: list[tuple[int, OperatorEntry | EntryError]] = [
        (e.row, e) for e in errors if e.row < 2
    ]
    pending = iter(entries)
    total = len(entries) + sum(1 for e in errors if e.row >= 2)
    for number in range(2, 2 + total):
        if number in by_row:
            ordered.extend((number, e) for e in by_row[number])
        else:
            entry = next(pending, None)
            if entry is not None:
                ordered.append((number, entry))
    return ordered


def check_upload(
    city: City, opd_id: str | None, actor: str | None, contents: str, now: float, lang: str = "id"
) -> Check:
    """A CSV upload, checked as a whole: it is saved only when every row is right, and then
    every row's error is listed (up to MAX_LISTED_ERRORS), numbered as in a spreadsheet."""
    problems = who_problems(city, opd_id, actor, lang)
    if not known_opd(city, opd_id):
        return Check(problems=problems, no_opd=True)
    try:
        text = decode_upload(contents, lang)
    except ValueError as exc:
        return Check(problems=[*problems, str(exc)])
    entries, errors = parse_csv(city, opd_id or "", text, now)
    kpis = {k.id: k for k in city.config.kpis}
    outcomes: list[RowOutcome] = []
    first_row: dict[tuple[str, str], int] = {}
    bad = 0
    good: list[RowOutcome] = []
    for number, result in csv_in_file_order(entries, errors):
        if isinstance(result, EntryError):
            bad += 1
            if bad <= MAX_LISTED_ERRORS:
                outcomes.append(RowOutcome(f"{ROW(lang)} {number}", "", error_text(result)))
            continue
        key = (result.kpi_id, result.period)
        if key in first_row:  # which of the two would the clerk want? ask, don't guess
            bad += 1
            if bad <= MAX_LISTED_ERRORS:
                outcomes.append(
                    RowOutcome(
                        f"{ROW(lang)} {number}",
                        "",
                        Text(
                            f"Periode: {result.kpi_id} {result.period} sudah ada di baris "
                            f"{first_row[key]}",
                            f"Period: {result.kpi_id} {result.period} is already in row "
                            f"{first_row[key]}",
                        )(lang),
                    )
                )
            continue
        first_row[key] = number
        kpi = kpis.get(result.kpi_id)
        name = kpi_name(kpi, lang) if kpi else result.kpi_id
        good.append(
            RowOutcome(
                f"{ROW(lang)} {number} · {name} · {result.period}", value_text(kpi, result.value)
            )
        )
    notes = []
    if bad > MAX_LISTED_ERRORS:
        notes.append(
            Text(
                f"{bad} baris salah; {MAX_LISTED_ERRORS} kesalahan pertama ditampilkan.",
                f"{bad} rows wrong; the first {MAX_LISTED_ERRORS} errors are shown.",
            )(lang)
        )
    if bad:
        if good:
            notes.append(
                Text(
                    f"{len(good)} baris lain sudah benar.",
                    f"{len(good)} other {'row is' if len(good) == 1 else 'rows are'} right.",
                )(lang)
            )
        # Only the errors are listed: the good rows of a large file would bury them.
        return Check(outcomes, problems, [], (actor or "").strip(), notes, error_count=bad)
    if not good:
        problems.append(
            Text("Berkas tidak berisi baris data.", "The file contains no data rows.")(lang)
        )
    return Check(good, problems, entries, (actor or "").strip(), error_count=0)


def recent_entries(
    engine: Engine, kpi_ids: list[str], limit: int = HISTORY_LIMIT
) -> list[HistoryRow]:
    """The latest operator entries for these KPIs, newest first, from the audit trail: it has
    who and when, which kpi_values (one row per period) does not keep."""
    # TODO: move next to record_entries in data/operator_entries.py, which owns these rows.
    if not kpi_ids:
        return []
    audit = AuditEntry.__table__
    query = (
        select(audit.c.ts_ms, audit.c.actor, audit.c.subject, audit.c.detail)
        .where(
            audit.c.action == "kpi.entry",
            # autoescape: KPI ids contain '_', a LIKE wildcard
            or_(*(audit.c.subject.startswith(f"{k}/", autoescape=True) for k in kpi_ids)),
        )
        .order_by(audit.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        found = conn.execute(query).all()
    rows = []
    for found_row in found:
        kpi_id, _, period = found_row.subject.partition("/")
        try:
            detail = json.loads(found_row.detail or "{}")
        except ValueError:
            detail = {}
        rows.append(
            HistoryRow(
                ts=found_row.ts_ms / 1000,
                kpi_id=kpi_id,
                period=period,
                value=_number(detail.get("value")),
                actor=found_row.actor,
                channel=str(detail.get("channel", "")),
                replaced=_number(detail.get("replaced")),
            )
        )
    return rows


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def register(app: Dash, city: City, engine: Engine, store: LiveStore | None) -> None:
    zone = ZoneInfo(city.config.timezone)

    async def save(check: Check, opd_id: str, channel: str, lang: str) -> tuple[Check, bool]:
        if not may_enter_for_opd(current_principal(), opd_id or ""):
            refused = Text(
                "Akun ini tidak berhak mengisi data OPD tersebut.",
                "This account may not enter data for that OPD.",
            )(lang)
            return Check(check.rows, [refused], [], check.actor, check.notes), False
        if not check.can_save:
            return check, False
        try:
            await run_in_threadpool(
                record_entries, engine, store, city, opd_id, check.actor, check.entries, channel
            )
        except SQLAlchemyError:
            log.exception("operator entries of %s not saved", opd_id)
            return Check(check.rows, [SAVE_FAILED_TEXT(lang)], [], check.actor, check.notes), False
        return check, True

    # Runs on the page's first render too, so that an OPD kept by the dropdown's session
    # persistence gets its rows; the result areas are cleared here and filled by the saves.
    @app.callback(
        Output(OP_FORM, "children"),
        Output(OP_TEMPLATE, "children"),
        Output(OP_TEMPLATE_LINK, "href"),
        Output(OP_TEMPLATE_LINK, "download"),
        Output(OP_RESULT, "children", allow_duplicate=True),
        Output(OP_UPLOAD_RESULT, "children", allow_duplicate=True),
        Input(OP_OPD, "value"),
        State(LANG, "data"),
        prevent_initial_call="initial_duplicate",
    )
    @logged
    async def show_opd(opd_id, lang):
        lang = normal_lang(lang)
        now = time.time()
        if not opd_id or not operator_kpis(city, opd_id) or not _may(opd_id):
            return (
                empty_note(NO_OPD_TEXT(lang)),
                EXAMPLE_PLACEHOLDER,
                template_href(""),
                TEMPLATE_NAME,
                None,
                None,
            )
        return (
            form_rows(city, opd_id, now, lang),
            csv_example(city, opd_id, now),
            template_href(csv_template(city, opd_id, now)),
            f"templat-{opd_id}.csv",
            None,
            None,
        )

    @app.callback(
        Output(OP_HISTORY, "children"),
        Input(OP_OPD, "value"),
        Input(OP_SAVED, "data"),
        State(LANG, "data"),
    )
    @logged
    async def show_history(opd_id, _saved, lang):
        lang = normal_lang(lang)
        kpi_ids = [k.id for k in operator_kpis(city, opd_id)] if opd_id and _may(opd_id) else []
        if not kpi_ids:
            return empty_note(NO_OPD_TEXT(lang))
        try:
            rows = await run_in_threadpool(recent_entries, engine, kpi_ids)
        except SQLAlchemyError as exc:
            log.warning("operator history unavailable: %s", exc)
            return empty_note(HISTORY_UNAVAILABLE(lang))
        return history_table(city, rows, lang)

    @app.callback(
        Output(OP_RESULT, "children"),
        Output(OP_SAVED, "data"),
        Input(OP_SAVE, "n_clicks"),
        State(OP_OPD, "value"),
        State(row_id(OP_PERIOD, ALL), "value"),
        State(row_id(OP_VALUE, ALL), "value"),
        State(LANG, "data"),
        prevent_initial_call=True,
        # A double click must not save (and audit) the same entries twice.
        running=[(Output(OP_SAVE, "disabled"), True, False)],
    )
    @logged
    async def save_form(n_clicks, opd_id, _periods, _values, lang):
        lang = normal_lang(lang)
        if not n_clicks:
            raise PreventUpdate
        # By KPI id rather than by position: both lists come from the rows on screen.
        periods_by_kpi = {item["id"]["kpi"]: item.get("value") for item in ctx.states_list[1]}
        rows = [
            (item["id"]["kpi"], periods_by_kpi.get(item["id"]["kpi"]), item.get("value"))
            for item in ctx.states_list[2]
        ]
        now = time.time()
        check = check_form(city, opd_id, _actor(), rows, now, lang)
        check, saved = await save(check, opd_id, "form", lang)
        view = result_view(
            check.rows,
            check.problems,
            saved,
            _saved_at(now, zone, city),
            retry=FORM_RETRY_TEXT(lang),
            notes=check.notes,
            lang=lang,
        )
        return view, now if saved else no_update

    @app.callback(
        Output(OP_UPLOAD_RESULT, "children"),
        Output(OP_SAVED, "data", allow_duplicate=True),
        Output(OP_UPLOAD, "contents"),
        Input(OP_UPLOAD, "contents"),
        State(OP_UPLOAD, "filename"),
        State(OP_OPD, "value"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(OP_UPLOAD, "disabled"), True, False)],
    )
    @logged
    async def upload_csv(contents, filename, opd_id, lang):
        if not contents:
            raise PreventUpdate
        lang = normal_lang(lang)
        now = time.time()
        check = await run_in_threadpool(check_upload, city, opd_id, _actor(), contents, now, lang)
        check, saved = await save(check, opd_id, "csv", lang)
        file_note = f"{Text('Berkas', 'File')(lang)}: {filename}"
        view = result_view(
            check.rows,
            check.problems,
            saved,
            _saved_at(now, zone, city),
            retry=CSV_RETRY_TEXT(lang),
            noun="baris",
            notes=([file_note] if filename else []) + check.notes,
            error_count=check.error_count,
            lang=lang,
        )
        # Contents cleared so that choosing the same file again (after picking the OPD, say)
        # is a new upload.
        return view, now if saved else no_update, None


def _may(opd_id: str) -> bool:
    return may_enter_for_opd(current_principal(), opd_id)


def _actor() -> str:
    """The audit trail names the signed-in account (the gate lets no one in without one)."""
    principal = current_principal()
    return principal.name if principal is not None else ""


def _saved_at(now: float, zone: ZoneInfo, city: City) -> str:
    return f"{format_hhmm(now, zone)} {city.config.timezone_label}"
