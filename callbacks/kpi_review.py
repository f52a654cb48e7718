"""The mayor's review page (`/kpi`): reads the URL, the live KPI points (Redis) and the bucketed
history (SQL through the shared cache of data/review_cache.py, read in a worker thread: a
blocking query on the event loop would freeze every video stream of this process), and renders
layouts/kpi_review.py (in the thread too: a page of fifteen charts is CPU work)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from zoneinfo import ZoneInfo

import redis
from dash import Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from callbacks.logged import logged
from data.city import City
from data.kpi_report import (
    build_review,
    comparison_of,
    parse_query,
    read_comparison,
    resolve_period,
)
from data.live_reader import LiveReader
from data.regions import region_tree
from data.review_cache import cached, query_part, review_history
from layouts.i18n import Text, normal_lang
from layouts.kpi_review import (
    COMPARE_GRAPH,
    COMPARE_KPI,
    RANGE,
    RANGE_APPLY,
    REVIEW_BODY,
    REVIEW_LANG,
    comparison_figure,
    review_body,
)
from layouts.pages import URL

log = logging.getLogger(__name__)

UNAVAILABLE = Text(
    "Riwayat data tidak dapat dibaca saat ini. Coba lagi sebentar lagi.",
    "The history cannot be read right now. Please try again shortly.",
)


async def live_points(reader: LiveReader, city: City, wilayah: str) -> dict:
    """The live KPI points of the area (and the city's, as '<id>@city'); empty without Redis."""
    try:
        _, city_points = await reader.kpis()
        points = {f"{k}@city": v for k, v in (city_points or {}).items()}
        if wilayah:
            _, region_points = await reader.region_kpis(wilayah)
            points.update(region_points or {})
        else:
            points.update(city_points or {})
        return points
    except redis.RedisError as exc:
        log.warning("KPI review: Redis unavailable, history only: %s", exc)
        return {}


def register(app: Dash, city: City, engine: Engine, reader: LiveReader) -> None:
    @app.callback(
        Output(REVIEW_BODY, "children"),
        Input(REVIEW_LANG, "data"),
        State(URL, "search"),
    )
    @logged
    async def render_review(lang, search):
        lang = normal_lang(lang)
        query = parse_query(search, city)
        live = await live_points(reader, city, query.wilayah)
        now = time.time()
        try:
            history = await review_history(reader, engine, city, query, now=now)
        except SQLAlchemyError as exc:
            log.warning("KPI review: database unavailable: %s", exc)
            return html.P(UNAVAILABLE(lang), className="review-error")
        return await asyncio.to_thread(
            lambda: review_body(build_review(None, city, query, now, live, history=history), lang)
        )

    @app.callback(
        Output(COMPARE_GRAPH, "figure"),
        Input(COMPARE_KPI, "value"),
        State(URL, "search"),
        State(REVIEW_LANG, "data"),
        prevent_initial_call=True,
    )
    @logged
    async def compare(kpi_id, search, lang):
        if not kpi_id:
            raise PreventUpdate
        query = parse_query(search, city)
        tree = region_tree(city)
        region = tree.get(query.wilayah) or tree.city
        if comparison_of(city, region, kpi_id, {}) is None:  # not a KPI compared by area
            return comparison_figure(None, normal_lang(lang))
        now = time.time()
        period = resolve_period(query, now, ZoneInfo(city.config.timezone))
        means = await cached(
            reader,
            "compare|" + query_part(query, False) + "|" + kpi_id,
            now,
            lambda: read_comparison(engine, city, region, kpi_id, period),
            lambda found: json.dumps(found),
            lambda text: {k: (v[0], v[1]) for k, v in json.loads(text).items()},
        )
        return comparison_figure(comparison_of(city, region, kpi_id, means), normal_lang(lang))

    @app.callback(
        Output(RANGE_APPLY, "href"),
        Input(RANGE, "start_date"),
        Input(RANGE, "end_date"),
        State(URL, "search"),
        prevent_initial_call=True,
    )
    @logged
    async def range_link(start, end, search):
        if not start or not end:
            raise PreventUpdate
        query = parse_query(search, city)
        first, last = sorted((start[:10], end[:10]))
        return f"/kpi{query.search(periode='custom', dari=first, sampai=last)}"
