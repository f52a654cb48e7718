"""Who gets what (issue 6): every route of the app, Dash callbacks included, walked as an
anonymous visitor and as each role, against the real app (real Redis, SQLite). The tables
below are the access model; README "Akses" is the same table in words."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from app import create_app
from data.city import load_city
from data.db.engine import make_engine
from data.live_store import LiveStore, connect
from data.models import CameraHealth
from runner import prepare_database
from server.access_gate import CSRF_COOKIE, SESSION_COOKIE
from settings import load_settings
from tests.accounts import PASSWORD, display_session, session_for, sign_in_with_form
from tests.dash_requests import router_body

ROLES = ("anon", "admin", "operator", "executive", "opd", "parent", "display")
OK, SIGN_IN, HOME, FORBIDDEN, UNAUTHORISED, NOT_FOUND = 200, 303, "home", 403, 401, 404

# path: the answer for (anon, admin, operator, executive, opd, parent, display bound to "/")
PAGES = {
    "/": (SIGN_IN, OK, OK, OK, HOME, HOME, OK),
    "/cctv": (SIGN_IN, OK, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/alerts": (SIGN_IN, OK, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/kpi": (SIGN_IN, OK, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/kpi/export.csv": (SIGN_IN, OK, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/kpi/laporan": (SIGN_IN, OK, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/operator": (SIGN_IN, OK, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
    "/admin/data": (SIGN_IN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/admin": (SIGN_IN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/parent": (SIGN_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    "/_dash-layout": (UNAUTHORISED, OK, OK, OK, OK, OK, OK),
    "/_dash-dependencies": (UNAUTHORISED, OK, OK, OK, OK, OK, OK),
    "/video/simpang-sudirman.jpg": (UNAUTHORISED, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    "/video/simpang-sudirman/thumb.jpg": (UNAUTHORISED, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    "/video/sdn1-gerbang.jpg": (UNAUTHORISED, OK, OK, OK, NOT_FOUND, OK, NOT_FOUND),
    "/video/sdn1-gerbang/thumb.jpg": (UNAUTHORISED, OK, OK, OK, NOT_FOUND, OK, NOT_FOUND),
    "/video/no-such-camera.jpg": (
        UNAUTHORISED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND,
    ),
    "/login": (OK, HOME, HOME, HOME, HOME, HOME, HOME),
    # The push API's description: public, like the API's paths (devices have no account).
    "/api/v1/openapi.json": (OK, OK, OK, OK, OK, OK, OK),
}  # fmt: skip

# Dash callbacks, named by a component their output writes: who may call them.
EVERYONE = set(ROLES) - {"anon"}
WALL = {"admin", "operator", "executive", "display"}
CALLBACKS = {
    "page-content": EVERYONE,  # the router (it refuses pages itself, see PAGES)
    "live-feed": WALL,
    "map-villages": WALL,
    "map-alerts": WALL,
    "cctv-layout": WALL,
    "cctv-grid-holder": WALL,
    "alert-list": WALL,
    "alert-feedback": {"admin", "operator"},  # acknowledge, assign, resolve
    "incident-feedback": {"admin", "operator"},
    "review-body": {"admin", "operator", "executive"},
    "op-form": {"admin", "opd"},
    "op-result": {"admin", "opd"},
    "op-upload-result": {"admin", "opd"},
    "in-counters": {"admin", "operator"},
    "in-letters": {"admin", "operator"},
}


@pytest.fixture(scope="module")
def world(redis_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access")
    settings = load_settings(redis_url=redis_server.url, data_dir=tmp)
    city = load_city(settings.city_dir)
    app = create_app(settings, city)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    store = LiveStore(connect(redis_server.url), settings.redis_namespace)
    now = time.time()
    for camera in ("sdn1-gerbang", "simpang-sudirman"):
        health = CameraHealth(state="live", seq=1, frame_ts=now, updated_ts=now)
        store.publish_frame(camera, b"\xff\xd8frame", health)
        store.publish_thumbnail(camera, b"\xff\xd8thumb")
    sessions = {
        "anon": None,
        "display": display_session(engine, "/"),
        **{
            role: session_for(engine, role)
            for role in ("admin", "operator", "executive", "opd", "parent")
        },
    }
    with TestClient(app.server) as client:
        yield app, client, sessions


def as_role(client: TestClient, sessions, role: str) -> TestClient:
    client.cookies.clear()
    client.headers.pop("X-CSRFToken", None)
    session = sessions[role]
    if session is not None:
        client.cookies.update(session.cookies)
        client.headers.update(session.csrf_headers)
    return client


HOMES = {
    "admin": "/",
    "operator": "/",
    "executive": "/kpi",
    "opd": "/operator",
    "parent": "/parent",
    "display": "/",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_and_route_answers_each_role_as_the_model_says(world, path):
    _app, client, sessions = world
    for role, expected in zip(ROLES, PAGES[path], strict=True):
        answer = as_role(client, sessions, role).get(path, follow_redirects=False)
        if expected == HOME:
            assert answer.status_code == 303, (role, path, answer.status_code)
            assert answer.headers["location"] == HOMES[role], (role, path)
        elif expected == SIGN_IN:
            assert answer.status_code == 303, (role, path, answer.status_code)
            assert answer.headers["location"].startswith("/login?next="), (role, path)
        else:
            assert answer.status_code == expected, (role, path, answer.status_code)
        if answer.status_code in (401, 403, 404) and path.startswith("/video/"):
            assert b"frame" not in answer.content and b"thumb" not in answer.content


def callback_body(output: str, spec: dict) -> dict:
    """A request for callback `output`, with empty inputs: enough for the gate, which decides
    before Dash looks at the values."""
    return {
        "output": output,
        "outputs": [],
        "inputs": [{**i, "value": None} for i in spec["inputs"]],
        "state": [{**s, "value": None} for s in spec["state"]],
        "changedPropIds": [],
    }


def test_every_dash_callback_is_guarded_and_answers_each_role_as_the_model_says(world):
    app, client, sessions = world
    policy = app.server.state.callback_policy
    assert policy.unguarded(app) == []
    server_side = {o: s for o, s in app.callback_map.items() if s.get("callback") is not None}
    checked = set()
    for name, allowed in CALLBACKS.items():
        outputs = [o for o in server_side if f"{name}." in o.split("@")[0]]
        assert outputs, f"no callback writes {name}"
        for output in outputs:
            checked.add(output)
            for role in ROLES:
                answer = as_role(client, sessions, role).post(
                    "/_dash-update-component", json=callback_body(output, server_side[output])
                )
                if role == "anon":
                    assert answer.status_code == 401, output
                elif role in allowed:
                    assert answer.status_code not in (401, 403), (role, output)
                else:
                    assert answer.status_code == 403, (role, output, answer.status_code)
    # Callbacks the table does not name still follow the policy: no one outside its roles.
    for output, spec in server_side.items():
        if output in checked:
            continue
        roles = policy.roles_of(output)
        assert roles, output
        for role in set(ROLES) - {"anon"} - set(roles):
            answer = as_role(client, sessions, role).post(
                "/_dash-update-component", json=callback_body(output, spec)
            )
            assert answer.status_code == 403, (role, output)


def test_a_callback_without_the_csrf_token_is_refused(world):
    _app, client, sessions = world
    body = router_body("/")
    client = as_role(client, sessions, "operator")
    assert client.post("/_dash-update-component", json=body).status_code == 200
    token = client.headers.pop("X-CSRFToken")
    assert client.post("/_dash-update-component", json=body).status_code == 403
    wrong = {"X-CSRFToken": token[:-2] + ("00" if not token.endswith("00") else "11")}
    assert client.post("/_dash-update-component", json=body, headers=wrong).status_code == 403
    # Another session's token does not fit this session.
    other = sessions["admin"].csrf_headers
    assert client.post("/_dash-update-component", json=body, headers=other).status_code == 403


def test_the_router_refuses_a_page_the_role_may_not_open(world):
    """Moving inside the app (no page load) is checked as well: the page's layout, which can
    name cameras and OPDs, never reaches a role that may not open it."""
    _app, client, sessions = world
    body = router_body("/cctv")
    answer = as_role(client, sessions, "parent").post("/_dash-update-component", json=body)
    assert answer.status_code == 200
    assert "Tidak diizinkan" in answer.text
    assert "cctv-grid-holder" not in answer.text
    answer = as_role(client, sessions, "operator").post("/_dash-update-component", json=body)
    assert "cctv-grid-holder" in answer.text


def test_a_display_sees_its_wall_without_school_cameras(world):
    _app, client, sessions = world
    body = router_body("/")
    answer = as_role(client, sessions, "display").post("/_dash-update-component", json=body)
    assert answer.status_code == 200
    assert "simpang-sudirman" in answer.text
    assert "sdn1-gerbang" not in answer.text


def test_every_page_carries_the_security_headers_and_every_answer_nosniff(world):
    _app, client, sessions = world
    for role, path in (
        ("operator", "/video/simpang-sudirman.jpg"),
        ("parent", "/video/simpang-sudirman.jpg"),
        ("operator", "/_dash-layout"),
        ("operator", "/assets/komando.css"),
        ("anon", "/"),
    ):
        answer = as_role(client, sessions, role).get(path, follow_redirects=False)
        assert answer.headers.get("x-content-type-options") == "nosniff", (role, path)
    for role, path in (
        ("anon", "/login"),
        ("operator", "/"),
        ("operator", "/kpi/laporan"),
        ("parent", "/"),
        ("parent", "/cctv"),  # the refusal page
        ("display", "/"),
    ):
        answer = as_role(client, sessions, role).get(path)
        assert answer.headers["content-type"].startswith("text/html"), (role, path)
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, (role, path)
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert answer.headers.get("x-frame-options") == "DENY", (role, path)
        assert answer.headers.get("x-content-type-options") == "nosniff", (role, path)


def test_websockets_are_refused(world):
    _app, client, sessions = world
    from starlette.websockets import WebSocketDisconnect

    client = as_role(client, sessions, "admin")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/_dash-ws-callback") as ws:
        ws.receive_text()


def test_the_device_api_ignores_session_cookies(world):
    """API routes take API keys only: a signed-in browser (or a page that tricks it into a
    request) cannot post readings with its cookies."""
    _app, client, sessions = world
    answer = as_role(client, sessions, "admin").post(
        "/api/v1/readings", json=[{"sensor_id": "aq-cambai", "value": 1}]
    )
    assert answer.status_code == 401


def test_session_cookie_flags(redis_server, tmp_path):
    settings = load_settings(redis_url=redis_server.url, data_dir=tmp_path, cookie_secure="always")
    city = load_city(settings.city_dir)
    app = create_app(settings, city)
    engine = make_engine(settings.effective_database_url)
    prepare_database(engine, city)
    session_for(engine, "admin", username="kukis")

    with TestClient(app.server, base_url="https://komando.test") as secure_client:
        answer = sign_in_with_form(secure_client, "https://komando.test", "kukis", PASSWORD)
        assert answer.status_code == 303
        cookies = answer.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
        csrf = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
        assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
        assert "HttpOnly" not in csrf and "Secure" in csrf and "SameSite=strict" in csrf


def test_a_display_asking_the_cctv_grid_for_school_cameras_gets_none(world):
    """The callback payload is checked too: a /cctv display that names the school group (or
    any group) gets only the cameras it may watch."""
    app, client, _sessions = world
    screen = display_session(app.server.state.sessions.engine, "/cctv")
    client.cookies.clear()
    client.cookies.update(screen.cookies)
    client.headers.update(screen.csrf_headers)
    outputs = [
        {"id": "cctv-grid-holder", "property": "children"},
        {"id": "cctv-page", "property": "data"},
        {"id": "cctv-page-label", "property": "children"},
    ]
    for group in ("sekolah", "semua", "sekolah-sdn1-demo"):
        body = {
            "output": "..cctv-grid-holder.children...cctv-page.data...cctv-page-label.children..",
            "outputs": outputs,
            "inputs": [
                {"id": "cctv-layout", "property": "value", "value": 4},
                {"id": "cctv-group", "property": "value", "value": group},
                {"id": "cctv-rotate-tick", "property": "n_intervals", "value": None},
            ],
            "state": [
                {"id": "cctv-page", "property": "data", "value": 0},
                {"id": "lang", "property": "data", "value": "id"},
            ],
            "changedPropIds": ["cctv-group.value"],
        }
        answer = client.post("/_dash-update-component", json=body)
        assert answer.status_code == 200, answer.text[:300]
        assert "sdn1-gerbang" not in answer.text, group
        assert "SD Negeri" not in answer.text, group


def test_every_server_route_has_a_rule(world):
    """A route added later without a rule in data/access.PAGE_ROLES would be open to every
    signed-in role (the gate treats unknown paths as Dash pages): this names it."""
    from data.access import PAGE_ROLES
    from server.access_gate import CALLBACK_PATH, PUBLIC_PREFIXES, SIGNED_IN_PREFIXES, page_of

    app, _client, _sessions = world
    paths = {getattr(r, "path", "") for r in app.server.routes}
    paths |= {prefix for prefix, _ in app.server._ahead}
    unruled = sorted(
        p
        for p in paths
        # "/" and Dash's catch-all "{path:path}" serve the page shell; "/assets" is static.
        if p not in ("/", "{path:path}", "/assets", CALLBACK_PATH, "/_dash-ws-callback")
        and not p.startswith(PUBLIC_PREFIXES)
        and not p.startswith(SIGNED_IN_PREFIXES)
        and not p.startswith("/video/")  # checked per camera by the video routes
        and page_of(p) not in PAGE_ROLES
    )
    assert unruled == [], "routes without an access rule: " + ", ".join(unruled)
