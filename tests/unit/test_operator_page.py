"""The pure functions behind the OPD operator page (/operator)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from dash import dcc

from callbacks.operator import (
    NO_ACTOR,
    NO_OPD,
    NOTHING_FILLED,
    check_form,
    check_upload,
    csv_in_file_order,
    decode_upload,
)
from data.operator_entries import EntryError, OperatorEntry
from layouts.operator import (
    OP_PERIOD,
    HistoryRow,
    RowOutcome,
    csv_template,
    current_period,
    form_rows,
    history_table,
    operator_layout,
    result_view,
    row_id,
    template_href,
)

WIB = ZoneInfo("Asia/Jakarta")
# 31 Dec 2026 20:00 UTC is already 1 Jan 2027 in Prabumulih, in ISO week 53 of 2026.
NEW_YEAR = datetime(2026, 12, 31, 20, 0, tzinfo=UTC).timestamp()
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=WIB).timestamp()


def text_of(component) -> str:
    """All the text a component tree shows, space-separated."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find(component, predicate) -> list:
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found += find(child, predicate)
    return found


def upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:text/csv;base64," + base64.b64encode(raw).decode()


def test_current_period_per_cadence_in_the_city_zone():
    assert current_period("daily", NOW, WIB) == "2026-11-25"
    assert current_period("weekly", NOW, WIB) == "2026-W48"
    assert current_period("monthly", NOW, WIB) == "2026-11"
    # Already New Year's Day in WIB while still 31 December in UTC; the ISO week's year lags.
    assert current_period("daily", NEW_YEAR, WIB) == "2027-01-01"
    assert current_period("weekly", NEW_YEAR, WIB) == "2026-W53"
    assert current_period("monthly", NEW_YEAR, WIB) == "2027-01"


def test_prefilled_periods_are_accepted_by_the_validator(city):
    """Every operator KPI's pre-filled period is the format validate_entry expects."""
    for opd_id in ("bkpsdm", "disdik", "disdag", "dlh", "disbudpar"):
        inputs = find(form_rows(city, opd_id, NOW), lambda c: isinstance(c, dcc.Input))
        periods = {c.id["kpi"]: c.value for c in inputs if c.id["type"] == OP_PERIOD}
        assert periods
        targets = {k.id: str(k.target) for k in city.config.kpis}
        rows = [(kpi_id, period, targets[kpi_id]) for kpi_id, period in periods.items()]
        check = check_form(city, opd_id, "Siti", rows, NOW)
        assert check.can_save, check.rows


def test_layout_offers_only_opds_that_enter_data(city):
    layout = operator_layout(city)
    dropdown = find(layout, lambda c: isinstance(c, dcc.Dropdown))[0]
    assert [o["value"] for o in dropdown.options] == [
        "bkpsdm",
        "disdik",
        "disdag",
        "dlh",
        "pupr",
        "disbudpar",
    ]
    assert dropdown.options[0]["label"].startswith("BKPSDM — Badan Kepegawaian")
    text = text_of(layout)
    for words in ("Input Data OPD", "Simpan", "Riwayat isian terakhir"):
        assert words in text
    assert "indikator,periode,nilai" in text
    assert "hanya disimpan bila semua barisnya benar" in text
    assert find(layout, lambda c: isinstance(c, dcc.Upload))


def test_form_rows_show_name_unit_cadence_and_target(city):
    rows = form_rows(city, "disdag", NEW_YEAR)
    text = text_of(rows)
    assert "Harga cabai merah" in text and "harga_cabai_merah" in text
    assert "Rp/kg" in text and "mingguan" in text and "target ≤ 40.000" in text
    period = find(rows, lambda c: getattr(c, "id", None) == row_id(OP_PERIOD, "harga_cabai_merah"))
    assert period[0].value == "2026-W53"


def test_form_saves_filled_rows_and_skips_empty_ones(city):
    rows = [("kehadiran_asn", "2026-11-25", "96,5")]
    check = check_form(city, "bkpsdm", "  Siti Aminah ", rows, NOW)
    assert check.can_save and check.actor == "Siti Aminah"
    assert check.entries[0].value == 96.5 and check.entries[0].period == "2026-11-25"
    assert check.rows == [RowOutcome("Kehadiran ASN · 2026-11-25", "96,5 %")]

    empty = check_form(city, "bkpsdm", "Siti", [("kehadiran_asn", "2026-11-25", " ")], NOW)
    assert not empty.can_save and empty.problems == [NOTHING_FILLED] and empty.rows == []


def test_form_with_any_error_saves_nothing(city):
    check = check_form(city, "bkpsdm", "Siti", [("kehadiran_asn", "2026-11-25", "150")], NOW)
    assert not check.can_save
    assert check.rows[0].error == "Nilai: 150 di luar rentang wajar (0–100 %)"
    future = check_form(city, "bkpsdm", "Siti", [("kehadiran_asn", "2026-11-26", "90")], NOW)
    assert future.rows[0].error == "Periode: periode ini belum dimulai"
    other = check_form(city, "bkpsdm", "Siti", [("harga_cabai_merah", "2026-W48", "1")], NOW)
    assert "tidak diisi oleh OPD ini" in other.rows[0].error


def test_form_needs_an_opd_and_a_name(city):
    rows = [("kehadiran_asn", "2026-11-25", "96")]
    nameless = check_form(city, "bkpsdm", "   ", rows, NOW)
    assert nameless.problems == [NO_ACTOR] and not nameless.can_save
    assert nameless.entries  # the row itself was fine; the page says so
    assert check_form(city, None, "Siti", rows, NOW).problems == [NO_OPD]
    assert check_form(city, "bappeda", "Siti", rows, NOW).problems == [NO_OPD]


def test_upload_with_one_bad_row_saves_nothing_and_lists_every_error(city):
    text = (
        "indikator,periode,nilai\n"
        "kehadiran_asn,2026-11-24,97.5\n"
        "kehadiran_asn,2026-11-23,150\n"
        "kehadiran_asn,23-11-2026,90\n"
    )
    check = check_upload(city, "bkpsdm", "Siti", upload(text), NOW)
    assert not check.can_save and check.entries == []
    assert [(r.label, r.error) for r in check.rows] == [
        ("Baris 3", "Nilai: 150 di luar rentang wajar (0–100 %)"),
        ("Baris 4", "Periode: format periode harus YYYY-MM-DD"),
    ]
    assert check.notes == ["1 baris lain sudah benar."]
    assert check.error_count == 2


def test_upload_of_a_good_indonesian_excel_file_is_saved_whole(city):
    text = "\ufeffindikator;periode;nilai\nharga_cabai_merah;2026-W47;45.500\n"
    text += "harga_cabai_merah;2026-W48;47.250,5\n"
    check = check_upload(city, "disdag", "Budi", upload(text), NOW)
    assert check.can_save
    assert [e.value for e in check.entries] == [45500.0, 47250.5]
    assert [r.label for r in check.rows] == [
        "Baris 2 · Harga cabai merah · 2026-W47",
        "Baris 3 · Harga cabai merah · 2026-W48",
    ]
    assert check.rows[1].value_text == "47.250,5 Rp/kg"


def test_upload_refuses_duplicates_unreadable_and_excel_files(city):
    twice = "indikator,periode,nilai\nkehadiran_asn,2026-11-24,97\nkehadiran_asn,2026-11-24,98\n"
    check = check_upload(city, "bkpsdm", "Siti", upload(twice), NOW)
    assert not check.can_save
    assert check.rows[0].error == "Periode: kehadiran_asn 2026-11-24 sudah ada di baris 2"
    excel = check_upload(city, "bkpsdm", "Siti", upload(b"PK\x03\x04rest"), NOW)
    assert "Excel" in excel.problems[0] and not excel.can_save
    assert check_upload(city, "bkpsdm", "Siti", "not a data url", NOW).problems
    header = check_upload(city, "bkpsdm", "Siti", upload("kpi,nilai\nx,1\n"), NOW)
    assert header.rows[0].label == "Baris 1" and "periode" in header.rows[0].error
    empty = check_upload(city, "bkpsdm", "Siti", upload("indikator,periode,nilai\n"), NOW)
    assert empty.problems == ["Berkas tidak berisi baris data."] and not empty.can_save


def test_decode_upload_reads_windows_ansi_files():
    assert decode_upload(upload("nilai;é".encode("cp1252"))) == "nilai;é"
    assert decode_upload(upload("\ufeffnilai")) == "nilai"


def test_unfilled_template_saves_nothing(city):
    template = csv_template(city, "bkpsdm", NOW)
    assert template == "indikator;periode;nilai\nkehadiran_asn;2026-11-25;\n"
    check = check_upload(city, "bkpsdm", "Siti", upload(template), NOW)
    assert not check.can_save and check.rows[0].error == "Nilai: wajib diisi"
    href = template_href(template)
    assert href.startswith("data:text/csv;charset=utf-8,")
    assert unquote(href.split(",", 1)[1]) == "\ufeff" + template


def test_csv_results_come_back_in_file_order():
    entry = OperatorEntry("k", "2026-11", 0.0, 1.0)
    errors = [EntryError(3, "nilai", "x"), EntryError(5, "periode", "y")]
    ordered = csv_in_file_order([entry, entry, entry], errors)
    assert [(n, type(r).__name__) for n, r in ordered] == [
        (2, "OperatorEntry"),
        (3, "EntryError"),
        (4, "OperatorEntry"),
        (5, "EntryError"),
        (6, "OperatorEntry"),
    ]


def test_result_listing_says_saved_or_why_not():
    good = RowOutcome("Kehadiran ASN · 2026-11-25", "96,5 %")
    bad = RowOutcome("Kehadiran siswa · 2026-11-25", "150", "Nilai: 150 di luar rentang")
    saved = text_of(result_view([good], [], saved=True, saved_at="09.00 WIB"))
    assert "1 nilai tersimpan pukul 09.00 WIB." in saved and "Tersimpan" in saved
    refused = text_of(result_view([good, bad], [], saved=False))
    assert "Tidak ada yang disimpan: 1 isian salah." in refused
    assert "Nilai: 150 di luar rentang" in refused
    assert "Benar, belum disimpan" in refused and "Tersimpan" not in refused
    nameless = text_of(result_view([good], [NO_ACTOR], saved=False, notes=["Berkas: a.csv"]))
    assert NO_ACTOR in nameless and "Berkas: a.csv" in nameless
    many = text_of(result_view([bad], [], saved=False, noun="baris", error_count=700))
    assert "700 baris salah" in many


def test_history_table_in_city_time_and_indonesian_numbers(city):
    entered = datetime(2026, 11, 25, 16, 18, tzinfo=WIB).timestamp()
    rows = [
        HistoryRow(entered, "kehadiran_asn", "2026-11-25", 96.5, "Siti Aminah", "form", 95.0),
        HistoryRow(entered - 60, "harga_cabai_merah", "2026-W48", 47250.0, "Budi", "csv"),
    ]
    text = text_of(history_table(city, rows))
    assert "Waktu (WIB)" in text
    assert "Kehadiran ASN 2026-11-25 96,5 % (menggantikan 95,0) Siti Aminah" in text
    assert "25-11-2026 16.18 formulir" in text
    assert "47.250 Rp/kg" in text and "CSV" in text
    assert "Belum ada isian" in text_of(history_table(city, []))


# English on request ---------------------------------------------------------------------------


def test_layout_in_english_with_lang_en(city):
    layout = operator_layout(city, "en")
    text = text_of(layout)
    assert layout.lang == "en"
    for words in ("OPD Data Entry", "Save", "Latest entries", "Choose an OPD"):
        assert words in text
    assert "only when all its rows are right" in text
    # The CSV's own column names stay as the file must write them.
    assert "indikator,periode,nilai" in text
    for words in ("Input Data OPD", "Simpan", "Riwayat isian terakhir", "Nama petugas"):
        assert words not in text
    assert operator_layout(city).lang == "id"


def test_form_rows_history_and_results_in_english_with_id_id_numbers(city):
    text = text_of(form_rows(city, "disdag", NEW_YEAR, "en"))
    assert "Indicator" in text and "weekly" in text and "mingguan" not in text
    assert "target ≤ 40.000" in text and "YYYY-Www" in text

    entered = datetime(2026, 11, 25, 16, 18, tzinfo=WIB).timestamp()
    rows = [HistoryRow(entered, "kehadiran_asn", "2026-11-25", 96.5, "Siti Aminah", "form", 95.0)]
    history = text_of(history_table(city, rows, "en"))
    assert "Time (WIB)" in history and "Officer" in history
    assert "96,5 % (replacing 95,0) Siti Aminah 25-11-2026 16.18 form" in history
    assert "No entries for this OPD yet." in text_of(history_table(city, [], "en"))

    good = RowOutcome("Civil servant attendance · 2026-11-25", "1.234,5 %")
    saved = text_of(result_view([good], [], saved=True, saved_at="09.00 WIB", lang="en"))
    assert "1 value saved at 09.00 WIB." in saved and "Saved" in saved and "1.234,5" in saved
    bad = RowOutcome("Row 3", "", "Nilai: wajib diisi")
    refused = text_of(result_view([good, bad], [], saved=False, lang="en"))
    assert "Nothing saved: 1 entry wrong. Correct it and press Save again." in refused
    assert "Correct, not saved" in refused
    many = text_of(result_view([bad], [], saved=False, noun="baris", error_count=7, lang="en"))
    assert "7 rows wrong" in many


def test_page_messages_follow_the_language_validator_messages_stay_bahasa(city):
    rows = [("kehadiran_asn", "2026-11-25", "150")]
    assert check_form(city, None, "Siti", rows, NOW, "en").problems == ["Choose an OPD first."]
    nameless = check_form(city, "bkpsdm", "", rows, NOW, "en")
    assert nameless.problems[0].startswith("The officer's name is required")
    check = check_form(city, "bkpsdm", "Siti", [("kehadiran_asn", "2026-11-25", "96,5")], NOW, "en")
    assert check.can_save and check.rows[0].value_text == "96,5 %"
    assert not check.rows[0].label.startswith("Kehadiran ASN")  # the KPI's English name

    csv = "indikator;periode;nilai\nkehadiran_asn;2026-11-25;abc\n"
    upload_check = check_upload(city, "bkpsdm", "Siti", upload(csv), NOW, "en")
    assert upload_check.rows[0].label == "Row 2" and not upload_check.can_save
    excel = check_upload(city, "bkpsdm", "Siti", upload(b"PK\x03\x04rest"), NOW, "en")
    assert "This is an Excel file" in excel.problems[0]
