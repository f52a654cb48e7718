"""The admin page's callbacks called as Dash's renderer calls them, through the gate (session
cookie and CSRF header), in-process against real Redis and SQLite: the `admin_page` fixture
(shared by tests/integration/test_admin.py and test_city_edits.py)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app import create_app
from data.db.engine import make_engine
from data.live_store import LiveStore
from layouts import admin as ui
from settings import load_settings
from tests.accounts import PASSWORD, Session, signed_in_client

CALLBACK = "/_dash-update-component"


class AdminPage:
    """Calls the admin page's callbacks as Dash's renderer does, and keeps every answer so a
    test can search them all for things that must never be sent."""

    def __init__(self, client: TestClient, app, engine, session: Session) -> None:
        self.client = client
        self.app = app
        self.engine = engine
        self.session = session
        self.answers: list[str] = []

    def key(self, first_output: str) -> str:
        found = [k for k in self.app.callback_map if k.lstrip(".").startswith(first_output)]
        assert len(found) == 1, (first_output, found)
        return found[0]

    def call(self, first_output: str, inputs: list, state: list | None = None,
             changed: str | None = None, client: TestClient | None = None):  # fmt: skip
        """`inputs`/`state`: (id, property, value) triples in the callback's order."""
        output = self.key(first_output)
        outputs = []
        for part in output.strip(".").split("..."):
            component, _, prop = part.rpartition(".")
            outputs.append({"id": component, "property": prop})
        as_dicts = [
            {"id": i, "property": p, "value": v} if not isinstance(v, _Many) else v.items
            for i, p, v in inputs
        ]
        first = inputs[0]
        body = {
            "output": output,
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": as_dicts,
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state or []],
            "changedPropIds": [changed or f"{first[0]}.{first[1]}"],
        }
        response = (client or self.client).post(CALLBACK, json=body)
        if response.status_code == 200:
            self.answers.append(json.dumps(response.json(), ensure_ascii=False))
        return response

    def ok(self, *args, **kwargs) -> dict:
        response = self.call(*args, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["response"]

    # The page's actions -----------------------------------------------------------------------

    def create_user(self, username, role, password=PASSWORD, again=None, random=False,
                    opds=(), schools=(), name="") -> str:  # fmt: skip
        answer = self.ok(
            ui.ADM_NEW_RESULT,
            [(ui.ADM_NEW_SAVE, "n_clicks", 1)],
            [
                (ui.ADM_NEW_USERNAME, "value", username),
                (ui.ADM_NEW_NAME, "value", name),
                (ui.ADM_NEW_ROLE, "value", role),
                (ui.ADM_NEW_OPDS, "value", list(opds)),
                (ui.ADM_NEW_SCHOOLS, "value", list(schools)),
                (ui.ADM_NEW_PASSWORD, "value", "" if random else password),
                (ui.ADM_NEW_PASSWORD_AGAIN, "value", "" if random else (again or password)),
                (ui.ADM_NEW_RANDOM, "value", [ui.RANDOM] if random else []),
                (ui.ADM_VERSION, "data", 0),
                ("lang", "data", "id"),
            ],
        )
        return json.dumps(answer[ui.ADM_NEW_RESULT])

    def edit_user(self, user_id, role, name="", opds=(), schools=(), active=True) -> str:
        answer = self.ok(
            ui.ADM_EDIT_RESULT + ".children...",
            [(ui.ADM_EDIT_SAVE, "n_clicks", 1)],
            [
                (ui.ADM_EDIT_USER, "value", user_id),
                (ui.ADM_EDIT_NAME, "value", name),
                (ui.ADM_EDIT_ROLE, "value", role),
                (ui.ADM_EDIT_OPDS, "value", list(opds)),
                (ui.ADM_EDIT_SCHOOLS, "value", list(schools)),
                (ui.ADM_EDIT_ACTIVE, "value", ["on"] if active else []),
                (ui.ADM_VERSION, "data", 0),
                ("lang", "data", "id"),
            ],
        )
        return json.dumps(answer[ui.ADM_EDIT_RESULT])

    def reset_password(self, user_id, password=None, random=False) -> str:
        answer = self.ok(
            ui.ADM_PW_RESULT + ".children...",
            [(ui.ADM_PW_SAVE, "n_clicks", 1)],
            [
                (ui.ADM_EDIT_USER, "value", user_id),
                (ui.ADM_PW_NEW, "value", password or ""),
                (ui.ADM_PW_AGAIN, "value", password or ""),
                (ui.ADM_PW_RANDOM, "value", [ui.RANDOM] if random else []),
                (ui.ADM_VERSION, "data", 0),
                ("lang", "data", "id"),
            ],
        )
        return json.dumps(answer[ui.ADM_PW_RESULT])

    def create_display(self, name, view) -> str:
        answer = self.ok(
            ui.ADM_DISPLAY_RESULT + ".children...",
            [(ui.ADM_DISPLAY_SAVE, "n_clicks", 1)],
            [
                (ui.ADM_DISPLAY_NAME, "value", name),
                (ui.ADM_DISPLAY_VIEW, "value", view),
                ("url", "href", "http://testserver/admin"),
                (ui.ADM_VERSION, "data", 0),
                ("lang", "data", "id"),
            ],
        )
        return json.dumps(answer[ui.ADM_DISPLAY_RESULT])

    def revoke(self, kind: str, field: str, value, first_output: str) -> dict:
        button = {"type": kind, field: value}
        changed = json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"
        return self.ok(
            first_output + ".children@",
            [(None, None, _Many([{"id": button, "property": "n_clicks", "value": 1}]))],
            [(ui.ADM_VERSION, "data", 0), ("lang", "data", "id")],
            changed=changed,
        )

    def create_key(self, name, scope, ids) -> str:
        answer = self.ok(
            ui.ADM_KEY_RESULT + ".children...",
            [(ui.ADM_KEY_SAVE, "n_clicks", 1)],
            [
                (ui.ADM_KEY_NAME, "value", name),
                (ui.ADM_KEY_SCOPE, "value", scope),
                (ui.ADM_KEY_IDS, "value", ids),
                (ui.ADM_VERSION, "data", 0),
                ("lang", "data", "id"),
            ],
        )
        return json.dumps(answer[ui.ADM_KEY_RESULT])

    def lists(self) -> str:
        """Every list on the page, as the page reads them after a change."""
        parts = [
            self.ok(ui.ADM_USERS, [(ui.ADM_VERSION, "data", 1)], [("lang", "data", "id")]),
            self.ok(ui.ADM_DISPLAYS, [(ui.ADM_VERSION, "data", 1)], [("lang", "data", "id")]),
            self.audit(),
        ]
        return json.dumps(parts)

    def audit(self, action: str = "", actor: str = "") -> dict:
        return self.ok(
            ui.ADM_AUDIT,
            [
                (ui.ADM_VERSION, "data", 1),
                (ui.ADM_AUDIT_SHOW, "n_clicks", 1),
                (ui.ADM_AUDIT_ACTION, "n_submit", None),
                (ui.ADM_AUDIT_ACTOR, "n_submit", None),
            ],
            [
                (ui.ADM_AUDIT_ACTION, "value", action),
                (ui.ADM_AUDIT_ACTOR, "value", actor),
                (ui.ADM_AUDIT_LIMIT, "value", 200),
                ("lang", "data", "id"),
            ],
        )


class _Many:
    """A pattern-matching (ALL) input: its list of matched components."""

    def __init__(self, items: list) -> None:
        self.items = items


@pytest.fixture
def admin_page(redis_url, live_store, tmp_path):
    settings = load_settings(redis_url=redis_url, data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app.server) as client:
        session = signed_in_client(client, settings, "admin")
        engine = make_engine(settings.effective_database_url)
        page = AdminPage(client, app, engine, session)
        page.settings = settings
        page.store = LiveStore(live_store.client, settings.redis_namespace)
        yield page
        engine.dispose()


def client_for(page: AdminPage, session: Session) -> TestClient:
    client = TestClient(page.app.server)
    client.cookies.update(session.cookies)
    client.headers.update(session.csrf_headers)
    return client
