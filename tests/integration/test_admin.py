"""The admin page (`/admin`, issue 6) in-process against real Redis and SQLite: its callbacks
called through the gate as the browser calls them (session cookie and CSRF header), the audit
CSV route, and what never appears in any answer (hashes, tokens and keys after the one answer
that made them, camera sources)."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from data import accounts, api_keys, user_admin
from data.access import PARENT, Principal
from data.models import CameraHealth
from layouts import admin as ui
from layouts.admin_tables import ADM_DISPLAY_REVOKE, ADM_KEY_REVOKE
from tests.accounts import PASSWORD, Session, session_for
from tests.admin_page import CALLBACK, AdminPage, client_for

# A camera source a city might really configure, and what its grabber might report.
SECRET_SOURCE = "rtsp://admin:rahasia123@10.1.2.3:554/Streaming/Channels/101"


def secrets_in(answer: str) -> list[str]:
    """The secrets an answer shows: the text of each element whose id ends in -secret."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and str(props.get("id", "")).endswith("-secret"):
                found.append(props["children"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(answer))
    return found


def user_id(engine, username: str) -> int:
    user = accounts.user_by_name(engine, username)
    assert user is not None
    return user["id"]


def a_callback_as(page: AdminPage, client: TestClient):
    """Any signed-in page's callback (the router), as a session's owner would send it."""
    return page.call(
        "page-content.children",
        [("url", "pathname", "/"), ("url", "search", "")],
        [("lang", "data", None)],
        client=client,
    )


def test_admin_creates_a_parent_bound_to_a_school(admin_page):
    page = admin_page
    answer = page.create_user(
        "ibu.sari", PARENT, schools=["sdn1-demo"], name="Ibu Sari", opds=["dlh"]
    )
    assert "Pengguna ibu.sari (Orang tua) dibuat." in answer
    assert PASSWORD not in answer
    users = {u["username"]: u for u in accounts.list_users(page.engine)}
    assert users["ibu.sari"]["schools"] == ["sdn1-demo"]
    assert users["ibu.sari"]["opds"] == ""  # a parent keeps no OPD, whatever the form held
    # The school's panel lists its parent; the audit names the admin who did it.
    listed = page.ok(ui.ADM_USERS, [(ui.ADM_VERSION, "data", 1)], [("lang", "data", "id")])
    assert "ibu.sari" in json.dumps(listed[ui.ADM_SCHOOLS])
    entry = accounts.read_audit(page.engine, 1, "user.create")[0]
    assert entry["actor"] == page.session.username
    assert entry["subject"] == "ibu.sari" and PASSWORD not in entry["detail"]
    # Mistakes are said, and nothing is made.
    assert "kedua kata sandi tidak sama" in page.create_user(
        "pak.budi", "operator", again="lain-sekali-123"
    )
    assert "perlu minimal satu sekolah" in page.create_user("pak.budi", PARENT)
    assert "tidak dikenal" in page.create_user("pak.budi", PARENT, schools=["sekolah-lain"])
    assert "sudah dipakai" in page.create_user("ibu.sari", "operator")
    assert accounts.user_by_name(page.engine, "pak.budi") is None


def test_a_generated_password_is_shown_once_and_works(admin_page):
    page = admin_page
    answer = page.create_user("petugas.dlh", "opd", random=True, opds=["dlh"])
    [password] = secrets_in(answer)
    user = accounts.user_by_name(page.engine, "petugas.dlh")
    assert accounts.HASHER.verify(user["password_hash"], password)
    assert user["opds"] == "dlh"
    # Nowhere else: not in the lists, the audit trail or its CSV.
    assert password not in page.lists()
    assert password not in page.client.get("/admin/audit.csv").text
    assert password not in json.dumps(accounts.read_audit(page.engine))


def test_a_password_reset_ends_the_users_sessions_at_once(admin_page):
    page = admin_page
    operator = session_for(page.engine, "operator")
    theirs = client_for(page, operator)
    assert a_callback_as(page, theirs).status_code == 200  # signed in, and cached in Redis
    answer = page.reset_password(user_id(page.engine, operator.username), "kata-sandi-baru-42")
    assert "diganti" in answer and "1 sesi diakhiri" in answer
    assert "kata-sandi-baru-42" not in answer
    assert a_callback_as(page, theirs).status_code == 401
    assert theirs.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert accounts.read_audit(page.engine, 1, "user.password")[0]["subject"] == operator.username


def test_an_admin_changing_their_own_password_stays_signed_in_here_only(admin_page):
    page = admin_page
    me = user_id(page.engine, page.session.username)
    elsewhere = accounts.SessionStore(page.engine, None, "").create(user_id=me, role="admin")
    other_device = client_for(page, Session(elsewhere, page.session.username))
    assert a_callback_as(page, other_device).status_code == 200
    assert "1 sesi diakhiri" in page.reset_password(me, "kata-sandi-admin-baru-7")
    assert a_callback_as(page, other_device).status_code == 401
    assert a_callback_as(page, page.client).status_code == 200


def test_role_bindings_and_disabling_take_effect_at_once(admin_page):
    page = admin_page
    parent = session_for(page.engine, PARENT, schools=["sdn1-demo"])
    theirs = client_for(page, parent)
    assert theirs.get("/parent", follow_redirects=False).status_code == 200
    parent_id = user_id(page.engine, parent.username)
    answer = page.edit_user(parent_id, "executive", name="Kepala Dinas")
    assert "peran" in answer and "sekolah" in answer and "1 sesi diakhiri" in answer
    user = next(u for u in accounts.list_users(page.engine) if u["id"] == parent_id)
    assert (user["role"], user["schools"], user["display_name"]) == (
        "executive",
        [],
        "Kepala Dinas",
    )
    assert a_callback_as(page, theirs).status_code == 401
    # Disabled: refused at sign-in too; enabling brings the account back.
    assert "status" in page.edit_user(parent_id, "executive", "Kepala Dinas", active=False)
    assert not accounts.user_by_name(page.engine, parent.username)["active"]
    assert accounts.read_audit(page.engine, 1, "user.disable")[0]["subject"] == parent.username
    page.edit_user(parent_id, "executive", "Kepala Dinas", active=True)
    assert accounts.read_audit(page.engine, 1, "user.enable")[0]["subject"] == parent.username
    assert "Tidak ada yang berubah" in page.edit_user(parent_id, "executive", "Kepala Dinas")


def test_an_admin_cannot_lock_the_city_out(admin_page, city):
    page = admin_page
    me = user_id(page.engine, page.session.username)
    assert "akun Anda sendiri" in page.edit_user(me, "operator", "Admin")
    assert "akun Anda sendiri" in page.edit_user(me, "admin", "Admin", active=False)
    assert accounts.user_by_name(page.engine, page.session.username)["role"] == "admin"
    # Another admin may be demoted while one remains ...
    other = session_for(page.engine, "admin")
    other_id = user_id(page.engine, other.username)
    assert "disimpan" in page.edit_user(other_id, "operator", "Dua")
    # ... and the last one may not be, even by an admin whose page was opened before their
    # own account lost the role.
    stale = Principal(kind="user", id=other_id, name=other.username, role="admin")
    sessions = accounts.SessionStore(page.engine, None, "")
    with pytest.raises(accounts.AccountError, match="admin aktif terakhir"):
        user_admin.edit_user(
            page.engine, sessions, stale, city, me, display_name="Admin", role="operator",
            opds=None, schools=None, active=True,
        )  # fmt: skip
    # And no one but an admin gets anything done, whoever calls these functions.
    with pytest.raises(accounts.AccountError, match="hanya admin"):
        user_admin.create_display(page.engine, Principal("user", me, "x", "operator"), "L", "/")


def test_display_link_works_once_made_and_stops_when_revoked(admin_page):
    page = admin_page
    answer = page.create_display("Layar utama", "/cctv")
    link = re.search(r"http://testserver/d/([0-9a-f]{8}\.[A-Za-z0-9_-]+)", answer)
    assert link, answer
    token = link.group(1)
    screen = TestClient(page.app.server)
    paired = screen.get(f"/d/{token}", follow_redirects=False)
    assert paired.status_code == 303 and paired.headers["location"] == "/cctv"
    assert screen.get("/cctv", follow_redirects=False).status_code == 200
    # Listed by its prefix only, never the token.
    lists = page.lists()
    prefix = token.split(".")[0]
    assert prefix in lists and token not in lists and token.split(".")[1] not in lists
    display_id = accounts.list_display_tokens(page.engine)[0]["id"]
    revoked = page.revoke(ADM_DISPLAY_REVOKE, "id", display_id, ui.ADM_DISPLAY_RESULT)
    assert "dicabut" in json.dumps(revoked)
    assert screen.get("/cctv", follow_redirects=False).status_code == 303  # to /login
    assert TestClient(page.app.server).get(f"/d/{token}").status_code == 404
    actions = [r["action"] for r in accounts.read_audit(page.engine, 10, "display.")]
    assert actions[:3] == ["display.revoke", "display.paired", "display.create"]
    # A view that leaves the site is refused (the link redirects to it).
    assert "alamat halaman" in page.create_display("Jahat", "//evil.example/")


def test_api_keys_are_shown_once_listed_by_prefix_and_revocable(admin_page):
    page = admin_page
    answer = page.create_key("Gateway DLH", "opd", ["dlh"])
    key = re.search(r"kmd_[0-9a-f]{8}_[A-Za-z0-9_-]+", answer).group(0)
    scope = api_keys.verify_key(page.engine, key)
    assert scope is not None and scope.kind == "opd" and scope.ids == {"dlh"}
    prefix = scope.prefix
    listed = json.dumps(
        page.ok(ui.ADM_DISPLAYS, [(ui.ADM_VERSION, "data", 1)], [("lang", "data", "id")])
    )
    assert f"kmd_{prefix}_" in listed and key not in listed and "sha256$" not in listed
    page.revoke(ADM_KEY_REVOKE, "prefix", prefix, ui.ADM_KEY_RESULT)
    assert api_keys.verify_key(page.engine, key) is None
    assert "pilih minimal satu" in page.create_key("Tanpa cakupan", "sensors", [])
    actions = [r["action"] for r in accounts.read_audit(page.engine, 5, "apikey.")]
    assert actions == ["apikey.revoke", "apikey.create"]


def test_audit_csv_has_the_actions_and_neutralises_formulas(admin_page):
    page = admin_page
    page.create_user("ibu.sari", PARENT, schools=["sdn1-demo"])
    page.create_display("Layar", "/")
    accounts.audit(page.engine, "=cmd|' /C calc'!A0", "login.failed", "+SUM(1,2)", typed="@x")
    response = page.client.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert "user.create" in text and "display.create" in text
    assert "'=cmd|" in text and "'+SUM(1,2)" in text
    cells = [c.strip('"') for line in text.splitlines()[1:] for c in line.split(";")]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    # Filtered as on the page; and the export is itself on the record.
    only = page.client.get("/admin/audit.csv?tindakan=display.&batas=50").text
    assert "display.create" in only and "user.create" not in only
    assert accounts.read_audit(page.engine, 1)[0]["action"] == "audit.export"
    shown = json.dumps(page.audit(action="user."))
    assert "user.create" in shown and "display.create" not in shown
    assert page.ok(
        ui.ADM_AUDIT,
        [(ui.ADM_VERSION, "data", 1), (ui.ADM_AUDIT_SHOW, "n_clicks", 1),
         (ui.ADM_AUDIT_ACTION, "n_submit", None), (ui.ADM_AUDIT_ACTOR, "n_submit", None)],
        [(ui.ADM_AUDIT_ACTION, "value", "login"), (ui.ADM_AUDIT_ACTOR, "value", ""),
         (ui.ADM_AUDIT_LIMIT, "value", 50), ("lang", "data", "id")],
    )[ui.ADM_AUDIT_CSV]["href"] == "/admin/audit.csv?tindakan=login&batas=50"  # fmt: skip


def test_other_roles_get_403_from_the_gate(admin_page):
    page = admin_page
    operator = client_for(page, session_for(page.engine, "operator"))
    for output in page.app.callback_map:
        if "adm-" not in output:
            continue
        response = operator.post(
            CALLBACK, json={"output": output, "outputs": [], "inputs": [], "changedPropIds": []}
        )
        assert response.status_code == 403, output
    assert operator.get("/admin/audit.csv").status_code == 403
    assert operator.get("/admin", follow_redirects=False).status_code == 403
    assert accounts.user_by_name(page.engine, "ibu.sari") is None


def test_no_hash_no_secret_and_no_camera_source_in_any_answer(admin_page, city):
    page = admin_page
    now = time.time()
    page.store.set_camera_health(
        "simpang-sudirman",
        CameraHealth(
            state="offline",
            updated_ts=now,
            error=f"cannot open {SECRET_SOURCE} (env:KOMANDO_CAM_SUDIRMAN, "
            "secret:cam-sudirman, sample:car-detection.mp4)",
        ),
    )
    cameras = json.dumps(
        page.ok(ui.ADM_CAMERAS, [(ui.ADM_CAMERAS_RELOAD, "n_clicks", 0)], [("lang", "data", "id")])
    )
    assert "OFFLINE" in cameras and "Simpang Jl. Jend. Sudirman" in cameras
    page.create_user("ibu.sari", PARENT, schools=["sdn1-demo"])
    created = page.create_user("acak.satu", "operator", random=True)
    page.create_display("Layar", "/")
    page.create_key("Semua", "all", [])
    page.reset_password(user_id(page.engine, "ibu.sari"), random=True)
    page.lists()
    everything = "\n".join(page.answers)
    for never in ("$argon2", "sha256$", "rahasia123", "10.1.2.3", "KOMANDO_CAM", "cam-sudirman"):
        assert never not in everything, never
    for camera in city.config.cameras:
        assert camera.source not in everything
        assert camera.source.partition(":")[2] not in everything
    # Each secret appears in exactly the one answer that made it.
    shown = [s for answer in page.answers for s in secrets_in(answer)]
    assert len(shown) == 4, shown  # two passwords, a display link, a key
    for secret in shown:
        assert sum(secret in answer for answer in page.answers) == 1, secret
    assert secrets_in(created)
