"""The admin page's audit trail: newest first, filtered by action prefix and actor, and the
link to the same selection as CSV (server/audit_export.py)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from dash import Dash, Input, Output, State
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.admin_guard import acting_admin
from callbacks.logged import logged
from data import accounts
from data.city import City
from layouts.admin import (
    ADM_AUDIT,
    ADM_AUDIT_ACTION,
    ADM_AUDIT_ACTOR,
    ADM_AUDIT_CSV,
    ADM_AUDIT_LIMIT,
    ADM_AUDIT_SHOW,
    ADM_VERSION,
    AUDIT_CSV_PATH,
    AUDIT_LIMITS,
)
from layouts.admin_tables import audit_table, note
from layouts.i18n import Text, normal_lang
from layouts.pages import LANG

log = logging.getLogger(__name__)


def audit_filter(action: str | None, actor: str | None, limit: object) -> tuple[str, str, int]:
    """The filter as typed, trimmed and bounded (a limit the page does not offer is its
    smallest)."""
    chosen = limit if isinstance(limit, int) and limit in AUDIT_LIMITS else AUDIT_LIMITS[0]
    return (action or "").strip()[:64], (actor or "").strip()[:64], chosen


def csv_href(action: str, actor: str, limit: int) -> str:
    query = {k: v for k, v in (("tindakan", action), ("pelaku", actor)) if v}
    return f"{AUDIT_CSV_PATH}?{urlencode({**query, 'batas': limit})}"


def register(app: Dash, city: City, engine: Engine) -> None:
    @app.callback(
        Output(ADM_AUDIT, "children"),
        Output(ADM_AUDIT_CSV, "href"),
        Input(ADM_VERSION, "data"),
        Input(ADM_AUDIT_SHOW, "n_clicks"),
        Input(ADM_AUDIT_ACTION, "n_submit"),
        Input(ADM_AUDIT_ACTOR, "n_submit"),
        State(ADM_AUDIT_ACTION, "value"),
        State(ADM_AUDIT_ACTOR, "value"),
        State(ADM_AUDIT_LIMIT, "value"),
        State(LANG, "data"),
    )
    @logged
    async def show_audit(_version, _clicks, _enter1, _enter2, action, actor, limit, lang):
        acting_admin()
        lang = normal_lang(lang)
        action, actor, limit = audit_filter(action, actor, limit)
        try:
            rows = await run_in_threadpool(accounts.read_audit, engine, limit, action, actor)
        except SQLAlchemyError as exc:
            log.warning("admin page: audit trail unavailable: %s", exc)
            unavailable = Text(
                "Jejak audit tidak dapat dibaca saat ini.", "The audit trail cannot be read now."
            )
            return note(unavailable(lang)), csv_href(action, actor, limit)
        return audit_table(rows, city, lang), csv_href(action, actor, limit)
