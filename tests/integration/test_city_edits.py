"""Schools and cameras added or changed in the admin page (issue 6), against real Redis and
SQLite: through the page's own callbacks as the browser sends them, checked with the whole city,
applied by another process's city within its watcher's next look, followed by a real grabber
(OpenCV reading a demo clip), and never showing a camera's source."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callbacks.live_feed import FeedBuilder
from data import accounts
from data.access import PARENT, WEEKDAYS_ID
from data.city import load_city
from data.city_edits import CityEdits, CityEditsWatcher, read_edits
from data.live_reader import LiveReader
from data.live_store import LiveStore
from layouts import admin_city as form
from settings import PROJECT_ROOT
from tests.accounts import session_for
from tests.admin_page import client_for
from video.grabber import GrabTiming
from video.role import follow_edits, start_grab_role

DEMO = PROJECT_ROOT / "data" / "cities" / "prabumulih"
REGION = "16.74.05.1003"  # a desa of the demo city
SECRET_URL = "rtsp://admin:rahasia123@10.1.2.3:554/Streaming/Channels/101"


def save_school(page, pick=form.NEW, school_id="", name="", npsn="", region=REGION,
                lat=-3.43, lng=104.231, hours="", days=(1, 2, 3, 4, 5, 6, 7),
                removing=False) -> dict:  # fmt: skip
    """The save button pressed, or with `removing` the remove button and its dialog accepted."""
    return page.ok(
        form.ADM_SCH_RESULT,
        [
            (form.ADM_SCH_SAVE, "n_clicks", 0 if removing else 1),
            (form.ADM_SCH_REMOVE, "submit_n_clicks", 1 if removing else None),
        ],
        [
            (form.ADM_SCH_PICK, "value", pick),
            (form.ADM_SCH_ID, "value", school_id),
            (form.ADM_SCH_NAME, "value", name),
            (form.ADM_SCH_NPSN, "value", npsn),
            (form.ADM_SCH_REGION, "value", region),
            (form.ADM_SCH_LAT, "value", lat),
            (form.ADM_SCH_LNG, "value", lng),
            (form.ADM_SCH_HOURS, "value", hours),
            (form.ADM_SCH_DAYS, "value", list(days)),
            ("adm-version", "data", 0),
            ("lang", "data", "id"),
        ],
        changed=f"{form.ADM_SCH_REMOVE}.submit_n_clicks" if removing else None,
    )


def save_camera(page, pick=form.NEW, camera_id="", name="", kind="street", school=None,
                region=REGION, lat=-3.43, lng=104.231, source="", source_type="auto",
                fps=None, hours="", removing=False) -> dict:  # fmt: skip
    return page.ok(
        form.ADM_CAM_RESULT,
        [
            (form.ADM_CAM_SAVE, "n_clicks", 0 if removing else 1),
            (form.ADM_CAM_REMOVE, "submit_n_clicks", 1 if removing else None),
        ],
        [
            (form.ADM_CAM_PICK, "value", pick),
            (form.ADM_CAM_ID, "value", camera_id),
            (form.ADM_CAM_NAME, "value", name),
            (form.ADM_CAM_KIND, "value", kind),
            (form.ADM_CAM_SCHOOL, "value", school),
            (form.ADM_CAM_REGION, "value", region),
            (form.ADM_CAM_LAT, "value", lat),
            (form.ADM_CAM_LNG, "value", lng),
            (form.ADM_CAM_SOURCE, "value", source),
            (form.ADM_CAM_TYPE, "value", source_type),
            (form.ADM_CAM_FPS, "value", fps),
            (form.ADM_CAM_HOURS, "value", hours),
            ("adm-version", "data", 0),
            ("lang", "data", "id"),
        ],
        changed=f"{form.ADM_CAM_REMOVE}.submit_n_clicks" if removing else None,
    )


def message(answer: dict, output: str) -> str:
    return json.dumps(answer[output]["children"], ensure_ascii=False)


def another_process(page) -> tuple:
    """A second city loaded from the same folder, as another web worker or a grabber shard on
    another machine holds it, with its watcher."""
    city = load_city(DEMO)
    watcher = CityEditsWatcher(
        CityEdits.of(city, page.engine),
        page.store.client,
        page.settings.redis_namespace,
        check_every_s=0.1,
    )
    watcher.check()
    return city, watcher


@contextmanager
def grab_role_of(page) -> Iterator[tuple]:
    """Another process's city and watcher, with its grab role (real OpenCV loops) following
    the edits: (city, watcher, store, pool); the loops are stopped after."""
    city, watcher = another_process(page)
    store = LiveStore(page.store.client, page.settings.redis_namespace)
    stop = threading.Event()
    sources = {"environ": {}, "secrets_dir": None, "fps": 5.0, "width": 320, "quality": 70}
    pool = start_grab_role(
        city, store, stop, timing=GrabTiming(), lease_ttl_s=5.0, shard=None, **sources
    )
    watcher.listeners.append(follow_edits(pool, store, shard=None, **sources))
    try:
        yield city, watcher, store, pool
    finally:
        stop.set()
        for thread in pool.threads:
            thread.join(timeout=10)


def test_a_school_added_in_the_page_and_its_hours_apply_to_parents_everywhere(admin_page):
    page = admin_page
    today = datetime.now(ZoneInfo("Asia/Jakarta")).isoweekday()
    other_days = [d for d in range(1, 8) if d != today]
    answer = save_school(page, school_id="sdn-baru", name="SD Negeri Baru", days=other_days)
    assert "disimpan" in message(answer, form.ADM_SCH_RESULT)
    # The school is in the page's pickers at once (users' schools, cameras' schools).
    assert any(o["value"] == "sdn-baru" for o in answer[form.ADM_SCH_PICK]["options"])
    assert any(o["value"] == "sdn-baru" for o in answer[form.ADM_CAM_SCHOOL]["options"])
    answer = save_camera(
        page,
        camera_id="sdn-baru-gerbang",
        name="SD Negeri Baru — Gerbang",
        kind="school",
        school="sdn-baru",
        source="sample:one-by-one-person-detection.mp4",
    )
    assert "disimpan" in message(answer, form.ADM_CAM_RESULT)
    page.create_user("ibu.baru", PARENT, schools=["sdn-baru"])
    parent = client_for(page, session_for(page.engine, PARENT, schools=("sdn-baru",)))
    # Not today: the parent is refused with the viewing days, not a 404.
    refused = parent.get("/video/sdn-baru-gerbang.jpg")
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"].startswith("Di luar jam tayang SD Negeri Baru")
    assert WEEKDAYS_ID[today - 1] not in refused.json()["detail"]

    city, watcher = another_process(page)
    assert city.config.schools[-1].viewing_days == other_days
    assert city.camera("sdn-baru-gerbang") is not None

    save_school(page, pick="sdn-baru", name="SD Negeri Baru")  # every day now
    time.sleep(2.1)  # the gate keeps a principal's view for 2 s
    allowed = parent.get("/video/sdn-baru-gerbang.jpg")
    assert allowed.status_code not in (403, 404), allowed.status_code
    assert watcher.check() is True
    assert city.config.schools[-1].viewing_days == [1, 2, 3, 4, 5, 6, 7]
    assert [e["item_id"] for e in read_edits(page.engine, city.slug)] == [
        "sdn-baru-gerbang",
        "sdn-baru",
    ]
    audit = [r for r in accounts.read_audit(page.engine, 50) if r["action"].startswith("admin.")]
    assert {(r["action"], r["subject"]) for r in audit} >= {
        ("admin.school.add", "sdn-baru"),
        ("admin.camera.add", "sdn-baru-gerbang"),
        ("admin.school.edit", "sdn-baru"),
    }


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    [
        ("school", {"school_id": "sdn1-demo", "name": "Ganda"}, "sudah dipakai"),
        ("school", {"school_id": "Bad Id", "name": "X"}, "id"),
        ("school", {"school_id": "sdn-x", "name": "X", "region": "32.73.01"}, "not in 16.74"),
        ("school", {"school_id": "sdn-x", "name": "X", "hours": "25:00-26:00"}, "viewing_hours"),
        ("school", {"school_id": "sdn-x", "name": "X", "days": ()}, "viewing_days"),
        ("school", {"school_id": "sdn-x", "name": "X", "lat": 40.0}, "lat"),
        ("camera", {"camera_id": "c-x", "name": "X", "source": SECRET_URL}, "kata sandi"),
        ("camera", {"camera_id": "c-x", "name": "X", "source": "/etc/passwd"}, "source"),
        ("camera", {"camera_id": "c-x", "name": "X", "source": ""}, "memerlukan sumber"),
        (
            "camera",
            {"camera_id": "c-x", "name": "X", "kind": "school", "source": "sample:x.mp4"},
            "school",
        ),
        (
            "camera",
            {"camera_id": "c-x", "name": "X", "school": "no", "kind": "school", "source": "env:X"},
            "'no'",
        ),
    ],
)
def test_an_edit_the_city_refuses_says_why_and_stores_nothing(admin_page, kind, changes, reason):
    page = admin_page
    answer = (save_school if kind == "school" else save_camera)(page, **changes)
    text = message(answer, form.ADM_SCH_RESULT if kind == "school" else form.ADM_CAM_RESULT)
    assert "Tidak disimpan" in text or "memerlukan" in text, text
    assert reason in text, text
    assert read_edits(page.engine, "prabumulih") == []
    assert "rahasia123" not in "\n".join(page.answers)


def test_a_camera_source_is_never_sent_back(admin_page):
    page = admin_page
    save_camera(page, camera_id="c-rahasia", name="Rahasia", source="env:KOMANDO_CAM_RAHASIA")
    loaded = page.ok(
        form.ADM_CAM_ID,
        [(form.ADM_CAM_PICK, "value", "c-rahasia")],
        [("lang", "data", "id")],
    )
    assert loaded[form.ADM_CAM_SOURCE]["value"] == ""
    assert "tersimpan" in json.dumps(loaded[form.ADM_CAM_SOURCE_STATE])
    # Saved again with the source left empty: the stored source is kept.
    save_camera(page, pick="c-rahasia", name="Rahasia (ganti nama)")
    body = next(e["body"] for e in read_edits(page.engine, "prabumulih"))
    assert body["source"] == "env:KOMANDO_CAM_RAHASIA" and body["name"].endswith("nama)")
    for answer in page.answers:
        assert "KOMANDO_CAM_RAHASIA" not in answer


def test_a_camera_added_in_the_page_is_grabbed_and_follows_its_changes(admin_page):
    """The grab role of another process (a real OpenCV loop on a demo clip) starts the camera
    an admin added, and restarts it when its settings change."""
    page = admin_page
    with grab_role_of(page) as (_, watcher, store, pool):
        assert "cam-baru" not in pool.specs
        save_camera(page, camera_id="cam-baru", name="Kamera Baru",
                    source="sample:car-detection.mp4", fps=4)  # fmt: skip
        watcher.check()
        assert pool.specs["cam-baru"].fps == 4
        deadline = time.monotonic() + 30
        while store.camera("cam-baru")[0] is None:
            assert time.monotonic() < deadline, "no frame of the new camera within 30 s"
            time.sleep(0.2)
        first = pool.grabbers[-1]
        save_camera(page, pick="cam-baru", name="Kamera Baru", fps=2)
        watcher.check()
        assert pool.specs["cam-baru"].fps == 2
        assert first not in pool.grabbers  # the old loop was retired, a new one started
        assert sum(g.camera_id == "cam-baru" for g in pool.grabbers) == 1
        # The demo cameras from city.yaml kept running.
        assert {"sdn1-gerbang", "simpang-sudirman"} <= set(pool.specs)


def test_walls_are_told_to_reload_when_a_camera_is_added(admin_page):
    """A wall runs for days: its feed carries a fingerprint of the cameras and schools it was
    drawn with, and asks the page to reload when an admin changes them."""
    page = admin_page
    city, watcher = another_process(page)
    feed = FeedBuilder(
        LiveReader(page.settings.redis_url, page.settings.redis_namespace), city, page.settings
    )
    _, known = asyncio.run(feed.changes({"want": []}))
    assert asyncio.run(feed.changes(known)) is None  # nothing changed: 204
    save_camera(page, camera_id="cam-lain", name="Kamera Lain", source="sample:car-detection.mp4")
    watcher.check()
    answer, known = asyncio.run(feed.changes(known))
    assert answer == {"reload": True}
    assert asyncio.run(feed.changes(known)) is None  # said once


def test_an_edit_that_no_longer_fits_city_yaml_is_left_out_and_the_rest_applies(admin_page):
    """city.yaml changed under the edits (here: a camera refers to a school that is gone):
    that one edit is left out with the reason logged, the good ones still apply."""
    page = admin_page
    city, _ = another_process(page)
    good = {"name": "SD Baik", "region": REGION, "lat": -3.43, "lng": 104.23}
    orphan = {"name": "Yatim", "kind": "school", "school": "sdn-hilang", "region": REGION,
              "lat": -3.43, "lng": 104.23, "source": "sample:car-detection.mp4"}  # fmt: skip
    edits = CityEdits.of(city, page.engine)
    edits._store("school", "sdn-baik", good, "uji")
    edits._store("camera", "cam-yatim", orphan, "uji")
    assert edits.apply() is False
    assert city.config.schools[-1].id == "sdn-baik"
    assert city.camera("cam-yatim") is None
    assert {c.id for c in city.config.cameras} == {c.id for c in city.base_config.cameras}


def test_a_camera_removed_in_the_page_leaves_every_process_and_its_grabber(admin_page):
    """A camera from city.yaml removed on /admin: gone from another process's city and from
    the grab role there (its loop retired), its routes answer 404 like an unknown camera, the
    audit names it, and adding one with the same id later brings it back."""
    page = admin_page
    with grab_role_of(page) as (city, watcher, _, pool):
        assert "simpang-sudirman" in pool.specs
        assert city.config.camera_groups[0].cameras == ["simpang-sudirman"]
        answer = save_camera(page, pick="simpang-sudirman", removing=True)
        assert "Kamera simpang-sudirman dihapus" in message(answer, form.ADM_CAM_RESULT)
        assert answer[form.ADM_CAM_PICK]["value"] == form.NEW
        assert all(o["value"] != "simpang-sudirman" for o in answer[form.ADM_CAM_PICK]["options"])
        assert watcher.check() is True
        assert city.camera("simpang-sudirman") is None
        assert city.config.camera_groups == []  # its only group went with it
        assert "simpang-sudirman" not in pool.specs
        assert all(g.camera_id != "simpang-sudirman" for g in pool.grabbers)
        assert "sdn1-gerbang" in pool.specs  # the other camera kept running
        assert page.client.get("/video/simpang-sudirman.jpg").status_code == 404
        audit = accounts.read_audit(page.engine, 20)
        assert ("admin.camera.remove", "simpang-sudirman") in {
            (r["action"], r["subject"]) for r in audit
        }
        # Removing it again: it is unknown now, said plainly, nothing stored.
        again = save_camera(page, pick="simpang-sudirman", removing=True)
        assert "Tidak dihapus" in message(again, form.ADM_CAM_RESULT)
        # The same id added again replaces the removal.
        save_camera(page, camera_id="simpang-sudirman", name="Simpang Sudirman (baru)",
                    source="sample:car-detection.mp4")  # fmt: skip
        assert watcher.check() is True
        assert city.camera("simpang-sudirman").name == "Simpang Sudirman (baru)"
        assert city.config.camera_groups[0].cameras == ["simpang-sudirman"]  # city.yaml's group
        assert "simpang-sudirman" in pool.specs


def test_a_school_is_removed_only_when_nothing_is_bound_to_it(admin_page):
    """A school with a camera, then with a parent bound, is refused with the reason and the
    names; once the camera is gone and the parent disabled it is removed everywhere, from every
    school picker too."""
    page = admin_page
    city, watcher = another_process(page)
    refused = save_school(page, pick="sdn1-demo", removing=True)
    text = message(refused, form.ADM_SCH_RESULT)
    assert "Tidak dihapus" in text and "sdn1-gerbang" in text, text
    save_camera(page, pick="sdn1-gerbang", removing=True)
    page.create_user("ayah.sdn1", PARENT, schools=["sdn1-demo"])
    refused = save_school(page, pick="sdn1-demo", removing=True)
    text = message(refused, form.ADM_SCH_RESULT)
    assert "Tidak dihapus" in text and "ayah.sdn1" in text, text
    assert watcher.check() is True  # the camera's removal, not the school's
    assert any(s.id == "sdn1-demo" for s in city.config.schools)

    parent_id = accounts.user_by_name(page.engine, "ayah.sdn1")["id"]
    page.edit_user(parent_id, PARENT, name="Ayah", schools=["sdn1-demo"], active=False)
    answer = save_school(page, pick="sdn1-demo", removing=True)
    assert "Sekolah sdn1-demo dihapus" in message(answer, form.ADM_SCH_RESULT)
    for picker in (form.ADM_SCH_PICK, form.ADM_CAM_SCHOOL):
        assert all(o["value"] != "sdn1-demo" for o in answer[picker]["options"])
    assert watcher.check() is True
    assert all(s.id != "sdn1-demo" for s in city.config.schools)
    assert [(e["kind"], e["item_id"], e["body"]) for e in read_edits(page.engine, city.slug)] == [
        ("camera", "sdn1-gerbang", {"removed": True}),
        ("school", "sdn1-demo", {"removed": True}),
    ]
