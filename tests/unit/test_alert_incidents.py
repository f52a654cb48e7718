"""Incidents a person reports (a flood, a fire…): validation, the messages, the row and the map
marker, the form on /alerts only, and an evaluator that never touches them."""

from __future__ import annotations

import json

import pytest
from dash import html
from sqlalchemy import select

from callbacks.alert_map import alert_features
from data.alert_store import (
    INCIDENT_CATEGORIES,
    AlertActionError,
    AlertDesk,
    alerts_table,
    audit_table,
    incident_message,
)
from data.alerts import AlertEngine, LiveSnapshot, evaluate_rules
from data.city import AlertRule
from data.db.engine import make_engine
from layouts.alert_list import (
    INCIDENT_CATEGORY,
    INCIDENT_REGION,
    alert_row,
    alerts_page,
    region_options,
)
from runner import prepare_database

T0 = 1_795_000_000.0


class FakeLive:
    def __init__(self) -> None:
        self.merged: list[tuple[dict, bool]] = []

    def merge(self, changes, create=False):
        self.merged.append((changes, create))
        return len(changes)


@pytest.fixture
def desk(city, sqlite_url):
    engine = make_engine(sqlite_url)
    prepare_database(engine, city)
    yield AlertDesk(engine, FakeLive(), city)
    engine.dispose()


def rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(table)).all()


@pytest.mark.parametrize(
    ("args", "bahasa"),
    [
        (("gempa", "warning", "16.74.03", "Getaran terasa"), "pilih jenis kejadian"),
        (("banjir", "darurat", "16.74.03", "Air naik"), "pilih tingkat kejadian"),
        (("banjir", "warning", "", "Air naik"), "pilih kecamatan atau desa/kelurahan"),
        (("banjir", "warning", "16.74", "Air naik"), "pilih kecamatan"),  # the city itself
        (("banjir", "warning", "16.71.01", "Air naik"), "pilih kecamatan"),  # another city's
        (("banjir", "warning", "16.74.03", "  ab  "), "minimal 3 karakter"),
        (("banjir", "warning", "16.74.03", None), "minimal 3 karakter"),
        (("banjir", "warning", "16.74.03", "x" * 501), "maksimal 500 karakter"),
    ],
)
def test_a_report_is_validated_and_nothing_is_written_when_refused(desk, args, bahasa):
    with pytest.raises(AlertActionError, match=bahasa) as refused:
        desk.report_incident(*args, actor="Budi")
    assert refused.value.en  # an English message too
    assert rows(desk.engine, alerts_table) == [] and desk.live.merged == []


def test_a_report_needs_a_name_and_a_whole_valid_place(desk):
    with pytest.raises(AlertActionError, match="nama petugas"):
        desk.report_incident("banjir", "warning", "16.74.03", "Air naik", "  ")
    with pytest.raises(AlertActionError, match="tidak lengkap"):
        desk.report_incident("banjir", "warning", "16.74.03", "Air naik", "Budi", lat=-3.4)
    with pytest.raises(AlertActionError, match="tidak valid"):
        desk.report_incident(
            "banjir", "warning", "16.74.03", "Air naik", "Budi", lat=float("nan"), lng=104.2
        )


def test_a_desk_without_the_city_cannot_place_an_incident(city, sqlite_url):
    desk = AlertDesk(make_engine(sqlite_url), FakeLive(), "prabumulih")
    with pytest.raises(AlertActionError, match="kota tidak dikenal"):
        desk.report_incident("banjir", "warning", "16.74.03", "Air naik", "Budi")


def test_messages_in_both_languages():
    assert incident_message(INCIDENT_CATEGORIES["banjir"], "Kec. Cambai", "Air 50 cm") == (
        "Banjir di Kec. Cambai: Air 50 cm",
        "Flood in Kec. Cambai: Air 50 cm",
    )
    assert incident_message(INCIDENT_CATEGORIES["lainnya"], "Kec. Cambai", "Tanah longsor")[0] == (
        "Kejadian di Kec. Cambai: Tanah longsor"
    )
    assert set(INCIDENT_CATEGORIES) == {
        "banjir",
        "kebakaran",
        "kecelakaan",
        "pohon_tumbang",
        "jalan_rusak",
        "lainnya",
    }
    glyphs = [c.glyph for c in INCIDENT_CATEGORIES.values()]
    assert len(set(glyphs)) == len(glyphs)  # each tells itself apart on the map


def test_a_report_is_recorded_audited_and_put_on_the_live_list(city, desk):
    text = "  Air setinggi 50 cm <b>di</b> Jl. Jend. Sudirman  "
    uid = desk.report_incident("banjir", "critical", "16.74.03", text, "Budi", now=T0)
    (row,) = rows(desk.engine, alerts_table)
    assert (row.uid, row.city, row.rule, row.kind, row.subject, row.status) == (
        uid,
        "prabumulih",
        "incident",
        "incident",
        "banjir",
        "open",
    )
    assert row.severity == "critical" and row.region_kode == "16.74.03"
    assert row.message == "Banjir di Kec. Cambai: Air setinggi 50 cm <b>di</b> Jl. Jend. Sudirman"
    assert row.message_en == "Flood in Kec. Cambai: Air setinggi 50 cm <b>di</b> Jl. Jend. Sudirman"
    kecamatan = next(
        f["properties"]
        for f in city.kecamatan_geojson["features"]
        if f["properties"]["kode"] == "16.74.03"
    )
    assert (row.lat, row.lng) == (kecamatan["centroid_lat"], kecamatan["centroid_lng"])
    assert row.opened_ms == int(T0 * 1000) and row.cleared_ms is None
    (audit,) = rows(desk.engine, audit_table)
    assert (audit.actor, audit.action, audit.subject) == ("Budi", "incident.report", f"alert/{uid}")
    detail = json.loads(audit.detail)
    assert detail["category"] == "banjir" and detail["description"].startswith("Air setinggi")
    ((changes, create),) = desk.live.merged
    assert create is True
    live = changes[uid]
    assert (live["id"], live["kind"], live["status"], live["acknowledged_by"]) == (
        uid,
        "incident",
        "open",
        None,
    )


def test_a_village_is_named_with_its_kecamatan_and_a_given_point_wins(desk):
    uid = desk.report_incident(
        "pohon_tumbang", "info", "16.74.03.1001", "Pohon menutup jalan", "Ani", -3.38, 104.27
    )
    (row,) = rows(desk.engine, alerts_table)
    assert row.uid == uid
    assert row.message == "Pohon tumbang di Kel. Cambai, Kec. Cambai: Pohon menutup jalan"
    assert (row.lat, row.lng) == (-3.38, 104.27)


def incident(uid="inc1", **extra):
    return {
        "id": uid,
        "rule": "incident",
        "kind": "incident",
        "subject": "kebakaran",
        "subject_name": "Kebakaran",
        "region_kode": "16.74.03",
        "severity": "critical",
        "status": "open",
        "message": "Kebakaran di Kec. Cambai: <img src=x onerror=alert(1)>",
        "message_en": "Fire in Kec. Cambai: <img src=x onerror=alert(1)>",
        "opened_ms": int(T0 * 1000),
        "lat": -3.378,
        "lng": 104.268,
        "cleared_ms": None,
        **extra,
    }


def test_the_row_marks_an_incident_and_shows_its_text_as_text(city):
    row = alert_row(incident(), city, "id", T0 + 60)
    assert "is-incident" in row.className and row.to_plotly_json()["props"]["data-kind"] == (
        "incident"
    )
    body = row.children[1]
    line = body.children[0].children
    assert [c.children for c in line[:3]] == ["KRITIS", "KEJADIAN", "BARU"]
    message = line[-1]
    assert isinstance(message, html.Span)  # a plain string child: Dash escapes it
    assert message.children == "Kebakaran di Kec. Cambai: <img src=x onerror=alert(1)>"
    assert body.children[1].children[0].children == "Kebakaran · Kec. Cambai"
    english = alert_row(incident(), city, "en", T0 + 60)
    assert english.children[1].children[1].children[0].children == "Fire · Kec. Cambai"


def test_the_map_draws_an_incident_with_its_own_look():
    layer = alert_features([incident(), incident("inc2", status="resolved")])
    (feature,) = layer["features"]
    props = feature["properties"]
    assert (props["kind"], props["category"], props["glyph"]) == ("incident", "kebakaran", "K")
    assert feature["geometry"]["coordinates"] == [104.268, -3.378]
    threshold = alert_features([{**incident(), "kind": "air_quality", "subject": "aq-cambai"}])
    assert threshold["features"][0]["properties"]["glyph"] == "!"
    assert threshold["features"][0]["properties"]["category"] == ""


def ids_in(component) -> set[str]:
    found = set()
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if getattr(node, "id", None) and isinstance(node.id, str):
            found.add(node.id)
        children = getattr(node, "children", None)
        if children is not None and not isinstance(children, str):
            stack.append(children)
    return found


def test_the_form_is_on_alerts_only_with_every_kecamatan_and_desa(city):
    page = alerts_page(city, 1000, "id")
    assert {INCIDENT_CATEGORY, INCIDENT_REGION} <= ids_in(page)
    from layouts.wall import wall_layout
    from settings import Settings

    wall = wall_layout(city, Settings(), "id")
    assert INCIDENT_CATEGORY not in ids_in(wall)
    options = {o["value"]: o["label"] for o in region_options(city)}
    assert options["16.74.03"] == "Kec. Cambai"
    assert options["16.74.03.1001"] == "Cambai (Kec. Cambai)"
    assert "16.74" not in options


# -- the evaluator leaves incidents alone -------------------------------------------------------


def test_the_evaluator_never_adopts_clears_or_resolves_an_incident(city):
    rules = [r for r in city.config.alert_rules if r.id == "pm25"]
    # Even a city rule that happens to be called "incident" does not make it the engine's.
    rules.append(
        AlertRule.model_validate(
            {
                "id": "incident",
                "kind": "air_quality",
                "hold_s": 0,
                "clear_s": 0,
                "auto_resolve_s": 0,
                "levels": [{"category": "Tidak sehat", "severity": "warning"}],
            }
        )
    )
    engine = AlertEngine(rules)
    engine.load([incident(), incident("inc2", status="acknowledged", subject="banjir")])
    assert engine.active == {}
    for step in range(5):  # hours of normal air: nothing to clear or resolve
        now = T0 + step * 3600
        conditions, normal = evaluate_rules(
            city, rules, LiveSnapshot(sensors={"aq-cambai": (10.0, now)}), now, T0
        )
        assert engine.step(conditions, normal, now) == []
    engine.sync_statuses({"inc1": "resolved"})
    assert engine.active == {}


def test_the_form_speaks_english_when_asked(city):
    page = alerts_page(city, 1000, "en")
    text = json.dumps(page.to_plotly_json(), default=lambda c: c.to_plotly_json())
    for words in ("Report an incident", "Traffic accident", "Fallen tree", "Critical"):
        assert words in text
    assert "Laporkan kejadian" not in text
