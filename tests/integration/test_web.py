"""The web role in-process (FastAPI test client) against a real Redis: pages, video route and a
callback round trip, with data written by the worker-side store."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from app import create_app
from data.city import load_city
from data.db.engine import make_engine
from data.live_store import LiveStore
from data.models import CameraHealth, KpiValue, Reading
from layouts import ids
from runner import prepare_database
from settings import load_settings
from tests.accounts import display_session, session_for, signed_in_client
from tests.dash_requests import router_body


@pytest.fixture
def web(redis_url, live_store, tmp_path):
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path)
    app = create_app(settings)
    store = LiveStore(live_store.client, settings.redis_namespace)
    with TestClient(app.server) as client:
        signed_in_client(client, settings, "admin")
        yield client, store


def feed_body(known: dict, view: dict | None = None) -> dict:
    """The wall's one refresh request; `view` is the map's (None: a page without a map)."""
    views = [] if view is None else [{"id": ids.MAP_VIEW, "property": "data", "value": view}]
    outputs = [
        {"id": ids.FEED, "property": "data"},
        {"id": ids.FEED_VERSIONS, "property": "data"},
    ]
    return {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [{"id": ids.WALL_TICK, "property": "n_intervals", "value": 1}],
        "state": [{"id": ids.FEED_VERSIONS, "property": "data", "value": known}, views],
        "changedPropIds": [f"{ids.WALL_TICK}.n_intervals"],
    }


WALL_SECTIONS = ["alerts", "cameras", "freshness", "kpis", "sensors"]


def route(client, pathname: str, search: str = "", saved_lang: str | None = None) -> str:
    body = router_body(pathname, search, saved_lang)
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.text
    return json.dumps(response.json())


def test_wall_page_and_layout_are_served(web):
    client, _ = web
    page = client.get("/")
    assert page.status_code == 200
    assert "Komando — Kota Prabumulih" in page.text
    assert "page-content" in json.dumps(client.get("/_dash-layout").json())
    wall = route(client, "/")
    assert ids.MAP in wall and "Prabumulih Barat" in wall
    assert "Halaman tidak ditemukan" in route(client, "/no-such-page")
    # The language: from the URL first (and remembered), else the visitor's saved choice.
    assert "Page not found" in route(client, "/no-such-page", search="?lang=en")
    assert '"lang": {"data": "en"}' in route(client, "/no-such-page", search="?lang=en")
    assert "Page not found" in route(client, "/no-such-page", saved_lang="en")
    assert "Halaman tidak ditemukan" in route(client, "/no-such-page", "?lang=xx", "fr")
    docs = client.get("/docs")
    assert "swagger" not in docs.text.lower()  # no API docs published, only the app


def test_video_route_serves_the_published_jpeg_with_its_state(web):
    client, store = web
    now = time.time()
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8\xff-frame",
        CameraHealth(state="live", seq=42, frame_ts=now, updated_ts=now),
    )
    response = client.get("/video/simpang-sudirman.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == b"\xff\xd8\xff-frame"
    assert response.headers["x-frame-seq"] == "42"
    assert response.headers["x-camera-state"] == "live"
    assert "no-store" in response.headers["cache-control"]


def test_stale_or_missing_camera_gets_a_placeholder_never_the_old_frame(web):
    client, store = web
    old = time.time() - 120
    store.publish_frame(
        "sdn1-gerbang",
        b"\xff\xd8old-frame",
        CameraHealth(state="live", seq=5, frame_ts=old, updated_ts=old),
    )
    response = client.get("/video/sdn1-gerbang.jpg")
    assert response.headers["x-camera-state"] == "offline"
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert b"old-frame" not in response.content
    assert "Kamera offline" in response.text and "sejak" in response.text
    assert client.get("/video/no-such-camera.jpg").status_code == 404


def test_the_wall_feed_sends_what_changed_then_nothing_while_unchanged(web):
    client, store = web
    now = time.time()
    store.write_readings([Reading(sensor_id="aq-cambai", ts=now, value=70.0)])
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8frame",
        CameraHealth(state="live", seq=1, frame_ts=now, updated_ts=now),
    )
    first = client.post("/_dash-update-component", json=feed_body({"want": WALL_SECTIONS}))
    assert first.status_code == 200
    response = first.json()["response"]
    feed, known = response[ids.FEED]["data"], response[ids.FEED_VERSIONS]["data"]
    assert feed["sensors"]["aq-cambai"][2] == "Tidak sehat"
    assert feed["cameras"]["simpang-sudirman"][0] == "LANGSUNG"
    assert feed["cameras"]["sdn1-gerbang"][1].endswith("state-offline")  # never reported
    assert feed["freshness"][0].startswith("Data per ")
    assert known["want"] == WALL_SECTIONS

    # Nothing changed (a new frame is not a change of state): 204 and no body at all.
    later = time.time()
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8frame2",
        CameraHealth(state="live", seq=2, frame_ts=later, updated_ts=later),
    )
    again = client.post("/_dash-update-component", json=feed_body(known))
    assert again.status_code == 204
    assert again.content == b""

    # One reading: only the sensors (and the "data as of" line) travel.
    store.write_readings([Reading(sensor_id="aq-cambai", ts=later + 1, value=10.0)])
    changed = client.post("/_dash-update-component", json=feed_body(known)).json()["response"]
    assert set(changed[ids.FEED]["data"]) <= {"sensors", "freshness"}
    assert changed[ids.FEED]["data"]["sensors"]["aq-cambai"][2] == "Baik"


def test_a_page_gets_only_the_sections_it_shows(web):
    client, store = web
    store.write_readings([Reading(sensor_id="aq-cambai", ts=time.time(), value=70.0)])
    response = client.post("/_dash-update-component", json=feed_body({"want": ["cameras"]}))
    assert set(response.json()["response"][ids.FEED]["data"]) == {"cameras"}


def test_cameras_by_role_through_every_video_route(redis_url, live_store, tmp_path):
    """A wall display sees street cameras, not school ones; a parent only their own school's;
    an anonymous visitor nothing. Refusals of another school's camera look like an unknown one
    (404), so guessing ids teaches nothing; no refusal carries a frame."""
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path, host="0.0.0.0")
    app = create_app(settings)
    store = LiveStore(live_store.client, settings.redis_namespace)
    now = time.time()
    for camera in ("sdn1-gerbang", "simpang-sudirman"):
        store.publish_frame(
            camera,
            b"\xff\xd8frame",
            CameraHealth(state="live", seq=1, frame_ts=now, updated_ts=now),
        )
    school_paths = (
        "/video/sdn1-gerbang.jpg",
        "/video/sdn1-gerbang.mjpg",
        "/video/sdn1-gerbang/thumb.jpg",
        "/video/wall.stream?cameras=simpang-sudirman,sdn1-gerbang",
    )
    with TestClient(app.server) as client:
        assert client.get("/video/simpang-sudirman.jpg").status_code == 401
        engine = make_engine(settings.effective_database_url)
        prepare_database(engine, app_city(settings))
        client.cookies.update(display_session(engine, "/").cookies)
        assert client.get("/video/simpang-sudirman.jpg").status_code == 200
        for path in school_paths:
            refused = client.get(path)
            assert refused.status_code == 404, path
            assert b"frame" not in refused.content
        client.cookies.clear()
        client.cookies.update(session_for(engine, "parent", schools=["sdn1-demo"]).cookies)
        assert client.get("/video/sdn1-gerbang.jpg").status_code == 200
        assert client.get("/video/simpang-sudirman.jpg").status_code == 404
        client.cookies.clear()
        client.cookies.update(session_for(engine, "parent", schools=["sd-lain"]).cookies)
        for path in school_paths:
            assert client.get(path).status_code == 404, path


def test_thumbnail_route_serves_the_small_picture_or_a_placeholder(web):
    client, store = web
    now = time.time()
    store.publish_frame(
        "simpang-sudirman",
        b"\xff\xd8full",
        CameraHealth(state="live", seq=3, frame_ts=now, updated_ts=now),
    )
    store.client.set(store.keys.camera_thumb("simpang-sudirman"), b"\xff\xd8thumb", ex=60)
    response = client.get("/video/simpang-sudirman/thumb.jpg")
    assert response.content == b"\xff\xd8thumb"
    assert response.headers["x-camera-state"] == "live"
    offline = client.get("/video/sdn1-gerbang/thumb.jpg")  # no frame at all
    assert offline.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/video/nope/thumb.jpg").status_code == 404


def test_the_map_is_shaded_by_the_chosen_kpi_of_each_kecamatan(web):
    client, store = web
    now = time.time()
    store.write_region_kpis(
        {
            "16.74.03": [KpiValue(kpi_id="pm25_rata_rata", ts=now, value=180.0)],
            "16.74.05": [
                KpiValue(kpi_id="pm25_rata_rata", ts=now, value=12.0),
                KpiValue(kpi_id="okupansi_parkir", ts=now, value=95.0),
            ],
        }
    )
    view = {"shade": "pm25_rata_rata", "focus": ""}
    first = client.post("/_dash-update-component", json=feed_body({"want": ["regions"]}, view))
    response = first.json()["response"]
    regions, known = response[ids.FEED]["data"]["regions"], response[ids.FEED_VERSIONS]["data"]
    assert regions["kpi"] == "pm25_rata_rata"  # the first wall KPI a kecamatan has
    assert regions["values"]["16.74.03"] == "180,0 µg/m³"
    assert regions["fills"]["16.74.03"] == "#d7191c"  # beyond the warn threshold
    assert regions["fills"]["16.74.05"] == "#2e9e44"
    assert regions["fills"]["16.74.01"] == "" and regions["values"]["16.74.01"] == "–"
    assert regions["focus"] is None
    unchanged = client.post("/_dash-update-component", json=feed_body(known, view))
    assert unchanged.status_code == 204
    # Another KPI chosen on the map: its colours come at the next refresh.
    view = {"shade": "okupansi_parkir", "focus": ""}
    response = client.post("/_dash-update-component", json=feed_body(known, view)).json()
    parking = response["response"][ids.FEED]["data"]["regions"]
    assert parking["kpi"] == "okupansi_parkir" and parking["fills"]["16.74.05"] == "#d7191c"
    # Zoomed into a kecamatan: its own KPIs come along (what it has sensors for).
    known = response["response"][ids.FEED_VERSIONS]["data"]
    view = {"shade": "okupansi_parkir", "focus": "16.74.05"}
    response = client.post("/_dash-update-component", json=feed_body(known, view)).json()
    focus = response["response"][ids.FEED]["data"]["regions"]["focus"]
    assert focus["kode"] == "16.74.05"
    assert ["PM2.5 rata-rata kota", "12,0 µg/m³", "#2e9e44"] in focus["rows"]
    assert ["Okupansi parkir", "95 %", "#d7191c"] in focus["rows"]


def app_city(settings):
    return load_city(settings.city_dir)
