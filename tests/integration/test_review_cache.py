"""The mayor's review through the shared cache (data/review_cache.py), on real Redis and SQLite
or PostgreSQL: the cached reads give the same review as SQL, a second executive in the same
minute costs no SQL, a new minute, a back-fill or an OPD's entry reads SQL again, and without
Redis the review still answers from SQL."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import event

from data.backfill import backfill_history
from data.kpi_report import build_review, parse_query, read_history
from data.live_reader import LiveReader
from data.review_cache import review_history
from tests.ports import free_port


@pytest.fixture
def statements(engine):
    """SQL statements the engine runs, counted."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def numbers(review) -> list[tuple]:
    return [
        (r.kpi.id, r.value, r.previous, r.status, r.trend, r.latest, r.series, r.freshness.late)
        for r in review.rows
    ] + [review.comparison.regions if review.comparison else None]


def test_the_cached_review_is_the_review_and_costs_no_sql_twice(
    engine, city, live_store, redis_url, statements
):
    backfill_history(engine, city)
    reader = LiveReader(redis_url, live_store.keys.namespace)
    query = parse_query("?wilayah=16.74.05&periode=30d", city)
    now = (time.time() // 60) * 60 + 5  # early in a minute: the next calls stay in it

    async def scenario():
        first = await review_history(reader, engine, city, query, now=now)
        sql_first = len(statements)
        second = await review_history(reader, engine, city, query, now=now + 30)
        sql_second = len(statements) - sql_first
        await reader.close()
        return first, second, sql_first, sql_second

    first, second, sql_first, sql_second = asyncio.run(scenario())
    assert sql_first >= len(city.config.kpis)  # a series per KPI, at least
    assert sql_second == 0  # the same minute: from Redis
    direct = build_review(engine, city, query, now)
    cached = build_review(None, city, query, now + 30, history=second)
    assert numbers(cached) == numbers(direct)  # nothing lost through JSON
    assert second.comparison_means and second.read_at == first.read_at == now


def test_a_new_minute_or_a_history_change_reads_sql_again(
    engine, city, live_store, redis_url, statements
):
    backfill_history(engine, city)
    reader = LiveReader(redis_url, live_store.keys.namespace)
    query = parse_query("?periode=7d", city)
    now = (time.time() // 60) * 60 + 5

    async def sql_for(at: float) -> int:
        before = len(statements)
        await review_history(reader, engine, city, query, now=at)
        return len(statements) - before

    async def scenario():
        counts = [await sql_for(now), await sql_for(now + 1)]
        counts.append(await sql_for(now + 60))  # the next minute
        live_store.history_changed()  # a back-fill or an OPD's entry
        counts.append(await sql_for(now + 61))
        counts.append(await sql_for(now + 62))
        await reader.close()
        return counts

    first, same, next_minute, changed, after = asyncio.run(scenario())
    assert first > 0 and next_minute > 0 and changed > 0
    assert same == 0 and after == 0


def test_without_redis_the_review_reads_sql(engine, city):
    backfill_history(engine, city)
    reader = LiveReader(f"redis://127.0.0.1:{free_port()}/0", "komando:test")  # nobody there
    query = parse_query("?periode=30d", city)
    now = time.time()

    async def scenario():
        history = await review_history(reader, engine, city, query, now=now)
        await reader.close()
        return history

    history = asyncio.run(scenario())
    assert history.series == read_history(engine, city, query, now).series
