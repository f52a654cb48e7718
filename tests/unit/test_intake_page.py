"""The pure functions behind the admin page "Data Masuk" (/admin/data), and its dead-letter
query against a SQLite file."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from callbacks.intake import dead_letter_payload, recent_dead_letters
from data.city import City
from data.history import create_schema, dead_letter_row, make_engine, write_rows
from layouts.intake import (
    IN_LETTERS,
    IN_RELOAD,
    IN_SOURCE,
    IN_TICK,
    PREVIEW_CHARS,
    DeadLetterRow,
    counters_view,
    format_moment,
    full_payload_view,
    intake_layout,
    letters_signature,
    letters_view,
    opd_ages,
    opds_view,
    payload_full_id,
    payload_preview,
    payload_toggle_id,
    pretty_payload,
    sensor_ages,
    sensors_view,
    source_counts,
    source_options,
)

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=WIB).timestamp()
DAY = 86_400


def text_of(component) -> str:
    """All the text a component tree shows, space-separated."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(t for t in (text_of(c) for c in component) if t.strip())
    return text_of(getattr(component, "children", None))


def find(component, predicate) -> list:
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found += find(child, predicate)
    return found


def rows_with(component, attribute: str) -> dict[str, html.Tr]:
    """Table rows by their data-* attribute (sensor, opd, source, letter)."""
    rows = find(component, lambda c: isinstance(c, html.Tr) and hasattr(c, attribute))
    return {getattr(r, attribute): r for r in rows}


def letter(
    letter_id: int, payload: str, source: str = "http", reason: str = "value: must be a number"
) -> DeadLetterRow:
    return DeadLetterRow(
        id=letter_id,
        received_ms=int(NOW * 1000) - letter_id,
        source=source,
        reason=reason,
        payload_head=payload[:PREVIEW_CHARS],
        payload_chars=len(payload),
    )


# Counters ------------------------------------------------------------------------------------


def test_counters_per_source_known_ones_first_with_the_share_refused():
    rows = source_counts(
        {
            "http:accepted": 3,
            "http:rejected": 1,
            "simulator:accepted": 12_345,
            "zeta-gateway:rejected": 2,
            "not-a-counter": 7,
        }
    )
    assert [r.source for r in rows] == [
        "http",
        "ngsi-ld",
        "mqtt",
        "csv",
        "simulator",
        "zeta-gateway",
    ]
    by_source = {r.source: r for r in rows}
    assert (by_source["http"].accepted, by_source["http"].rejected) == (3, 1)
    assert by_source["http"].refused_share == 0.25
    assert by_source["mqtt"].refused_share is None  # silent, not 0 %
    assert by_source["zeta-gateway"].refused_share == 1.0

    view = counters_view(rows)
    shown = rows_with(view, "data-source")
    assert text_of(shown["http"]) == "API HTTP (JSON Komando) http 3 1 25,0 %"
    assert text_of(shown["simulator"]).endswith("12.345 0 0,0 %")
    assert text_of(shown["mqtt"]).endswith("0 0 –")
    assert "Jumlah 12.348 3 0,0 %" in text_of(view)  # 3 of 12.351, in id-ID


def test_source_filter_offers_known_and_seen_sources():
    options = source_options({"operator-gw:rejected": 1})
    assert [o["value"] for o in options] == [
        "http",
        "ngsi-ld",
        "mqtt",
        "csv",
        "simulator",
        "operator-gw",
    ]
    assert options[1]["label"] == "FIWARE NGSI-LD"


# Sensor freshness ----------------------------------------------------------------------------


def test_sensor_ages_primary_only_missing_then_oldest_first(city):
    points = {
        "aq-cambai": (41.5, NOW - 30),
        "aq-cambai/pm10": (60.0, NOW - 99_999),  # a secondary quantity: not listed
        "wl-kelekar-sukaraja": (205.0, NOW - 601),
        "tf-sudirman": (1_234.0, NOW - 599),
        "pk-pasar-1": (80.0, NOW + 20),  # a device clock a little ahead
        "aq-retired": (10.0, NOW - 5),  # no longer in the city file
    }
    rows = sensor_ages(city, points, NOW)
    configured = {s.id for s in city.config.sensors}
    assert {r.sensor_id for r in rows} == configured | {"aq-retired"}
    assert all("/" not in r.sensor_id for r in rows)
    without = [r for r in rows if r.ts is None]
    assert rows[: len(without)] == without and all(r.late for r in without)
    dated = [r.sensor_id for r in rows if r.ts is not None]
    assert dated == ["wl-kelekar-sukaraja", "tf-sudirman", "aq-cambai", "aq-retired", "pk-pasar-1"]
    by_id = {r.sensor_id: r for r in rows}
    assert by_id["wl-kelekar-sukaraja"].late  # 10 min 1 s
    assert not by_id["tf-sudirman"].late  # 9 min 59 s
    assert by_id["pk-pasar-1"].age_s == 0 and not by_id["pk-pasar-1"].late
    assert by_id["aq-cambai"].owner == "DLH" and by_id["aq-cambai"].unit == "µg/m³"

    view = sensors_view(rows, WIB, "WIB", NOW)
    shown = rows_with(view, "data-sensor")
    assert text_of(shown["wl-kelekar-sukaraja"]).endswith("205 cm 08.49.59 10 mnt lalu TERLAMBAT")
    assert shown["wl-kelekar-sukaraja"].className == "in-late"
    assert text_of(shown["aq-cambai"]).endswith("41,5 µg/m³ 08.59.30 30 dtk lalu segar")
    assert text_of(shown["aq-majasari"]).endswith("– – belum ada data BELUM ADA DATA")
    assert "Waktu (WIB)" in text_of(view)
    assert text_of(view).startswith(f"{len(rows)} sensor · {len(without) + 1} terlambat")


def test_all_fresh_sensors_say_so(city):
    points = {s.id: (1.0, NOW - 5) for s in city.config.sensors}
    view = sensors_view(sensor_ages(city, points, NOW), WIB, "WIB", NOW)
    assert text_of(view).startswith(f"{len(city.config.sensors)} sensor · semua segar")
    assert "TERLAMBAT" not in text_of(view)


def test_moments_show_the_date_only_when_not_today():
    assert format_moment(NOW - 3600, WIB, NOW) == "08.00.00"
    assert format_moment(NOW - DAY, WIB, NOW) == "24-11-2026 09.00.00"
    # 23.30 WIB yesterday is 16.30 UTC on the same UTC day as NOW: the city's day counts.
    assert format_moment(NOW - 9.5 * 3600, WIB, NOW) == "24-11-2026 23.30.00"


# OPD freshness -------------------------------------------------------------------------------


def test_opd_freshness_against_each_cadence(city):
    entries = {
        "bkpsdm": NOW - DAY - 60,  # daily: late after a day
        "disdik": NOW - 3600,  # daily, on time
        "disdag": NOW - 6 * DAY,  # weekly, on time
        "disbudpar": NOW - 32 * DAY,  # monthly: late after 31 days
    }  # dlh and pupr never entered
    rows = opd_ages(city, entries, NOW)
    by_id = {r.opd_id: r for r in rows}
    assert {k: (v.limit_s // DAY, v.late) for k, v in by_id.items()} == {
        "bkpsdm": (1, True),
        "disdik": (1, False),
        "disdag": (7, False),
        "disbudpar": (31, True),
        "dlh": (1, True),
        "pupr": (31, True),  # roads in good condition, monthly
    }
    # Never first, then late ones by how far past their allowance, then the rest.
    assert [r.opd_id for r in rows] == ["dlh", "pupr", "disbudpar", "bkpsdm", "disdag", "disdik"]

    view = opds_view(rows, WIB, "WIB", NOW)
    shown = rows_with(view, "data-opd")
    assert "Isian terakhir (WIB)" in text_of(view)
    assert text_of(shown["dlh"]).endswith("Sampah terangkut (harian) 1 hari – – belum pernah")
    assert text_of(shown["bkpsdm"]).endswith("24-11-2026 08.59.00 1 hari lalu TERLAMBAT")
    assert text_of(shown["disdag"]).endswith(
        "Harga cabai merah (mingguan) 7 hari 19-11-2026 09.00.00 6 hari lalu tepat waktu"
    )
    assert text_of(shown["disbudpar"]).endswith(
        "31 hari 24-10-2026 09.00.00 32 hari lalu TERLAMBAT"
    )
    assert shown["disdik"].className is None and shown["dlh"].className == "in-late"


def test_an_opd_with_several_cadences_is_held_to_the_most_frequent(city):
    monthly = next(k for k in city.config.kpis if k.owner == "disbudpar")
    daily_too = monthly.model_copy(update={"id": "kunjungan_harian", "cadence": "daily"})
    config = city.config.model_copy(update={"kpis": [*city.config.kpis, daily_too]})
    rows = opd_ages(City(city.folder, config), {"disbudpar": NOW - 2 * DAY}, NOW)
    disbudpar = next(r for r in rows if r.opd_id == "disbudpar")
    assert disbudpar.limit_s == DAY and disbudpar.late
    assert [cadence for _, cadence in disbudpar.kpis] == ["monthly", "daily"]


# Dead letters --------------------------------------------------------------------------------


def test_dead_letters_newest_first_with_time_source_reason_and_a_safe_preview():
    short = json.dumps({"sensor_id": "aq-cambai", "value": "high"})
    long = json.dumps({"sensor_id": "aq-cambai", "value": "<script>alert(1)</script>" + "x" * 400})
    view = letters_view(
        [letter(2, long), letter(1, short, "mqtt", "ts: needs a zone")], None, WIB, "WIB"
    )
    shown = rows_with(view, "data-letter")
    assert list(shown) == ["2", "1"]
    assert text_of(shown["1"]).startswith("#1 25-11-2026 08.59.59 mqtt ts: needs a zone")
    assert "Diterima (WIB)" in text_of(view)

    # The payload is the plain-text child of a <pre>, which React escapes; nothing in the table
    # could render HTML (no Markdown, no dangerously_allow_html).
    pres = find(shown["2"], lambda c: isinstance(c, html.Pre))
    assert len(pres) == 1 and isinstance(pres[0].children, str)
    assert pres[0].children == long[:PREVIEW_CHARS] + "…"
    assert "<script>alert(1)</script>" in pres[0].children
    assert not find(view, lambda c: isinstance(c, dcc.Markdown))
    assert not find(view, lambda c: getattr(c, "dangerously_allow_html", False))

    # Only a cut payload gets the button that loads it whole, with its length.
    toggles = find(view, lambda c: isinstance(c, html.Button))
    assert [t.id for t in toggles] == [payload_toggle_id(2)]
    assert find(view, lambda c: getattr(c, "id", None) == payload_full_id(2))
    assert f"Tampilkan semua {len(long)} karakter" in text_of(shown["2"])
    assert payload_preview(letter(1, short)) == short


def test_no_dead_letters_says_so_for_the_chosen_source():
    assert "Belum ada data yang ditolak." in text_of(letters_view([], None, WIB, "WIB"))
    assert "Belum ada data yang ditolak dari sumber MQTT." in text_of(
        letters_view([], "mqtt", WIB, "WIB")
    )


def test_letters_signature_changes_only_with_the_rows_or_the_filter():
    rows = [letter(5, "a"), letter(4, "b")]
    assert letters_signature(None, rows) == letters_signature("", list(rows))
    assert letters_signature(None, rows) != letters_signature("http", rows)
    assert letters_signature(None, rows) != letters_signature(None, [letter(6, "c"), *rows])


def test_whole_payload_is_laid_out_when_it_is_json():
    assert (
        pretty_payload('{"a":[1,2],"b":"é"}') == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "é"\n}'
    )
    assert pretty_payload("not json <b>") == "not json <b>"
    assert pretty_payload('{"cut": "at the storage lim') == '{"cut": "at the storage lim'
    assert pretty_payload("42") == "42"
    full = full_payload_view("x" * 20_000)
    assert isinstance(find(full, lambda c: isinstance(c, html.Pre))[0].children, str)
    assert "Disimpan terpotong pada 20.000 karakter." in text_of(full)
    assert "tidak ditemukan" in text_of(full_payload_view(None))


def test_recent_dead_letters_from_sql_newest_first_with_only_the_payload_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'komando.sqlite3'}")
    create_schema(engine)
    big = {"sensor_id": "aq-cambai", "value": "y" * 1000}
    write_rows(
        engine,
        {
            "dead_letters": [
                dead_letter_row("http", "value: must be a number", big, now=NOW - 30),
                dead_letter_row("mqtt", "ts: needs a zone", {"ts": "08:00"}, now=NOW - 10),
                # written later (a batch from the ingest role) but received earlier
                dead_letter_row("mqtt", "value: must be a number", "[1,", now=NOW - 60),
            ]
        },
    )
    rows = recent_dead_letters(engine, None)
    assert [(r.id, r.source) for r in rows] == [(2, "mqtt"), (1, "http"), (3, "mqtt")]
    first_http = rows[1]
    assert first_http.payload_chars == len(json.dumps(big))
    assert first_http.payload_head == json.dumps(big)[:PREVIEW_CHARS]
    assert first_http.truncated and not rows[0].truncated
    assert [r.id for r in recent_dead_letters(engine, "mqtt")] == [2, 3]
    assert [r.id for r in recent_dead_letters(engine, None, limit=1)] == [2]
    assert recent_dead_letters(engine, "csv") == []
    assert dead_letter_payload(engine, 1) == json.dumps(big)
    assert dead_letter_payload(engine, 99) is None
    engine.dispose()


# The page ------------------------------------------------------------------------------------


def test_layout_has_the_panels_a_reload_button_and_a_ten_second_refresh(city):
    page = intake_layout(city)
    assert "operator-page" in page.className  # the office page's look
    ids = {getattr(c, "id", None): c for c in find(page, lambda c: getattr(c, "id", None))}
    assert ids[IN_TICK].interval == 10_000
    assert ids[IN_RELOAD].children == "Muat ulang"
    assert isinstance(ids[IN_SOURCE], dcc.Dropdown) and ids[IN_SOURCE].placeholder == "Semua sumber"
    assert IN_LETTERS in ids
    text = text_of(page)
    for heading in (
        "Data Masuk",
        "Diterima dan ditolak per sumber",
        "Kesegaran data sensor",
        "Kesegaran isian OPD",
        "Data yang ditolak (50 terakhir)",
    ):
        assert heading in text
    assert city.config.name in text


def test_timestamps_in_the_city_zone_not_the_servers():
    received = datetime(2026, 11, 25, 1, 2, 3, tzinfo=ZoneInfo("UTC"))
    row = DeadLetterRow(1, int(received.timestamp() * 1000), "http", "r", "p", 1)
    assert "25-11-2026 08.02.03" in text_of(letters_view([row], None, WIB, "WIB"))


# English on request ---------------------------------------------------------------------------


def test_layout_in_english_with_lang_en(city):
    page = intake_layout(city, "en")
    assert page.lang == "en" and intake_layout(city).lang == "id"
    ids = {getattr(c, "id", None): c for c in find(page, lambda c: getattr(c, "id", None))}
    assert ids[IN_RELOAD].children == "Reload"
    assert ids[IN_SOURCE].placeholder == "All sources"
    assert [o["label"] for o in ids[IN_SOURCE].options][:1] == ["HTTP API (Komando JSON)"]
    text = text_of(page)
    for heading in (
        "Incoming Data",
        "Accepted and refused per source",
        "Sensor data freshness",
        "OPD entry freshness",
        "Refused data (latest 50)",
    ):
        assert heading in text
    for words in ("Data Masuk", "Muat ulang", "Kesegaran", "ditolak"):
        assert words not in text


def test_tables_in_english_keep_id_id_numbers_and_times(city):
    counters = text_of(counters_view(source_counts({"simulator:accepted": 12_345}), "en"))
    assert "Source Accepted Refused Share refused" in counters
    assert "Total 12.345 0 0,0 %" in counters

    points = {"aq-cambai": (41.5, NOW - 30), "wl-kelekar-sukaraja": (205.0, NOW - 601)}
    view = sensors_view(sensor_ages(city, points, NOW), WIB, "WIB", NOW, "en")
    shown = rows_with(view, "data-sensor")
    assert text_of(shown["aq-cambai"]).endswith("41,5 µg/m³ 08.59.30 30 s ago fresh")
    assert text_of(shown["wl-kelekar-sukaraja"]).endswith("205 cm 08.49.59 10 min ago LATE")
    assert "Air (PM2.5, ISPU)" in text_of(shown["aq-cambai"])
    assert "Time (WIB)" in text_of(view) and "late or without data" in text_of(view)

    opds = opds_view(opd_ages(city, {"disdag": NOW - 6 * DAY}, NOW, "en"), WIB, "WIB", NOW, "en")
    shown = rows_with(opds, "data-opd")
    assert "(weekly)" in text_of(shown["disdag"]) and "7 days" in text_of(shown["disdag"])
    assert "on time" in text_of(shown["disdag"]) and "never" in text_of(shown["bkpsdm"])
    assert "Last entry (WIB)" in text_of(opds)

    row = letter(2, "x" * (PREVIEW_CHARS + 1000))
    letters = text_of(letters_view([row], None, WIB, "WIB", "en"))
    assert "Received (WIB) Source Reason Contents" in letters
    assert "Show all" in letters and "1.300 characters" in letters
    assert "No refused data from MQTT yet." in text_of(letters_view([], "mqtt", WIB, "WIB", "en"))
    assert "no longer in the database" in text_of(full_payload_view(None, "en"))
