"""The parent portal (/parent, issue 6) in the app from create_app, with real Redis and SQLite:
a parent sees their own school's cameras and nothing of another school's; other roles are
turned away; outside viewing hours the page and the video routes say so; guessing another
school's camera id teaches nothing; the parent's views land in the audit trail."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import create_app
from data.accounts import audit_log
from data.city import load_city
from data.db.engine import make_engine
from data.live_store import LiveStore
from data.models import CameraHealth
from runner import prepare_database
from server.video_routes import VideoRoutes
from settings import PROJECT_ROOT, load_settings
from tests.accounts import PASSWORD, display_session, make_user, session_for

# Another school, with a camera whose id and name must never reach the first school's parents.
OTHER_SCHOOL = {
    "id": "sdn2-lain",
    "name": "SD Negeri 2 Lain",
    "region": "16.74.05.1003",
    "lat": -3.43,
    "lng": 104.231,
}
OTHER_CAMERA = {
    "id": "sdn2-ruang-rahasia",
    "name": "SDN 2 — Ruang Rahasia",
    "kind": "school",
    "school": "sdn2-lain",
    "region": "16.74.05.1003",
    "lat": -3.43,
    "lng": 104.231,
    "source": "sample:car-detection.mp4",
}
NO_CAMERA_SCHOOL = {**OTHER_SCHOOL, "id": "tk-tanpa-kamera", "name": "TK Tanpa Kamera"}
OWN_CAMERA = "sdn1-gerbang"
STREET_CAMERA = "simpang-sudirman"


def city_copy(tmp_path, **own_school: object):
    """Prabumulih with two more schools (one with a camera, one without); `own_school` edits
    sdn1-demo (e.g. its viewing hours)."""
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "prabumulih", cities / "prabumulih")
    path = cities / "prabumulih" / "city.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["schools"][0].update(own_school)
    config["schools"] += [OTHER_SCHOOL, NO_CAMERA_SCHOOL]
    config["cameras"].append(OTHER_CAMERA)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return cities


def hours_excluding_now() -> dict[str, object]:
    """Viewing hours that exclude this moment: a window two hours ahead, on other days only."""
    now = datetime.now(ZoneInfo("Asia/Jakarta"))
    start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    return {
        "viewing_hours": f"{start:%H}:00-{end:%H}:00",
        "viewing_days": [d for d in range(1, 8) if d != now.isoweekday()],
    }


@pytest.fixture
def portal(redis_url, live_store, tmp_path, request):
    """(client, engine, store) of an app serving the copied city; frames published for every
    camera. Parametrise indirectly with sdn1-demo's edits."""
    cities = city_copy(tmp_path, **getattr(request, "param", {}))
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path, cities_dir=cities)
    app = create_app(settings)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, load_city(settings.city_dir))
    store = LiveStore(live_store.client, settings.redis_namespace)
    now = time.time()
    for camera in (OWN_CAMERA, STREET_CAMERA, OTHER_CAMERA["id"]):
        health = CameraHealth(state="live", seq=7, frame_ts=now, updated_ts=now)
        store.publish_frame(camera, b"\xff\xd8frame-of-" + camera.encode(), health)
        store.client.set(store.keys.camera_thumb(camera), b"\xff\xd8thumb", ex=60)
    with TestClient(app.server) as client:
        yield client, engine, app


def as_parent(client, engine, schools=("sdn1-demo",)) -> str:
    """Sign `client` in as a new parent of `schools`; returns the username."""
    session = session_for(engine, "parent", schools=list(schools))
    client.cookies.clear()
    client.cookies.update(session.cookies)
    return session.username


def video_paths(camera: str) -> list[str]:
    return [
        f"/video/{camera}.jpg",
        f"/video/{camera}.jpg?after=3",
        f"/video/{camera}.mjpg",
        f"/video/{camera}/thumb.jpg",
        f"/video/wall.stream?cameras={camera}",
    ]


def test_a_parent_sees_their_school_and_nothing_of_another(portal):
    client, engine, _ = portal
    as_parent(client, engine)
    page = client.get("/parent")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert 'data-camera="sdn1-gerbang"' in html and 'data-open="1"' in html
    assert "SD Negeri 1 (demo)" in html and "Kota Prabumulih" in html
    assert "Keluar" in html and 'href="/logout"' in html
    assert "Jam tayang sepanjang hari, setiap hari" in html
    # No id or name of a camera or school that is not theirs, anywhere in the answer.
    for foreign in ("sdn2", "Rahasia", "SD Negeri 2", STREET_CAMERA, "Sudirman", "TK Tanpa"):
        assert foreign not in html, foreign
    # Plain HTML: no Dash bundle, no inline script (the CSP allows none).
    assert "_dash-component-suites" not in html and "<script>" not in html
    assert '<script src="/assets/komando_parent.js" defer></script>' in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    status = client.get("/parent/status.json").json()
    assert status["cameras"] == {OWN_CAMERA: {"open": True, "message": ""}}
    assert 5 <= status["next_check_s"] <= 60
    assert client.get(f"/video/{OWN_CAMERA}.jpg").content == b"\xff\xd8frame-of-sdn1-gerbang"


def test_a_parent_signs_in_with_the_form_and_lands_on_the_portal(portal):
    """Through the real form, after the browser's own stray requests: a page without an icon
    link makes the browser ask /favicon.ico, which the gate sends to /login; that second form
    must not void the one the parent is filling in."""
    client, engine, _ = portal
    client.cookies.clear()
    make_user(engine, "parent", "ibu.sari", schools=["sdn1-demo"])
    form = client.get("/parent")  # redirected to the form
    assert str(form.url).endswith("/login?next=%2Fparent")
    assert '<link rel="icon" href="/_favicon.ico">' in form.text
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert client.get("/favicon.ico").status_code == 200  # the sign-in form again
    signed_in = client.post(
        "/login",
        data={"csrf": csrf, "username": "ibu.sari", "password": PASSWORD, "next": "/parent"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/parent"
    assert "Ibu.Sari" in client.get("/parent").text


def test_every_other_role_is_turned_away(portal):
    client, engine, _ = portal
    client.cookies.clear()
    for path in ("/parent", "/parent/status.json"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/login?next=%2Fparent")
    for role in ("operator", "admin", "executive"):
        client.cookies.clear()
        client.cookies.update(session_for(engine, role).cookies)
        for path in ("/parent", "/parent/status.json"):
            refused = client.get(path, follow_redirects=False)
            assert refused.status_code == 403, (role, path)
            assert OWN_CAMERA not in refused.text
    client.cookies.clear()
    client.cookies.update(display_session(engine, "/").cookies)
    assert client.get("/parent", follow_redirects=False).status_code == 403
    # A parent following the site's bare address lands on the portal.
    as_parent(client, engine)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/parent"


def test_guessing_another_schools_camera_gives_404_on_every_route(portal):
    client, engine, _ = portal
    as_parent(client, engine)
    for camera in (OTHER_CAMERA["id"], STREET_CAMERA, "tidak-ada"):
        for path in video_paths(camera):
            refused = client.get(path)
            assert refused.status_code == 404, path
            assert b"frame" not in refused.content and b"thumb" not in refused.content
            assert refused.json() == {"detail": "kamera tidak ditemukan"}
    # The other school's own parent does see it (the 404 above was about who asked).
    as_parent(client, engine, schools=["sdn2-lain"])
    assert client.get(f"/video/{OTHER_CAMERA['id']}.jpg").status_code == 200
    assert client.get(f"/video/{OWN_CAMERA}.jpg").status_code == 404
    html = client.get("/parent").text
    assert "Ruang Rahasia" in html and OWN_CAMERA not in html


@pytest.mark.parametrize("portal", [hours_excluding_now()], indirect=True)
def test_outside_viewing_hours_the_page_says_so_and_the_video_is_403(portal):
    client, engine, _ = portal
    as_parent(client, engine)
    html = client.get("/parent").text
    assert 'data-camera="sdn1-gerbang"' in html and 'data-open="0"' in html
    assert "Sekarang di luar jam tayang." in html
    assert "Di luar jam tayang" in html
    hours = hours_excluding_now()["viewing_hours"].replace(":", ".").replace("-", "–")
    assert f"Jam tayang {hours} WIB" in html
    assert "Dibuka lagi besok pukul" in html  # today is not a viewing day; tomorrow is
    status = client.get("/parent/status.json").json()["cameras"][OWN_CAMERA]
    assert status["open"] is False and status["message"].startswith("Dibuka lagi besok pukul")
    for path in video_paths(OWN_CAMERA):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "Di luar jam tayang" in refused.json()["detail"]
        assert b"frame" not in refused.content


def test_parents_without_a_school_or_cameras_are_told_so(portal):
    client, engine, _ = portal
    as_parent(client, engine, schools=["sd-yang-sudah-dihapus"])
    html = client.get("/parent").text
    assert "Belum ada sekolah" in html and "data-camera" not in html
    as_parent(client, engine, schools=["tk-tanpa-kamera"])
    html = client.get("/parent").text
    assert "TK Tanpa Kamera" in html and "belum memiliki kamera" in html
    assert "data-camera" not in html
    assert client.get("/parent/status.json").json()["cameras"] == {}


def test_a_parents_views_land_in_the_audit_trail_with_their_duration(portal):
    client, engine, app = portal
    username = as_parent(client, engine)
    routes = next(a for p, a in app.server._ahead if isinstance(a, VideoRoutes))
    assert routes.views is not None
    routes.views.flush_s = 1  # the real log, its duration brought up to date every second

    def views() -> list:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.action == "camera.view")).all()
        return [(r.actor, r.subject, json.loads(r.detail)) for r in rows]

    assert client.get(f"/video/{OWN_CAMERA}.jpg").status_code == 200
    wait_for(lambda: len(views()) == 1)
    actor, subject, detail = views()[0]
    assert username in actor and subject == OWN_CAMERA
    assert detail["seconds"] == 0 and detail["route"] == "snapshot"
    time.sleep(2.1)
    routes._last_logged.clear()  # this process writes at most every 10 s per viewer
    assert client.get(f"/video/{OWN_CAMERA}/thumb.jpg").status_code == 200
    wait_for(lambda: views()[0][2]["seconds"] >= 2)
    assert len(views()) == 1  # one view, lengthened, not a row per picture
    # Refused requests are not views.
    client.get(f"/video/{OTHER_CAMERA['id']}.jpg")
    time.sleep(0.3)
    assert [s for _, s, _ in views()] == [OWN_CAMERA]


def wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
