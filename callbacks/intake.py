"""The admin page "Data Masuk" (`/admin/data`): ingest counters and data freshness from the live
state, the latest dead letters from SQL, refreshed every REFRESH_MS and on "Muat ulang"."""

from __future__ import annotations

import logging
import time
from zoneinfo import ZoneInfo

import redis
from dash import MATCH, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from callbacks.logged import logged
from data.city import City
from data.history import dead_letters
from data.live_store import LiveStore
from layouts.i18n import normal_lang
from layouts.intake import (
    DEAD_LETTER_LIMIT,
    HIDE,
    IN_COUNTERS,
    IN_LETTERS,
    IN_LETTERS_SHOWN,
    IN_OPDS,
    IN_PAYLOAD_FULL,
    IN_PAYLOAD_TOGGLE,
    IN_RELOAD,
    IN_SENSORS,
    IN_SOURCE,
    IN_TICK,
    IN_UPDATED,
    LETTERS_UNAVAILABLE_TEXT,
    LIVE_UNAVAILABLE_TEXT,
    PREVIEW_CHARS,
    SHOW_ALL,
    DeadLetterRow,
    counters_view,
    full_payload_view,
    letters_signature,
    letters_view,
    opd_ages,
    opds_view,
    sensor_ages,
    sensors_view,
    source_counts,
    source_options,
    updated_text,
)
from layouts.operator import empty_note
from layouts.pages import LANG

log = logging.getLogger(__name__)

LiveState = tuple[dict[str, int], dict[str, tuple[float, float]], dict[str, float]]


def read_live(store: LiveStore) -> LiveState:
    """Counters, sensor points and OPD entry times, as LiveStore gives them (sync redis-py)."""
    _version, points = store.sensors()
    return store.counters(), points or {}, store.opd_freshness()


# TODO: move next to dead_letter_row in data/history.py, which owns this table.
def recent_dead_letters(
    engine: Engine, source: str | None, limit: int = DEAD_LETTER_LIMIT
) -> list[DeadLetterRow]:
    """The newest dead letters, optionally of one source, with only the head of each payload
    (a payload can be 20,000 characters; fifty of them would be a megabyte per refresh)."""
    table = dead_letters
    query = select(
        table.c.id,
        table.c.received_ms,
        table.c.source,
        table.c.reason,
        func.substr(table.c.payload, 1, PREVIEW_CHARS).label("head"),
        func.length(table.c.payload).label("chars"),
    )
    if source:
        query = query.where(table.c.source == source)
    # By arrival, not by id: the ingest role writes its dead letters in batches, seconds after
    # the web role has written the ones it refused itself.
    query = query.order_by(table.c.received_ms.desc(), table.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        found = conn.execute(query).all()
    return [
        DeadLetterRow(
            id=int(r.id),
            received_ms=int(r.received_ms),
            source=r.source,
            reason=r.reason,
            payload_head=r.head or "",
            payload_chars=int(r.chars or 0),
        )
        for r in found
    ]


def dead_letter_payload(engine: Engine, letter_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(dead_letters.c.payload).where(dead_letters.c.id == letter_id)
        ).scalar_one_or_none()


def register(app: Dash, city: City, engine: Engine, store: LiveStore | None) -> None:
    zone = ZoneInfo(city.config.timezone)
    label = city.config.timezone_label

    @app.callback(
        Output(IN_COUNTERS, "children"),
        Output(IN_SENSORS, "children"),
        Output(IN_OPDS, "children"),
        Output(IN_UPDATED, "children"),
        Output(IN_SOURCE, "options"),
        Input(IN_TICK, "n_intervals"),
        Input(IN_RELOAD, "n_clicks"),
        State(IN_SOURCE, "options"),
        State(LANG, "data"),
    )
    @logged
    async def show_live(_ticks, _clicks, shown_options, lang):
        lang = normal_lang(lang)
        now = time.time()
        updated = updated_text(now, zone, label, lang)
        try:
            if store is None:
                raise redis.ConnectionError("no live store")
            counters, points, entries = await run_in_threadpool(read_live, store)
        except redis.RedisError as exc:
            log.warning("intake page: live state unavailable: %s", exc)
            note = empty_note(LIVE_UNAVAILABLE_TEXT(lang))
            return note, note, note, updated, no_update
        options = source_options(counters, lang)
        return (
            counters_view(source_counts(counters), lang),
            sensors_view(sensor_ages(city, points, now), zone, label, now, lang),
            opds_view(opd_ages(city, entries, now, lang), zone, label, now, lang),
            updated,
            # Unchanged options are not re-sent: an open dropdown would flicker.
            no_update if options == shown_options else options,
        )

    @app.callback(
        Output(IN_LETTERS, "children"),
        Output(IN_LETTERS_SHOWN, "data"),
        Input(IN_TICK, "n_intervals"),
        Input(IN_RELOAD, "n_clicks"),
        Input(IN_SOURCE, "value"),
        State(IN_LETTERS_SHOWN, "data"),
        State(LANG, "data"),
    )
    @logged
    async def show_letters(_ticks, _clicks, source, shown, lang):
        lang = normal_lang(lang)
        try:
            rows = await run_in_threadpool(recent_dead_letters, engine, source)
        except SQLAlchemyError as exc:
            log.warning("intake page: dead letters unavailable: %s", exc)
            return empty_note(LETTERS_UNAVAILABLE_TEXT(lang)), None
        signature = letters_signature(source, rows)
        if ctx.triggered_id == IN_TICK and signature == shown:
            raise PreventUpdate  # nothing new: leave the table (and any opened payload) alone
        return letters_view(rows, source, zone, label, lang), signature

    @app.callback(
        Output({"type": IN_PAYLOAD_FULL, "letter": MATCH}, "children"),
        Output({"type": IN_PAYLOAD_TOGGLE, "letter": MATCH}, "children"),
        Input({"type": IN_PAYLOAD_TOGGLE, "letter": MATCH}, "n_clicks"),
        State(LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def toggle_payload(n_clicks, lang):
        if not n_clicks:
            raise PreventUpdate
        lang = normal_lang(lang)
        if n_clicks % 2 == 0:
            return None, SHOW_ALL(lang)
        letter_id = int(ctx.triggered_id["letter"])
        try:
            text = await run_in_threadpool(dead_letter_payload, engine, letter_id)
        except SQLAlchemyError as exc:
            log.warning("intake page: dead letter %d unavailable: %s", letter_id, exc)
            return empty_note(LETTERS_UNAVAILABLE_TEXT(lang)), SHOW_ALL(lang)
        return full_payload_view(text, lang), HIDE(lang)
