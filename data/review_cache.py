"""The mayor's review reads SQL once a minute per query, whatever the number of executives.

Every executive who opens `/kpi` or changes its period asks for the same few queries (a period
× an area); each is a dozen bucketed SQL reads (data/kpi_report.py: `read_history`). Under load
those reads, in the web workers, took the CPU the video routes needed (bench/load: 500 users).
So what they return is kept in Redis for REVIEW_CACHE_TTL_S, keyed by the query and the minute,
and shared by every worker: web processes keep nothing of their own. Live values are not cached
(they come from Redis on each call), and a back-fill or an OPD's entry bumps the history
revision, so the review never waits a minute for a change a person made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from sqlalchemy import Engine

from data.city import City
from data.kpi_report import ReviewHistory, ReviewQuery, read_history
from data.live_keys import REVIEW_CACHE_TTL_S
from data.live_reader import LiveReader

log = logging.getLogger(__name__)

T = TypeVar("T")


def query_part(query: ReviewQuery, with_comparison: bool) -> str:
    """The query as part of a key: every field that changes what SQL is asked."""
    fields = (query.wilayah, query.periode, query.dari, query.sampai, query.kpi)
    return "|".join(fields) + ("|c" if with_comparison else "")


async def cached(
    reader: LiveReader,
    part: str,
    now: float,
    read: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[bytes], T],
) -> T:
    """`read()` (blocking, run in a thread) through the shared cache. Without Redis, SQL is
    read directly: the review stays up, only dearer."""
    client = reader.client
    key = ""
    try:
        revision = await client.get(reader.keys.history_revision)
        key = reader.keys.review_cache((revision or b"0").decode(), int(now // 60), part)
        hit = await client.get(key)
        if hit is not None:
            return decode(hit)
    except redis.RedisError as exc:
        log.warning("review cache: Redis unavailable, reading SQL: %s", exc)
    except (ValueError, KeyError, TypeError) as exc:  # a copy of an older release's shape
        log.warning("review cache: unreadable entry %s, reading SQL: %s", key, exc)
    value = await asyncio.to_thread(read)
    if key:
        try:
            await client.set(key, encode(value), ex=REVIEW_CACHE_TTL_S)
        except redis.RedisError as exc:
            log.warning("review cache: not stored: %s", exc)
    return value


async def review_history(
    reader: LiveReader,
    engine: Engine,
    city: City,
    query: ReviewQuery,
    with_comparison: bool = True,
    now: float | None = None,
) -> ReviewHistory:
    now = time.time() if now is None else now
    return await cached(
        reader,
        query_part(query, with_comparison),
        now,
        lambda: read_history(engine, city, query, now, with_comparison),
        ReviewHistory.to_json,
        ReviewHistory.from_json,
    )
