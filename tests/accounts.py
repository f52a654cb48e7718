"""Test helpers for accounts: make a user (or a display) and a signed-in session for it,
straight in the database a test's app uses, and the cookies and header a client then sends."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from data import accounts
from data.access import PARENT
from server.access_gate import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for

PASSWORD = "kata-sandi-uji-123"


@dataclass(frozen=True)
class Session:
    token: str
    username: str = ""

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.token, CSRF_COOKIE: csrf_token_for(self.token)}

    @property
    def csrf_headers(self) -> dict[str, str]:
        return {"X-CSRFToken": csrf_token_for(self.token)}


def make_user(engine: Engine, role: str = "admin", username: str = "", **binding: list[str]) -> str:
    username = username or f"{role}-{secrets.token_hex(3)}"
    if role == PARENT and "schools" not in binding:
        binding["schools"] = ["sdn1-demo"]
    if role == "opd" and "opds" not in binding:
        binding["opds"] = ["dlh"]
    accounts.create_user(engine, username, PASSWORD, role, username.title(), **binding)
    return username


def session_for(engine: Engine, role: str = "admin", username: str = "", **binding) -> Session:
    """A user of `role` and a session of theirs (no sign-in form, no throttling)."""
    username = make_user(engine, role, username, **binding)
    user = accounts.user_by_name(engine, username)
    assert user is not None
    store = accounts.SessionStore(engine, None, "")
    return Session(store.create(user_id=user["id"], role=role), username)


def display_session(engine: Engine, view: str = "/") -> Session:
    token = accounts.create_display_token(engine, "Layar uji", view)
    display = accounts.verify_display_token(engine, token)
    assert display is not None
    store = accounts.SessionStore(engine, None, "")
    return Session(store.create(display_id=display["id"], role="display"))


def sign_in_with_form(client: httpx.Client, base: str, username: str, password: str = PASSWORD):
    """Sign in through the real form (GET for its CSRF field, then POST); returns the answer."""
    page = client.get(f"{base}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    return client.post(
        f"{base}/login",
        data={"csrf": csrf.group(1), "username": username, "password": password, "next": ""},
        follow_redirects=False,
    )


def signed_in_client(client: httpx.Client, settings, role: str = "admin", **binding) -> Session:
    """Make `client` (a TestClient of create_app(settings)) a signed-in `role`: the app's
    database is migrated, a user and session are made, and the client sends their cookies and
    the CSRF header on every request."""
    from data.city import load_city
    from data.db.engine import make_engine
    from runner import prepare_database

    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, load_city(settings.city_dir))
    session = session_for(engine, role, **binding)
    client.cookies.update(session.cookies)
    client.headers.update(session.csrf_headers)
    return session
