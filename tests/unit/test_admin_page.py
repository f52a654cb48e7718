"""The admin page's pure parts: what a camera's health message may show, CSV cells that must
not become formulas, the bindings a role keeps, the audit filter and the display link's origin."""

from __future__ import annotations

import json

import pytest
from plotly.utils import PlotlyJSONEncoder

from callbacks.admin_audit import audit_filter, csv_href
from callbacks.admin_guard import next_version
from callbacks.admin_links import clicked, origin_of
from data.accounts import AccountError, audit_csv, csv_cell
from data.user_admin import bindings_for, chosen_password, random_password
from layouts.admin import admin_layout, binding_classes
from layouts.admin_tables import cameras_table, detail_text, scrub, users_table


def as_json(component) -> str:
    return json.dumps(component, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_a_camera_message_never_shows_its_source(city):
    camera = city.config.cameras[0].model_copy(update={"source": "env:KOMANDO_CAM_GERBANG"})
    message = (
        "cannot open rtsp://admin:rahasia@10.0.0.5:554/ch1 from env:KOMANDO_CAM_GERBANG "
        "(secret:gerbang, KOMANDO_CAM_GERBANG unset, http://nvr.local/snap.jpg)"
    )
    shown = scrub(message, camera)
    for never in ("rahasia", "10.0.0.5", "KOMANDO_CAM_GERBANG", "gerbang)", "nvr.local"):
        assert never not in shown, shown
    assert shown.startswith("cannot open […]")


def test_the_camera_table_has_no_source_column(city):
    table = as_json(cameras_table(city, None, "id"))
    for camera in city.config.cameras:
        assert camera.name in table and camera.source not in table


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("user:admin", "user:admin"),
        (1764050000000, "1764050000000"),
        (None, ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_text(value, cell):
    assert csv_cell(value) == cell


def test_audit_csv_neutralises_every_column():
    rows = [{"ts_ms": 1, "actor": "=a", "action": "+b", "subject": "-c", "detail": "@d"}]
    line = audit_csv(rows).splitlines()[1]
    assert line == "1;'=a;'+b;'-c;'@d"


def test_a_role_keeps_only_its_own_bindings(city):
    assert bindings_for(city, "parent", ["dlh"], ["sdn1-demo"]).opds == []
    assert bindings_for(city, "opd", ["dlh"], ["sdn1-demo"]).schools == []
    assert bindings_for(city, "operator", ["dlh"], ["sdn1-demo"]).opds == []
    with pytest.raises(AccountError, match="minimal satu OPD"):
        bindings_for(city, "opd", [], [])
    with pytest.raises(AccountError, match="tidak dikenal"):
        bindings_for(city, "parent", [], ["sekolah-lain"])
    with pytest.raises(AccountError, match="peran"):
        bindings_for(city, "display", [], [])
    assert binding_classes("opd")[1].endswith("is-hidden")
    assert not binding_classes("parent")[1].endswith("is-hidden")


def test_passwords_typed_twice_or_made_up():
    assert chosen_password("kata-sandi-123", "kata-sandi-123", False, "budi") == "kata-sandi-123"
    with pytest.raises(AccountError, match="tidak sama"):
        chosen_password("kata-sandi-123", "kata-sandi-124", False, "budi")
    with pytest.raises(AccountError, match="minimal 10"):
        chosen_password("pendek", "pendek", False, "budi")
    made = {random_password("budi") for _ in range(20)}
    assert len(made) == 20 and all(len(p) >= 16 for p in made)
    assert chosen_password(None, None, True, "budi") not in made


def test_audit_filter_and_its_csv_link():
    assert audit_filter(" user. ", None, 999) == ("user.", "", 50)
    assert audit_filter(None, "user:admin", 200) == ("", "user:admin", 200)
    assert csv_href("user.", "", 200) == "/admin/audit.csv?tindakan=user.&batas=200"
    assert csv_href("", "a&b", 50) == "/admin/audit.csv?pelaku=a%26b&batas=50"
    assert detail_text('{"schools": ["a", "b"], "generated_password": true}') == (
        "schools: a, b · generated_password: ya"
    )
    assert detail_text("not json") == "not json"


def test_display_link_origin_and_clicks():
    assert origin_of("https://komando.example.go.id/admin#x") == "https://komando.example.go.id"
    assert origin_of("javascript:alert(1)") == ""
    assert origin_of(None) == ""
    assert clicked(1) and not clicked(0) and not clicked(None)
    assert next_version(None) == 1 and next_version(4) == 5


def test_the_layout_is_pure_and_bilingual(city):
    indonesian = as_json(admin_layout(city, "id"))
    english = as_json(admin_layout(city, "en"))
    assert "Administrasi" in indonesian and "Jejak audit" in indonesian
    assert "Administration" in english and "Audit trail" in english
    assert "data/cities/prabumulih/city.yaml" in indonesian
    rows = [
        {
            "id": 1,
            "username": "x",
            "display_name": "<b>X</b>",
            "role": "admin",
            "opds": "",
            "schools": [],
            "active": True,
            "locked_until_ms": None,
            "created_ms": 0,
        },
    ]
    assert "<b>X</b>" in as_json(users_table(rows, city, 0))
