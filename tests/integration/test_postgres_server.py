"""The test PostgreSQL helper against the real server: SQLAlchemy + psycopg over TCP, a clean stop,
a SIGKILL crash, and committed rows surviving both.

These tests stop and kill their server, so they use one of their own (module-scoped) rather than
the session-wide server the other tests share.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.pg_server import TemporaryPostgres


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def pg(own_postgres: TemporaryPostgres) -> TemporaryPostgres:
    # A test that failed half-way may have left the server down; the next one starts it again.
    return own_postgres.start()


@pytest.fixture
def engine(pg: TemporaryPostgres) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url)
    yield engine
    engine.dispose()


def _make_table(engine: Engine, name: str) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sensor", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    table.drop(engine, checkfirst=True)
    table.create(engine)
    return table


def _rows(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"id": i, "sensor": f"aq-{i % 7}", "value": i / 4} for i in range(start, start + n)]


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_connects_as_the_app_role_over_tcp_and_round_trips_rows(pg, engine):
    with engine.connect() as conn:
        who = conn.execute(
            sa.text(
                "SELECT current_user, current_database(), host(inet_server_addr()),"
                " inet_server_port(), current_setting('fsync'),"
                " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            )
        ).one()
    assert tuple(who) == ("komando", "komando", "127.0.0.1", pg.port, "on", False)
    assert engine.dialect.driver == "psycopg"
    assert engine.dialect.server_version_info >= (15,)

    table = _make_table(engine, "round_trip")
    with engine.begin() as conn:
        # A parameter list is an executemany.
        conn.execute(
            sa.text("INSERT INTO round_trip (id, sensor, value) VALUES (:id, :sensor, :value)"),
            _rows(500),
        )
    with engine.connect() as conn:
        got = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    assert [dict(row) for row in got] == _rows(500)


def test_stopped_server_refuses_queries_and_keeps_data_when_started(pg, engine):
    table = _make_table(engine, "survives_stop")
    with engine.begin() as conn:
        conn.execute(table.insert(), _rows(200))
    pooled = engine.connect()  # open across the stop: fast shutdown ends its session

    pg.stop()
    assert not pg.running
    with pytest.raises(sa.exc.OperationalError):
        pooled.execute(sa.select(1))
    pooled.close()
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.execute(sa.select(1))

    pg.start()
    assert _count(engine, table) == 200
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT inet_server_port()")).scalar_one() == pg.port


@pytest.mark.parametrize("whole_server", [True, False], ids=["all-processes", "postmaster-only"])
def test_killed_server_recovers_every_committed_row_and_no_uncommitted_one(
    pg, engine, whole_server
):
    table = _make_table(engine, "survives_kill")
    for batch in range(10):
        with engine.begin() as conn:
            conn.execute(table.insert(), _rows(100, start=batch * 100))
    in_flight = engine.connect()
    in_flight.begin()
    in_flight.execute(table.insert(), _rows(50, start=10_000))  # never committed
    old_pid = pg.pid
    log_size = pg.log_path.stat().st_size

    pg.kill(whole_server=whole_server)
    assert not pg.running
    with pytest.raises(sa.exc.OperationalError):
        in_flight.execute(sa.select(1))
    in_flight.invalidate()
    in_flight.close()

    pg.start()
    assert pg.pid != old_pid
    engine.dispose()  # the pooled connections died with the old server
    assert _count(engine, table) == 1000
    with engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars().all()
    assert ids == list(range(1000))
    # It really was a crash: the restart ran recovery rather than finding a clean shutdown.
    assert "not properly shut down; automatic recovery in progress" in pg.log_tail(
        lines=200, since=log_size
    )
