"""The admin page's credentials for machines: wall display links and API keys. Each is made,
shown once in full in the response that made it, listed by its prefix, and revoked."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.admin_guard import acting_admin, next_version
from callbacks.logged import logged
from data import accounts, api_keys, user_admin
from data.accounts import AccountError, SessionStore
from data.city import City
from layouts.admin import (
    ADM_DISPLAY_NAME,
    ADM_DISPLAY_RESULT,
    ADM_DISPLAY_SAVE,
    ADM_DISPLAY_VIEW,
    ADM_DISPLAYS,
    ADM_KEY_IDS,
    ADM_KEY_NAME,
    ADM_KEY_RESULT,
    ADM_KEY_SAVE,
    ADM_KEY_SCOPE,
    ADM_KEYS,
    ADM_VERSION,
    HIDDEN_FIELD,
    SHOWN_FIELD,
)
from layouts.admin_tables import (
    ADM_DISPLAY_REVOKE,
    ADM_KEY_REVOKE,
    displays_table,
    keys_table,
    note,
    result,
    secret_result,
)
from layouts.i18n import Text, normal_lang
from layouts.pages import LANG, URL

log = logging.getLogger(__name__)

DB_FAILED = Text(
    "Basis data tidak dapat dibaca atau ditulis saat ini; coba lagi sebentar lagi.",
    "The database cannot be read or written right now; try again in a moment.",
)
LINK_ONCE = Text(
    "Salin tautan ini sekarang dan buka di layar dinding: tautan ini tidak ditampilkan lagi. "
    "Siapa pun yang memegangnya dapat membuka tampilan layar ini.",
    "Copy this link now and open it on the wall screen: it is not shown again. Whoever holds "
    "it can open this display's view.",
)
KEY_ONCE = Text(
    "Salin kunci ini sekarang ke perangkat atau sistem pengirim: kunci ini tidak ditampilkan lagi.",
    "Copy this key now into the sending device or system: it is not shown again.",
)


def origin_of(href: str | None) -> str:
    """`https://komando.kota.go.id` from the page's own address, as the admin's browser sees
    it (behind a proxy the server's idea of its host may differ)."""
    parts = urlsplit(href or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return ""


def key_scope_choices(city: City, scope: str | None) -> list[dict[str, str]]:
    if scope == "sensors":
        return [{"label": f"{s.name} ({s.id})", "value": s.id} for s in city.config.sensors]
    if scope == "opd":
        return [{"label": f"{o.short_name} — {o.name}", "value": o.id} for o in city.config.opds]
    return []


def clicked(value_of_trigger: object) -> bool:
    """A real click: a re-drawn table's new buttons (n_clicks 0) must revoke nothing."""
    return isinstance(value_of_trigger, int) and value_of_trigger > 0


def register(app: Dash, city: City, engine: Engine, sessions: SessionStore) -> None:
    zone = ZoneInfo(city.config.timezone)

    @app.callback(
        Output(ADM_DISPLAYS, "children"),
        Output(ADM_KEYS, "children"),
        Input(ADM_VERSION, "data"),
        State(LANG, "data"),
    )
    @logged
    async def show_lists(_version, lang):
        acting_admin()
        lang = normal_lang(lang)
        try:
            displays = await run_in_threadpool(accounts.list_display_tokens, engine)
            keys = await run_in_threadpool(api_keys.list_keys, engine)
        except SQLAlchemyError as exc:
            log.warning("admin page: displays or keys unavailable: %s", exc)
            return note(DB_FAILED(lang)), note(DB_FAILED(lang))
        return displays_table(displays, zone, lang), keys_table(keys, zone, lang)

    @app.callback(
        Output(ADM_KEY_IDS, "options"),
        Output(ADM_KEY_IDS, "value"),
        Output(f"{ADM_KEY_IDS}-field", "className"),
        Input(ADM_KEY_SCOPE, "value"),
    )
    @logged
    async def scope_choices(scope):
        acting_admin()
        shown = f"{SHOWN_FIELD} adm-wide" if scope != "all" else f"{HIDDEN_FIELD} adm-wide"
        return key_scope_choices(city, scope), [], shown

    @app.callback(
        Output(ADM_DISPLAY_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Output(ADM_DISPLAY_NAME, "value"),
        Input(ADM_DISPLAY_SAVE, "n_clicks"),
        State(ADM_DISPLAY_NAME, "value"),
        State(ADM_DISPLAY_VIEW, "value"),
        State(URL, "href"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_DISPLAY_SAVE, "disabled"), True, False)],
    )
    @logged
    async def create_display(n_clicks, name, view, href, version, lang):
        if not n_clicks:
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        if not (name or "").strip():
            return result(Text("Beri nama layar.", "Name the display.")(lang), False), *[
                no_update
            ] * 2
        try:
            token = await run_in_threadpool(
                user_admin.create_display, engine, admin, name, view or "/"
            )
        except AccountError as exc:
            return result(str(exc), False), no_update, no_update
        except SQLAlchemyError:
            log.exception("admin page: display link not created")
            return result(DB_FAILED(lang), False), no_update, no_update
        link = f"{origin_of(href)}/d/{token}"
        message = Text(
            f"Tautan layar {name.strip()} dibuat.", f"Display link {name.strip()} created."
        )(lang)
        return (
            secret_result(message, link, LINK_ONCE(lang), ADM_DISPLAY_RESULT),
            next_version(version),
            "",
        )

    @app.callback(
        Output(ADM_DISPLAY_RESULT, "children", allow_duplicate=True),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Input({"type": ADM_DISPLAY_REVOKE, "id": ALL}, "n_clicks"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def revoke_display(_clicks, version, lang):
        if not ctx.triggered or not clicked(ctx.triggered[0].get("value")):
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        display_id = int(ctx.triggered_id["id"])
        try:
            done = await run_in_threadpool(
                user_admin.revoke_display, engine, sessions, admin, display_id
            )
        except (AccountError, SQLAlchemyError):
            log.exception("admin page: display %s not revoked", display_id)
            return result(DB_FAILED(lang), False), no_update
        if not done:
            return result(
                Text("Tautan itu sudah dicabut.", "That link was already revoked.")(lang), False
            ), next_version(version)
        return (
            result(
                Text(
                    "Tautan layar dicabut; layar itu keluar pada permintaan berikutnya.",
                    "Display link revoked; that screen is signed out on its next request.",
                )(lang)
            ),
            next_version(version),
        )

    @app.callback(
        Output(ADM_KEY_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Output(ADM_KEY_NAME, "value"),
        Input(ADM_KEY_SAVE, "n_clicks"),
        State(ADM_KEY_NAME, "value"),
        State(ADM_KEY_SCOPE, "value"),
        State(ADM_KEY_IDS, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_KEY_SAVE, "disabled"), True, False)],
    )
    @logged
    async def create_key(n_clicks, name, scope, chosen, version, lang):
        if not n_clicks:
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        try:
            key = await run_in_threadpool(
                user_admin.create_api_key,
                engine,
                admin,
                city,
                name or "",
                scope or "",
                chosen or [],
            )
        except AccountError as exc:
            return result(str(exc), False), no_update, no_update
        except SQLAlchemyError:
            log.exception("admin page: API key not created")
            return result(DB_FAILED(lang), False), no_update, no_update
        message = Text(f"Kunci API {name.strip()} dibuat.", f"API key {name.strip()} created.")(
            lang
        )
        return (
            secret_result(message, key, KEY_ONCE(lang), ADM_KEY_RESULT),
            next_version(version),
            "",
        )

    @app.callback(
        Output(ADM_KEY_RESULT, "children", allow_duplicate=True),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Input({"type": ADM_KEY_REVOKE, "prefix": ALL}, "n_clicks"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def revoke_key(_clicks, version, lang):
        if not ctx.triggered or not clicked(ctx.triggered[0].get("value")):
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        prefix = str(ctx.triggered_id["prefix"])
        try:
            done = await run_in_threadpool(user_admin.revoke_api_key, engine, admin, prefix)
        except (AccountError, SQLAlchemyError):
            log.exception("admin page: API key %s not revoked", prefix)
            return result(DB_FAILED(lang), False), no_update
        text = (
            Text("Kunci API dicabut.", "API key revoked.")
            if done
            else Text("Kunci itu sudah dicabut.", "That key was already revoked.")
        )
        return result(text(lang), done), next_version(version)
