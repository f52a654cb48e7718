"""Schema migrations with Alembic, run programmatically on start (`upgrade_schema`)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision`. A database made by the first release (before
    migrations existed) is recognised and stamped, then upgraded like any other."""
    config = alembic_config(engine)
    tables = set(inspect(engine).get_table_names())
    if "alembic_version" not in tables and "readings" in tables:
        log.info("database predates migrations: stamping it as revision 0001")
        command.stamp(config, "0001")
    command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
