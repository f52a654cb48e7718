"""Alembic migrations: the models and the migrations agree, and a first-release database is
upgraded with its history kept."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from data.db.engine import make_engine
from data.db.migrate import current_revision, upgrade_schema
from data.db.models import Base


def test_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine)
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_first_release_database_is_upgraded_keeping_its_history(sqlite_url):
    # The first release only ever ran on SQLite.
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:  # the walking skeleton's schema, made without migrations
        conn.execute(
            text(
                "CREATE TABLE readings (sensor_id VARCHAR(64), ts_ms BIGINT, "
                "value FLOAT, PRIMARY KEY (sensor_id, ts_ms))"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE kpi_values (kpi_id VARCHAR(64), ts_ms BIGINT, "
                "value FLOAT, PRIMARY KEY (kpi_id, ts_ms))"
            )
        )
        conn.execute(text("INSERT INTO readings VALUES ('aq-cambai', 1790000000000, 21.5)"))
    upgrade_schema(engine)
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT sensor_id, quantity, value FROM readings")).one()
    assert tuple(row) == ("aq-cambai", "", 21.5)
    assert "dead_letters" in inspect(engine).get_table_names()


def test_upgrade_is_idempotent(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine)
    upgrade_schema(engine)
    assert current_revision(engine) == "0005"


def test_alerts_from_revision_0002_are_kept_with_a_uid(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alerts (city, rule, subject, severity, status, message, opened_ms, "
                "updated_ms) VALUES ('prabumulih', 'pm25', 'aq-cambai', 'warning', 'open', "
                "'PM2.5 tinggi', 1790000000000, 1790000000000)"
            )
        )
    upgrade_schema(engine)
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, uid, message, cleared_ms FROM alerts")).one()
    assert row.uid == f"a{row.id}"
    assert (row.message, row.cleared_ms) == ("PM2.5 tinggi", None)
    columns = {c["name"] for c in inspect(engine).get_columns("alerts")}
    assert {"acknowledged_by", "resolved_ms", "lat", "lng", "note"} <= columns
