"""The alert panel, the ticker and the operators' actions (issue 5).

Both refreshes read the live list with the version guard (an unchanged list answers 204); the
actions are synchronous SQL + Redis work, run off the event loop with `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from callbacks.logged import logged
from data.access import current_principal, may_act_on_alerts
from data.alert_store import AlertActionError, AlertDesk, AlertFeed, AlertLive
from data.city import City
from data.live_reader import LiveReader
from data.live_store import LiveStore, connect
from layouts import alert_list as ui
from layouts.i18n import Text, normal_lang
from layouts.pages import LANG
from settings import Settings

log = logging.getLogger(__name__)

DONE = {
    "ack": Text("Diakui", "Acknowledged"),
    "resolve": Text("Diselesaikan", "Resolved"),
    "assign": Text("Ditugaskan", "Assigned"),
}
REPORTED = Text("Kejadian dilaporkan", "Incident reported")
UNAVAILABLE = Text(
    "Tidak dapat disimpan sekarang (basis data tidak terjangkau); coba lagi.",
    "Could not be saved now (database unreachable); try again.",
)


def register(
    app: Dash,
    reader: LiveReader,
    city: City,
    settings: Settings,
    engine: Engine,
    store: LiveStore | None = None,
) -> None:
    """`store`: the process's LiveStore, whose Redis client the actions share; one is made when
    not given."""
    feed = AlertFeed(reader)
    client = store.client if store is not None else connect(settings.redis_url or "")
    desk = AlertDesk(engine, AlertLive(client, settings.redis_namespace), city)

    # The list and the ticker from one read of the live list (both pages show both).
    @app.callback(
        Output(ui.ALERT_LIST, "children"),
        Output(ui.ALERT_STATE, "data"),
        Output(ui.ALERT_CRITICAL, "data"),
        Output(ui.ALERT_TICKER, "children"),
        Input(ui.ALERT_SIGNAL, "data"),
        State(ui.ALERT_STATE, "data"),
        State(LANG, "data"),
    )
    @logged
    async def refresh_alerts(_tick, state, lang):
        try:
            version, alerts = await feed.active((state or {}).get("version", ""))
        except redis.RedisError as exc:
            log.warning("alert refresh: Redis unavailable: %s", exc)
            raise PreventUpdate from exc
        if alerts is None:  # unchanged: 204
            raise PreventUpdate
        lang = normal_lang(lang)
        can_act = may_act_on_alerts(current_principal())
        rows = ui.alert_rows(alerts, city, lang, time.time(), can_act)
        ticker = ui.ticker_content(alerts, lang)
        return rows, {"version": version}, ui.critical_open(alerts), ticker

    @app.callback(
        Output(ui.ALERT_FEEDBACK, "children"),
        Output(ui.ALERT_STATE, "data", allow_duplicate=True),
        Input({"type": ui.ALERT_ACTION, "action": ALL, "alert": ALL}, "n_clicks"),
        Input({"type": ui.ALERT_ASSIGN, "alert": ALL}, "value"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def act(_clicks, _assignees, lang):
        lang = normal_lang(lang)
        trigger = ctx.triggered_id
        value = ctx.triggered[0]["value"] if ctx.triggered else None
        # Rows re-rendered with the list fire this with no click and no choice: not an action.
        if not isinstance(trigger, dict) or not value:
            raise PreventUpdate
        uid = trigger["alert"]
        principal = current_principal()
        if not may_act_on_alerts(principal):  # the gate refuses first; this is the second lock
            raise PreventUpdate
        who = principal.name  # type: ignore[union-attr]  (unique, unlike display names)
        try:
            if trigger["type"] == ui.ALERT_ASSIGN:
                action = "assign"
                await asyncio.to_thread(desk.assign, uid, str(value), who)
            elif trigger["action"] == "ack":
                action = "ack"
                await asyncio.to_thread(desk.acknowledge, uid, who)
            elif trigger["action"] == "resolve":
                action = "resolve"
                await asyncio.to_thread(desk.resolve, uid, who, "")
            else:
                raise PreventUpdate
        except AlertActionError as exc:
            return (exc.en if lang == "en" else str(exc)), {"version": ""}
        except (SQLAlchemyError, redis.RedisError) as exc:
            log.warning("alert action failed: %s", exc)
            return UNAVAILABLE(lang), {"version": ""}
        # A forgotten version makes the next tick redraw the list with the change.
        return f"{DONE[action](lang)} · {who}", {"version": ""}

    register_incident_form(app, desk)

    # The page's live feed carries the list's version, and the browser puts it in ALERT_SIGNAL
    # when it moves (assets/komando_feed.js: apply); only then do the list and the ticker ask
    # the server (so an idle wall makes one request a second, not three).
    app.clientside_callback(
        ClientsideFunction(namespace="komandoAlerts", function_name="chime"),
        Output(ui.ALERT_CHIMED, "data"),
        Input(ui.ALERT_CRITICAL, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="komandoAlerts", function_name="toggleSound"),
        Output(ui.ALERT_SOUND, "children"),
        Output(ui.ALERT_SOUND, "className"),
        Input(ui.ALERT_SOUND, "n_clicks"),
    )
    # The "3 mnt lalu" ages are kept by a timer of the page's own (assets/komando_alerts.js),
    # not a callback on the refresh interval: a callback is store updates for every component.


def register_incident_form(app: Dash, desk: AlertDesk) -> None:
    """ "Laporkan kejadian" on /alerts: the incident goes through `AlertDesk.report_incident`
    (validation, SQL + audit, then the live list), under the panel's "Petugas" name."""

    @app.callback(
        Output(ui.INCIDENT_FEEDBACK, "children"),
        Output(ui.INCIDENT_FEEDBACK, "className"),
        Output(ui.INCIDENT_DESCRIPTION, "value"),
        Output(ui.INCIDENT_CATEGORY, "value"),
        Output(ui.ALERT_STATE, "data", allow_duplicate=True),
        Input(ui.INCIDENT_SUBMIT, "n_clicks"),
        State(ui.INCIDENT_CATEGORY, "value"),
        State(ui.INCIDENT_SEVERITY, "value"),
        State(ui.INCIDENT_REGION, "value"),
        State(ui.INCIDENT_DESCRIPTION, "value"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def report_incident(clicks, category, severity, region, description, lang):
        if not clicks:
            raise PreventUpdate
        lang = normal_lang(lang)
        principal = current_principal()
        if not may_act_on_alerts(principal):
            raise PreventUpdate
        who = principal.name  # type: ignore[union-attr]  (unique, unlike display names)
        error = "incident-feedback is-error"
        try:
            await asyncio.to_thread(
                desk.report_incident,
                category or "",
                severity or "",
                region or "",
                description if isinstance(description, str) else "",
                who,
            )
        except AlertActionError as exc:
            message = exc.en if lang == "en" else str(exc)
            return message[:1].upper() + message[1:], error, no_update, no_update, no_update
        except (SQLAlchemyError, redis.RedisError) as exc:
            log.warning("incident report failed: %s", exc)
            return UNAVAILABLE(lang), error, no_update, no_update, no_update
        # A forgotten version makes the next tick redraw the list with the incident.
        return (
            f"{REPORTED(lang)} · {who}",
            "incident-feedback is-ok",
            "",
            None,
            {"version": ""},
        )
