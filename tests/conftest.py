"""Shared fixtures: a real Redis server (started here, never skipped), the demo city, SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from data.city import City, load_city
from data.db.engine import make_engine
from data.live_store import LiveStore, connect
from data.redis_server import EmbeddedRedis
from runner import prepare_database
from settings import PROJECT_ROOT
from tests.pg_server import TemporaryPostgres

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def live_store(redis_url: str) -> Iterator[LiveStore]:
    client = connect(redis_url)
    yield LiveStore(client, "komando:test")
    client.close()


@pytest.fixture(scope="session")
def city() -> City:
    return load_city(PROJECT_ROOT / "data" / "cities" / "prabumulih")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'komando.sqlite3'}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    postgres_server.start()  # a no-op unless an earlier test left it stopped or killed
    postgres_server.reset_database()
    return postgres_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Persistence tests run against both databases Komando supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'komando.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url: str, city: City) -> Iterator[Engine]:
    """A migrated database (SQLite or PostgreSQL) holding the demo city's record."""
    engine = make_engine(database_url)
    prepare_database(engine, city)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
