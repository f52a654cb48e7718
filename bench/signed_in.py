"""A signed-in session for the benchmarks: the web role refuses anonymous requests (issue 6),
so each bench makes an operator account and a session in the database the web role uses, and
hands the load generators the cookie (and the CSRF header callbacks need) through the
environment: KOMANDO_BENCH_COOKIE, KOMANDO_BENCH_CSRF."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from data import accounts
from data.city import load_city
from data.db.engine import make_engine
from runner import prepare_database
from server.access_gate import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for


def sign_in(database_url: str, city_dir: Path, role: str = "operator") -> dict[str, str]:
    """Migrate the database, make a `role` user and a session; export it for the load
    generators (child processes) and return the cookies for this process's own requests."""
    engine = make_engine(database_url)
    prepare_database(engine, load_city(city_dir))
    name = f"bench-{secrets.token_hex(3)}"
    accounts.create_user(engine, name, secrets.token_urlsafe(16), role, name)
    user = accounts.user_by_name(engine, name)
    token = accounts.SessionStore(engine, None, "").create(user_id=user["id"], role=role)
    cookies = {SESSION_COOKIE: token, CSRF_COOKIE: csrf_token_for(token)}
    os.environ["KOMANDO_BENCH_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    os.environ["KOMANDO_BENCH_CSRF"] = csrf_token_for(token)
    engine.dispose()
    return cookies


def request_headers() -> str:
    """Raw header lines the load generators add to each request (empty when not signed in)."""
    cookie = os.environ.get("KOMANDO_BENCH_COOKIE", "")
    csrf = os.environ.get("KOMANDO_BENCH_CSRF", "")
    lines = f"Cookie: {cookie}\r\n" if cookie else ""
    return lines + (f"X-CSRFToken: {csrf}\r\n" if csrf else "")
