"""Signing in and out through the real form (real Redis, SQLite): generic errors, lockout and
rate limits, the form's CSRF check, safe redirects, sessions that end, display links."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from app import create_app
from data import accounts
from data.city import load_city
from data.db.engine import make_engine
from runner import prepare_database
from server.access_gate import SESSION_COOKIE
from settings import load_settings
from tests.accounts import PASSWORD, make_user, sign_in_with_form

BASE = "http://testserver"


@pytest.fixture
def site(redis_url, tmp_path):
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path)
    city = load_city(settings.city_dir)
    app = create_app(settings, city)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    with TestClient(app.server) as client:
        yield client, engine


def error_of(answer) -> str:
    found = re.search(r'class="login-error"[^>]*>([^<]+)<', answer.text)
    return found.group(1) if found else ""


def test_a_right_password_signs_in_and_lands_on_the_role_home(site):
    client, engine = site
    make_user(engine, "executive", "walikota")
    answer = sign_in_with_form(client, BASE, "WaliKota ", PASSWORD)  # case and spaces forgiven
    assert answer.status_code == 303
    assert answer.headers["location"] == "/kpi"
    assert client.get("/kpi", follow_redirects=False).status_code == 200
    trail = accounts.read_audit(engine, action="login")
    assert [(r["actor"], r["action"]) for r in trail] == [("walikota", "login")]


def test_unknown_user_and_wrong_password_get_the_same_answer(site):
    client, engine = site
    make_user(engine, "operator", "budi")
    wrong = sign_in_with_form(client, BASE, "budi", "bukan-sandinya-1")
    unknown = sign_in_with_form(client, BASE, "tidak-ada", "bukan-sandinya-1")
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown) == "Nama pengguna atau kata sandi salah."
    assert SESSION_COOKIE not in client.cookies
    failed = accounts.read_audit(engine, action="login.failed")
    assert {r["subject"] for r in failed} == {"budi", "tidak-ada"}
    # The audit trail keeps who tried, never what they typed as a password.
    assert all("bukan-sandinya" not in r["detail"] for r in failed)


def test_five_failures_lock_a_username_even_for_the_right_password(site):
    client, engine = site
    make_user(engine, "operator", "sari")
    for _ in range(4):
        assert sign_in_with_form(client, BASE, "sari", "salah-salah-1").status_code == 401
    locked = sign_in_with_form(client, BASE, "sari", "salah-salah-1")
    assert locked.status_code == 429
    assert "Terlalu banyak percobaan" in error_of(locked)
    right = sign_in_with_form(client, BASE, "sari", PASSWORD)
    assert right.status_code == 429, "a locked account must not open with the right password"
    # An unknown username locks the same way: the lock does not tell which names exist.
    for _ in range(5):
        last = sign_in_with_form(client, BASE, "hantu", "salah-salah-1")
    assert last.status_code == 429
    assert error_of(last) == error_of(locked)


def test_one_client_guessing_many_usernames_is_stopped(site):
    client, engine = site
    make_user(engine, "operator", "dewi")
    statuses = [
        sign_in_with_form(client, BASE, f"nama-{i}", "salah-salah-1").status_code for i in range(31)
    ]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    # That client is blocked for everyone, the right password included, until the window ends.
    assert sign_in_with_form(client, BASE, "dewi", PASSWORD).status_code == 429


def test_the_form_needs_its_csrf_token(site):
    client, engine = site
    make_user(engine, "operator", "eko")
    client.get("/login")
    forged = client.post(
        "/login",
        data={"csrf": "tebakan", "username": "eko", "password": PASSWORD},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/operator"]
)
def test_after_sign_in_only_a_local_page_the_role_may_open(site, target):
    client, engine = site
    make_user(engine, "executive", "kepala")
    page = client.get(f"/login?next={target}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login",
        data={"csrf": csrf, "username": "kepala", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/kpi"  # home: /operator is not the executive's


def test_sign_out_ends_the_session_everywhere(site):
    client, engine = site
    make_user(engine, "operator", "fajar")
    sign_in_with_form(client, BASE, "fajar", PASSWORD)
    token = client.cookies[SESSION_COOKIE]
    confirm = client.get("/logout")
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text).group(1)
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    # The old cookie, replayed, no longer opens anything.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_a_forged_sign_out_is_ignored(site):
    client, engine = site
    make_user(engine, "operator", "gita")
    sign_in_with_form(client, BASE, "gita", PASSWORD)
    client.post("/logout", data={"csrf": "palsu"}, follow_redirects=False)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_disabling_a_user_ends_their_sessions(site):
    client, engine = site
    make_user(engine, "operator", "hadi")
    sign_in_with_form(client, BASE, "hadi", PASSWORD)
    assert client.get("/", follow_redirects=False).status_code == 200
    user = accounts.user_by_name(engine, "hadi")
    accounts.update_user(engine, user["id"], active=False)
    client.app.state.sessions.revoke_user(user["id"])  # what the admin page does
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_outlives_an_sql_outage_on_its_cached_copy_but_a_revoked_one_does_not(
    redis_url, tmp_path, city, monkeypatch
):
    """Issue 7: PostgreSQL stopped under load must not sign a wall out once its cached copy is
    a minute old. The copy stands in for SQL only while SQL cannot answer."""
    import redis as redis_py
    from sqlalchemy.exc import SQLAlchemyError

    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    prepare_database(engine, city)
    client = redis_py.Redis.from_url(redis_url)
    up = accounts.SessionStore(engine, client, "komando:uji")
    # The same sessions and cache, seen by a web worker whose database does not answer.
    down = accounts.SessionStore(
        make_engine("postgresql+psycopg://uji:uji@127.0.0.1:9/komando"), client, "komando:uji"
    )
    wall, revoked, never_seen = (
        up.create(user_id=accounts.user_by_name(engine, make_user(engine, "operator"))["id"])
        for _ in range(3)
    )
    assert up.principal(wall) and up.principal(revoked)  # both cached now
    up.revoke(revoked)
    monkeypatch.setattr(accounts, "CACHE_S", 0)  # every copy is a minute old from here on
    assert down.principal(wall).role == "operator"  # SQL unreachable: the copy stands in
    with pytest.raises(SQLAlchemyError):
        down.principal(revoked)  # its copy went with the revocation: it cannot be confirmed
    with pytest.raises(SQLAlchemyError):
        down.principal(never_seen)
    # While SQL answers, SQL decides: a revocation no cache heard of still ends the session.
    accounts.SessionStore(engine, None, "").revoke(wall)
    assert up.principal(wall) is None
    # And the copy stands in for STALE_S only.
    monkeypatch.setattr(accounts, "STALE_S", 1)
    fresh = up.create(user_id=accounts.user_by_name(engine, make_user(engine, "operator"))["id"])
    assert up.principal(fresh) and down.principal(fresh)
    time.sleep(1.2)
    with pytest.raises(SQLAlchemyError):
        down.principal(fresh)
    client.close()


def test_a_display_link_signs_a_screen_in_to_its_view_only(site):
    client, engine = site
    token = accounts.create_display_token(engine, "Layar lobi", "/?putar=/,/alerts&detik=30")
    answer = client.get(f"/d/{token}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/?putar=/,/alerts&detik=30"
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/alerts", follow_redirects=False).status_code == 200
    assert client.get("/cctv", follow_redirects=False).status_code == 403
    assert client.get("/kpi", follow_redirects=False).status_code == 403
    # Revoked: the link and the screen's session both stop.
    display = accounts.verify_display_token(engine, token)
    accounts.revoke_display_token(engine, client.app.state.sessions, display["id"])
    assert client.get("/", follow_redirects=False).status_code == 303  # to /login
    assert client.get(f"/d/{token}", follow_redirects=False).status_code == 404
    assert client.get(f"/d/{token[:-3]}xyz", follow_redirects=False).status_code == 404


def test_passwords_are_stored_as_argon2id_hashes(site):
    _client, engine = site
    make_user(engine, "admin", "root-admin")
    user = accounts.user_by_name(engine, "root-admin")
    assert user["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in user["password_hash"]
    with pytest.raises(accounts.AccountError):
        accounts.create_user(engine, "pendek", "12345", "operator")


def test_what_a_visitor_typed_comes_back_escaped(site):
    client, _engine = site
    typed = '<script>alert("x")</script>'
    answer = sign_in_with_form(client, BASE, typed, "salah-salah-1")
    assert typed not in answer.text
    assert "&lt;script&gt;" in answer.text
    page = client.get('/login?next="><script>alert(1)</script>')
    assert "<script>alert(1)</script>" not in page.text
