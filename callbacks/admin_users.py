"""The admin page's users panel and the schools' parents: list, create, edit, reset password.

The rules (who may be changed how, which sessions end, what is audited) are data/user_admin.py's;
these callbacks read the form, call it in a worker thread (argon2 takes a moment) and say what
happened. A generated password is in this one response only.
"""

from __future__ import annotations

import logging

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.admin_guard import acting_admin, next_version
from callbacks.logged import logged
from data import accounts, user_admin
from data.accounts import AccountError, SessionStore
from data.city import City
from layouts.admin import (
    ADM_EDIT_ACTIVE,
    ADM_EDIT_NAME,
    ADM_EDIT_OPDS,
    ADM_EDIT_OPDS_FIELD,
    ADM_EDIT_RESULT,
    ADM_EDIT_ROLE,
    ADM_EDIT_SAVE,
    ADM_EDIT_SCHOOLS,
    ADM_EDIT_SCHOOLS_FIELD,
    ADM_EDIT_USER,
    ADM_NEW_NAME,
    ADM_NEW_OPDS,
    ADM_NEW_OPDS_FIELD,
    ADM_NEW_PASSWORD,
    ADM_NEW_PASSWORD_AGAIN,
    ADM_NEW_RANDOM,
    ADM_NEW_RESULT,
    ADM_NEW_ROLE,
    ADM_NEW_SAVE,
    ADM_NEW_SCHOOLS,
    ADM_NEW_SCHOOLS_FIELD,
    ADM_NEW_USERNAME,
    ADM_PW_AGAIN,
    ADM_PW_NEW,
    ADM_PW_RANDOM,
    ADM_PW_RESULT,
    ADM_PW_SAVE,
    ADM_SCHOOLS,
    ADM_USERS,
    ADM_VERSION,
    RANDOM,
    binding_classes,
)
from layouts.admin_tables import (
    note,
    result,
    role_name,
    schools_table,
    secret_result,
    user_options,
    users_table,
)
from layouts.i18n import Text, normal_lang
from layouts.pages import LANG

log = logging.getLogger(__name__)

DB_FAILED = Text(
    "Basis data tidak dapat dibaca atau ditulis saat ini; coba lagi sebentar lagi.",
    "The database cannot be read or written right now; try again in a moment.",
)
NO_USER = Text("Pilih pengguna terlebih dahulu.", "Choose a user first.")
PASSWORD_ONCE = Text(
    "Kata sandi ini hanya ditampilkan sekali, sekarang. Sampaikan langsung kepada penggunanya.",
    "This password is shown only once, now. Give it to its user in person.",
)
FIELD_NAMES = {
    "display_name": Text("nama", "name"),
    "role": Text("peran", "role"),
    "opds": Text("OPD", "OPDs"),
    "schools": Text("sekolah", "schools"),
    "active": Text("status", "status"),
}


def sessions_text(count: int, lang: str) -> str:
    if not count:
        return ""
    return Text(f" {count} sesi diakhiri.", f" {count} session(s) ended.")(lang)


def register(app: Dash, city: City, engine: Engine, sessions: SessionStore) -> None:
    @app.callback(
        Output(ADM_USERS, "children"),
        Output(ADM_EDIT_USER, "options"),
        Output(ADM_SCHOOLS, "children"),
        Input(ADM_VERSION, "data"),
        State(LANG, "data"),
    )
    @logged
    async def show_users(_version, lang):
        acting_admin()
        lang = normal_lang(lang)
        try:
            users = await run_in_threadpool(accounts.list_users, engine)
        except SQLAlchemyError as exc:
            log.warning("admin page: users unavailable: %s", exc)
            return note(DB_FAILED(lang)), no_update, no_update
        return (
            users_table(users, city, accounts.now_ms(), lang),
            user_options(users, lang),
            schools_table(city, users, lang),
        )

    # The OPD and school pickers appear only for the role they bind.
    for role_id, opds_field, schools_field in (
        (ADM_NEW_ROLE, ADM_NEW_OPDS_FIELD, ADM_NEW_SCHOOLS_FIELD),
        (ADM_EDIT_ROLE, ADM_EDIT_OPDS_FIELD, ADM_EDIT_SCHOOLS_FIELD),
    ):
        app.callback(
            Output(opds_field, "className"),
            Output(schools_field, "className"),
            Input(role_id, "value"),
        )(_show_bindings)

    @app.callback(
        Output(ADM_NEW_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Output(ADM_NEW_USERNAME, "value"),
        Output(ADM_NEW_NAME, "value"),
        Output(ADM_NEW_PASSWORD, "value"),
        Output(ADM_NEW_PASSWORD_AGAIN, "value"),
        Output(ADM_NEW_OPDS, "value"),
        Output(ADM_NEW_SCHOOLS, "value"),
        Input(ADM_NEW_SAVE, "n_clicks"),
        State(ADM_NEW_USERNAME, "value"),
        State(ADM_NEW_NAME, "value"),
        State(ADM_NEW_ROLE, "value"),
        State(ADM_NEW_OPDS, "value"),
        State(ADM_NEW_SCHOOLS, "value"),
        State(ADM_NEW_PASSWORD, "value"),
        State(ADM_NEW_PASSWORD_AGAIN, "value"),
        State(ADM_NEW_RANDOM, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_NEW_SAVE, "disabled"), True, False)],
    )
    @logged
    async def create_user(
        n_clicks, username, name, role, opds, schools, password, again, random, version, lang
    ):
        if not n_clicks:
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        if not role:
            return result(Text("Pilih peran.", "Choose a role.")(lang), False), *[no_update] * 7
        try:
            created = await run_in_threadpool(
                lambda: user_admin.create_user(
                    engine,
                    admin,
                    city,
                    username=username or "",
                    display_name=name or "",
                    role=role,
                    password=password,
                    password_again=again,
                    generate=RANDOM in (random or []),
                    opds=opds,
                    schools=schools,
                )
            )
        except AccountError as exc:
            return result(str(exc), False), *[no_update] * 7
        except SQLAlchemyError:
            log.exception("admin page: user not created")
            return result(DB_FAILED(lang), False), *[no_update] * 7
        message = Text(
            f"Pengguna {created.username} ({role_name(role, 'id')}) dibuat.",
            f"User {created.username} ({role_name(role, 'en')}) created.",
        )(lang)
        shown = (
            secret_result(message, created.password, PASSWORD_ONCE(lang), ADM_NEW_RESULT)
            if created.password
            else result(message)
        )
        # The next person is someone else: their name, password and bindings start empty.
        return shown, next_version(version), "", "", "", "", [], []

    @app.callback(
        Output(ADM_EDIT_NAME, "value"),
        Output(ADM_EDIT_ROLE, "value"),
        Output(ADM_EDIT_OPDS, "value"),
        Output(ADM_EDIT_SCHOOLS, "value"),
        Output(ADM_EDIT_ACTIVE, "value"),
        Output(ADM_EDIT_RESULT, "children", allow_duplicate=True),
        Output(ADM_PW_RESULT, "children", allow_duplicate=True),
        Input(ADM_EDIT_USER, "value"),
        prevent_initial_call=True,
    )
    @logged
    async def load_user(user_id):
        acting_admin()
        if user_id is None:
            return "", None, [], [], [], None, None
        try:
            users = await run_in_threadpool(accounts.list_users, engine)
        except SQLAlchemyError:
            raise PreventUpdate from None
        user = next((u for u in users if u["id"] == user_id), None)
        if user is None:
            raise PreventUpdate
        return (
            user["display_name"],
            user["role"],
            [o for o in (user["opds"] or "").split(",") if o],
            user["schools"],
            ["on"] if user["active"] else [],
            None,
            None,
        )

    @app.callback(
        Output(ADM_EDIT_RESULT, "children"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Input(ADM_EDIT_SAVE, "n_clicks"),
        State(ADM_EDIT_USER, "value"),
        State(ADM_EDIT_NAME, "value"),
        State(ADM_EDIT_ROLE, "value"),
        State(ADM_EDIT_OPDS, "value"),
        State(ADM_EDIT_SCHOOLS, "value"),
        State(ADM_EDIT_ACTIVE, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_EDIT_SAVE, "disabled"), True, False)],
    )
    @logged
    async def save_user(n_clicks, user_id, name, role, opds, schools, active, version, lang):
        if not n_clicks:
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        if not isinstance(user_id, int):
            return result(NO_USER(lang), False), no_update
        try:
            edited = await run_in_threadpool(
                lambda: user_admin.edit_user(
                    engine,
                    sessions,
                    admin,
                    city,
                    int(user_id),
                    display_name=name or "",
                    role=role or "",
                    opds=opds,
                    schools=schools,
                    active="on" in (active or []),
                )
            )
        except AccountError as exc:
            return result(str(exc), False), no_update
        except SQLAlchemyError:
            log.exception("admin page: user %s not changed", user_id)
            return result(DB_FAILED(lang), False), no_update
        if not edited.changed:
            return result(Text("Tidak ada yang berubah.", "Nothing changed.")(lang)), no_update
        fields = ", ".join(FIELD_NAMES[c](lang) for c in edited.changed)
        message = Text(
            f"{edited.username}: {fields} disimpan.", f"{edited.username}: {fields} saved."
        )(lang) + sessions_text(edited.sessions_revoked, lang)
        return result(message), next_version(version)

    @app.callback(
        Output(ADM_PW_RESULT, "children"),
        Output(ADM_PW_NEW, "value"),
        Output(ADM_PW_AGAIN, "value"),
        Output(ADM_VERSION, "data", allow_duplicate=True),
        Input(ADM_PW_SAVE, "n_clicks"),
        State(ADM_EDIT_USER, "value"),
        State(ADM_PW_NEW, "value"),
        State(ADM_PW_AGAIN, "value"),
        State(ADM_PW_RANDOM, "value"),
        State(ADM_VERSION, "data"),
        State(LANG, "data"),
        prevent_initial_call=True,
        running=[(Output(ADM_PW_SAVE, "disabled"), True, False)],
    )
    @logged
    async def reset_password(n_clicks, user_id, password, again, random, version, lang):
        if not n_clicks:
            raise PreventUpdate
        admin = acting_admin()
        lang = normal_lang(lang)
        if not isinstance(user_id, int):
            return result(NO_USER(lang), False), no_update, no_update, no_update
        try:
            reset = await run_in_threadpool(
                lambda: user_admin.reset_password(
                    engine,
                    sessions,
                    admin,
                    int(user_id),
                    password=password,
                    password_again=again,
                    generate=RANDOM in (random or []),
                )
            )
        except AccountError as exc:
            return result(str(exc), False), no_update, no_update, no_update
        except SQLAlchemyError:
            log.exception("admin page: password of user %s not reset", user_id)
            return result(DB_FAILED(lang), False), no_update, no_update, no_update
        message = Text(
            f"Kata sandi {reset.username} diganti.", f"Password of {reset.username} changed."
        )(lang) + sessions_text(reset.sessions_revoked, lang)
        shown = (
            secret_result(message, reset.password, PASSWORD_ONCE(lang), ADM_PW_RESULT)
            if reset.password
            else result(message)
        )
        return shown, "", "", next_version(version)


@logged
async def _show_bindings(role):
    acting_admin()
    return binding_classes(role)
