"""The sign-in form (server/login_routes.py) against the real app (real Redis, SQLite): random
usernames, passwords, CSRF fields and `next` values, unicode and huge fields, bodies that are
not forms at all.

Properties: never a 5xx; a refusal is a 4xx with one of the generic messages (the same for
names that do not exist); what was typed comes back escaped; after a real sign-in, and for a
signed-in visitor, `next` never leads off the site, however it is spelled."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import example, given, note
from hypothesis import strategies as st
from sqlalchemy import update

from app import create_app
from data.accounts import LOCKED, WRONG, users
from data.city import load_city
from data.db.engine import make_engine
from runner import prepare_database
from server.login_routes import PRELOGIN_COOKIE
from settings import load_settings
from tests.accounts import PASSWORD, make_user, session_for
from tests.fuzz.strategies import any_text, storable

BASE = "http://testserver"
EXPIRED = "Formulir kedaluwarsa. Silakan coba lagi."
GENERIC = (WRONG, LOCKED.split("{")[0], EXPIRED)


@pytest.fixture(scope="module")
def site(redis_server, tmp_path_factory):
    settings = load_settings(redis_url=redis_server.url, data_dir=tmp_path_factory.mktemp("login"))
    city = load_city(settings.city_dir)
    app = create_app(settings, city)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    make_user(engine, "operator", "penjaga")
    store = redis.Redis.from_url(redis_server.url)

    def unthrottle() -> None:
        """Forget failed sign-ins (Redis counters and the account's lock in SQL), so that each
        example starts afresh: 30 failures from one address block it for the window."""
        keys = store.keys(f"{settings.redis_namespace}:login:*")
        if keys:
            store.delete(*keys)
        with engine.begin() as conn:
            conn.execute(update(users).values(failed_logins=0, locked_until_ms=None))

    with TestClient(app.server, base_url=BASE) as client:
        yield client, unthrottle, engine
    store.close()
    engine.dispose()


def form_csrf(client: TestClient) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def error_of(answer) -> str:
    found = re.search(r'class="login-error"[^>]*>([^<]+)<', answer.text)
    return found.group(1) if found else ""


def stays_on_site(location: str) -> bool:
    """Where a browser would go: it drops tabs and line breaks, trims control characters and
    spaces, and reads a backslash as a slash (WHATWG URL), then resolves against the page."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33))))
    target = urlsplit(urljoin(f"{BASE}/login", cleaned.replace("\\", "/")))
    return target.scheme == "http" and target.netloc == "testserver"


nexts = st.one_of(
    any_text,
    st.sampled_from(
        [
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "/\t/evil.example",
            "/\r\n/evil.example",
            " //evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/..//evil.example",
            "javascript:alert(1)",
            "/kpi?x=1",
            "/cctv",
            "/admin",
            "http:evil.example",
            "/\x00/evil.example",
            "／／evil.example",
        ]
    ),
    st.text(alphabet="/\\.:%@\t\r\n evilexampl", max_size=20),
).filter(storable)  # a client cannot send a lone surrogate; bytes are fuzzed further down
fields = (any_text | st.text(max_size=3000)).filter(storable) | st.sampled_from(
    ["", "penjaga", "<b>x</b>", "' OR 1=1 --"]
)


@given(
    username=fields,
    password=fields,
    csrf=st.sampled_from(["right", "missing", "wrong"]),
    next_path=nexts,
)
@example(username="penjaga", password="x" * 9000, csrf="right", next_path="/")  # over 8 KiB
@example(username="PENJAGA ", password="bukan-sandinya", csrf="right", next_path="//evil.example")
def test_a_wrong_form_gets_a_generic_4xx(site, username, password, csrf, next_path):
    client, unthrottle, _engine = site
    unthrottle()
    client.cookies.clear()
    form = {"username": username, "password": password, "next": next_path}
    if csrf != "missing":
        form["csrf"] = form_csrf(client) if csrf == "right" else "x" * 32
    answer = client.post("/login", data=form, follow_redirects=False)
    note(f"{answer.status_code} {answer.text[:300]!r}")
    if answer.status_code == 303:  # only the right name and password, with the form's token
        assert csrf == "right" and password == PASSWORD
        assert stays_on_site(answer.headers["location"]), answer.headers["location"]
        return
    assert answer.status_code in (401, 403, 429), answer.status_code
    assert error_of(answer).startswith(GENERIC), error_of(answer)
    if "<" in username:
        assert username[:64] not in answer.text  # shown back escaped, never as markup


@given(next_path=nexts)
@example(next_path="/\t/evil.example")
def test_after_signing_in_next_never_leaves_the_site(site, next_path):
    client, unthrottle, _engine = site
    unthrottle()
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={"csrf": form_csrf(client), "username": "penjaga", "password": PASSWORD,
              "next": next_path},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, (answer.status_code, error_of(answer))
    assert stays_on_site(answer.headers["location"]), answer.headers["location"]
    # Signed in, /login?next=… redirects at once: the same rule.
    again = client.get("/login", params={"next": next_path}, follow_redirects=False)
    assert again.status_code == 303
    assert stays_on_site(again.headers["location"]), again.headers["location"]


@given(
    body=st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/json",
            "text/plain; charset=utf-16",
            "",
        ]
    ),
    prelogin=st.none() | any_text.filter(lambda s: s.isascii() and s.isprintable()),
)
@example(
    body=b"csrf=%FF%FE&username=%00&password=%",
    content_type="application/x-www-form-urlencoded",
    prelogin="x",
)
def test_a_body_that_is_not_the_form_is_refused_not_an_error(site, body, content_type, prelogin):
    client, unthrottle, _engine = site
    unthrottle()
    client.cookies.clear()
    if prelogin:
        client.cookies.set(PRELOGIN_COOKIE, prelogin, path="/login")
    headers = {"content-type": content_type} if content_type else {}
    answer = client.post("/login", content=body, headers=headers, follow_redirects=False)
    assert answer.status_code in (401, 403, 429), answer.status_code
    assert error_of(answer).startswith(GENERIC)


@given(next_path=nexts)
def test_the_form_page_echoes_next_escaped(site, next_path):
    client, unthrottle, _engine = site
    unthrottle()
    client.cookies.clear()
    answer = client.get("/login", params={"next": next_path})
    assert answer.status_code == 200
    value = re.search(r'name="next" value="([^"]*)"', answer.text)
    assert value is not None, "the next field broke out of its attribute"


@pytest.mark.parametrize("path", ["/login", "/logout", "/_dash-update-component"])
def test_a_non_ascii_token_is_refused_not_an_error(site, path):
    """Regression (issue 7): hmac.compare_digest raised TypeError on a CSRF value with a
    non-ASCII character, in the sign-in and sign-out forms and the gate's callback check: a 500."""
    client, unthrottle, engine = site
    unthrottle()
    client.cookies.clear()
    if path == "/login":
        client.cookies.set(PRELOGIN_COOKIE, "x" * 32, path="/login")
        answer = client.post(path, data={"csrf": "é" * 32, "username": "x", "password": "y"})
        assert answer.status_code == 403 and error_of(answer) == EXPIRED
        return
    session = session_for(engine, "operator")
    client.cookies.update(session.cookies)
    if path == "/logout":
        answer = client.post(path, data={"csrf": "é"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
        return
    answer = client.post(path, json={"output": "x"}, headers={"X-CSRFToken": "é".encode("latin-1")})
    assert answer.status_code == 403
