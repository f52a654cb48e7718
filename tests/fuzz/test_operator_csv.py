"""Operator CSV uploads and form values (data/operator_entries.py, callbacks/operator.py): what
an OPD's clerk might upload from a spreadsheet, and what a browser might post.

Properties: no exception escapes; every data row gets exactly one answer, at its row number
as a spreadsheet counts; a bad row is explained naming its column (indikator, periode, nilai,
or the file); every good row of a mixed file is read back exactly (the page then saves all or
nothing, and says which rows to fix); a file is saved only when every row is right."""

from __future__ import annotations

import base64
import csv
import io
import math
from datetime import date, timedelta

import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

from callbacks.operator import check_form, check_upload
from data.operator_entries import EntryError, OperatorEntry, parse_csv, parse_number
from layouts.operator import MAX_UPLOAD_BYTES
from tests.fuzz.strategies import NOW, any_text, huge_ints, numeric_text, storable

# One OPD of the demo city and its one operator KPI: dlh, sampah_terangkut, daily, 0..1000 ton.
OPD, KPI, LOW, HIGH = "dlh", "sampah_terangkut", 0.0, 1000.0
# Yesterday on this machine, today or yesterday in the city (WIB): a period that has begun.
TODAY = date.fromtimestamp(NOW) - timedelta(days=1)
FIELDS = {"indikator", "periode", "nilai", "header", "berkas"}


def id_number(value: float) -> str:
    """1.234,5 as a clerk in Indonesia types it."""
    whole, _, fraction = f"{value:.1f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{grouped},{fraction}"


@st.composite
def good_row(draw: st.DrawFn) -> tuple[list[str], str, float]:
    day = TODAY - timedelta(days=draw(st.integers(0, 3000)))
    tenths = draw(st.integers(int(LOW * 10), int(HIGH * 10)))
    value = tenths / 10
    text = draw(st.sampled_from([f"{value:.1f}", id_number(value), f" {value:g} "]))
    return [KPI, day.isoformat(), text], day.isoformat(), value


# Cells that cannot be right (no digits, so no accidental valid number or date), on one line.
bad_cells = (any_text | numeric_text).filter(
    lambda v: storable(v) and not any(c.isdigit() or c in "\r\n" for c in v)
) | st.sampled_from(["", "-1", "1001", "1e999", "nan"])


@st.composite
def bad_row(draw: st.DrawFn) -> tuple[list[str], str]:
    row, _period, _value = draw(good_row())
    column = draw(st.sampled_from(["indikator", "periode", "nilai"]))
    if column == "indikator":
        row[0] = draw(bad_cells.filter(lambda v: v.strip().lower() != KPI))
    elif column == "periode":
        row[1] = draw(
            bad_cells
            | st.sampled_from(
                ["2026-02-30", "2026-13-01", "0000-01-01", "2999-01-01", "2010-01-01"]
            )
            | st.dates(min_value=TODAY + timedelta(days=3)).map(date.isoformat)
        )
    else:
        row[2] = draw(bad_cells | st.sampled_from(["-0,1", "1.000,1", "1e400", str(10**400)]))
    return row, column


def csv_text(rows: list[list[str]], delimiter: str, newline: str) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(
        [["indikator", "periode", "nilai"], *rows]
    )
    return out.getvalue()


def data_url(text: str, encoding: str = "utf-8-sig") -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode(encoding)).decode()


def check_errors(errors: list[EntryError]) -> None:
    for error in errors:
        assert error.row >= 1 and error.field in FIELDS, error
        assert error.message and storable(error.message), error


@given(
    text=st.text(st.characters(codec="utf-8"), max_size=300)
    | st.lists(st.lists(any_text.filter(storable), max_size=5), max_size=6).map(
        lambda rows: csv_text(rows, ",", "\n")
    )
    | st.sampled_from(["indikator,periode,nilai\n", "\ufeffindikator;periode;nilai\r\n"]).flatmap(
        lambda head: st.text(max_size=200).map(lambda tail: head + tail)
    )
)
@example(text="indikator,periode,nilai\nx,y,z,extra,more\n")
@example(text="indikator,periode,nilai\na\rb,2026-01-01,1\n")
@example(text="indikator,periode,nilai\n" + "a" * 200_000 + ",b,c\n")
@example(text="indikator,periode,nilai\n\x00,\x00,\x00\n")
@example(text='indikator,periode,nilai\n"unclosed,2026-01-01,1\n')
def test_any_text_is_read_without_an_exception(text):
    entries, errors = parse_csv_city(text)
    check_errors(errors)
    for entry in entries:
        assert entry.kpi_id == KPI and LOW <= entry.value <= HIGH and math.isfinite(entry.value)


@given(data=st.data())
def test_a_mixed_file_answers_every_row_and_keeps_every_good_one(data):
    goods = data.draw(st.lists(good_row(), max_size=8, unique_by=lambda g: g[1]), label="good")
    bads = data.draw(st.lists(bad_row(), max_size=8), label="bad")
    rows = [("good", g) for g in goods] + [("bad", b) for b in bads]
    rows = data.draw(st.permutations(rows), label="order")
    delimiter = data.draw(st.sampled_from([",", ";"]), label="delimiter")
    newline = data.draw(st.sampled_from(["\n", "\r\n", "\r"]), label="newline")
    text = csv_text([item[1][0] for item in rows], delimiter, newline)
    note(repr(text))

    entries, errors = parse_csv_city(text)

    check_errors(errors)
    by_row: dict[int, list[EntryError]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(error)
    expected_good = []
    for number, (kind, item) in enumerate(rows, start=2):
        if kind == "good":
            assert number not in by_row, (number, item, by_row.get(number))
            expected_good.append((item[1], item[2]))
        else:
            assert [e.field for e in by_row.get(number, [])] == [item[1]], (number, item, by_row)
    assert [(e.period, e.value) for e in entries] == expected_good
    assert set(by_row) <= set(range(2, 2 + len(rows)))

    check = check_upload(city_of(), OPD, "Petugas Uji", data_url(text), NOW)
    assert check.can_save == (not bads and bool(goods)), check
    if bads:
        assert check.entries == [] and check.error_count == len(bads)


@given(
    goods=st.lists(good_row(), min_size=1, max_size=5, unique_by=lambda g: g[1]), again=st.data()
)
def test_a_period_twice_in_one_file_is_refused(goods, again):
    repeated = again.draw(st.sampled_from(goods))
    text = csv_text([g[0] for g in goods] + [repeated[0]], ",", "\n")
    check = check_upload(city_of(), OPD, "Petugas Uji", data_url(text), NOW)
    assert not check.can_save
    assert any("sudah ada di baris" in row.error for row in check.rows), check.rows


@given(
    contents=st.one_of(
        any_text,
        st.binary(max_size=200).map(
            lambda b: "data:text/csv;base64," + base64.b64encode(b).decode()
        ),
        st.sampled_from(
            [
                "data:text/csv;base64,!!!not base64",
                "data:application/vnd.ms-excel;base64,UEsDBAoAAAAAA",  # an .xlsx (zip)
                "data:text/csv;base64," + "A" * (MAX_UPLOAD_BYTES * 4 // 3 + 8),
                data_url("indikator;periode;nilai\r\nsampah_terangkut;2026-01-01;12,5", "cp1252"),
            ]
        ),
    )
)
def test_any_upload_gets_an_answer_not_an_exception(contents):
    check = check_upload(city_of(), OPD, "Petugas Uji", contents, NOW)
    if not check.can_save:
        assert check.problems or any(r.error for r in check.rows), check
    assert all(storable(p) for p in check.problems)


@given(
    value=st.one_of(any_text, numeric_text, huge_ints, st.floats(), st.booleans(), st.none()),
    period=st.one_of(any_text, st.none(), st.just(TODAY.isoformat())),
)
@example(value=10**400, period=TODAY.isoformat())
@example(value=math.nan, period=TODAY.isoformat())
def test_form_values_of_any_type_get_an_answer(value, period):
    check = check_form(city_of(), OPD, "Petugas Uji", [(KPI, period, value)], NOW)
    for row in check.rows:
        if row.error:
            assert row.error.split(":")[0].lower() in {"indikator", "periode", "nilai"}, row
    for entry in check.entries:
        assert isinstance(entry, OperatorEntry) and LOW <= entry.value <= HIGH


# Regressions found by the properties above (issue 7).
@pytest.mark.parametrize(
    ("text", "good", "bad"),
    [
        # Excel for Mac ends rows with a lone \r: the whole upload was a csv.Error.
        ("indikator,periode,nilai\rsampah_terangkut,2026-11-01,12\r", 1, []),
        # More cells than the header: DictReader's None key crashed the reader.
        ("indikator,periode,nilai\nsampah_terangkut,2026-11-01,12,x\n", 0, [(2, "berkas")]),
        # A cell over 128 KiB: csv.Error escaped.
        ("indikator,periode,nilai\n" + "a" * 200_000 + ",b,c\n", 0, [(2, "berkas")]),
        # ';' typed in a cell of a ','-separated file made the whole file ';'-separated.
        ("indikator,periode,nilai\nx;;;;,y;;;;,z;;;;\nsampah_terangkut,2026-11-01,12\n",
         1, [(2, "indikator")]),
        # Digits of another script: a second label for the same period.
        ("indikator,periode,nilai\nsampah_terangkut,٢٠٢٦-١١-٠١,12\n", 0, [(2, "periode")]),
    ],
)  # fmt: skip
def test_regressions(text, good, bad):
    entries, errors = parse_csv_city(text)
    assert len(entries) == good
    assert [(e.row, e.field) for e in errors] == bad


@pytest.mark.parametrize("text", [str(10**400), "1" * 400, "NaN", "-Infinity", "1e999"])
def test_parse_number_refuses_what_is_not_a_finite_number(text):
    with pytest.raises(ValueError):
        parse_number(text)
    if text.isdigit():
        with pytest.raises(ValueError):
            parse_number(int(text))  # a browser may post a number as a JSON number


# The demo city, loaded once (module-level: hypothesis examples share it).
_CITY: list = []


def city_of():
    if not _CITY:
        from data.city import load_city
        from settings import PROJECT_ROOT

        _CITY.append(load_city(PROJECT_ROOT / "data" / "cities" / "prabumulih"))
    return _CITY[0]


def parse_csv_city(text: str):
    return parse_csv(city_of(), OPD, text, NOW)
