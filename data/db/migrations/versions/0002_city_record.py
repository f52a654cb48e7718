"""The city's record: regions, OPDs, schools, sensors, cameras, quantities on readings, KPI
values per region and period, alerts, dead letters, audit trail and API keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("kode", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_kode", sa.String(16), index=True),
        sa.Column("city", sa.String(40), nullable=False, index=True),
    )
    op.create_table(
        "opds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("city", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("short_name", sa.String(40), nullable=False),
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("city", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("region_kode", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lng", sa.Float, nullable=False),
    )
    op.create_table(
        "sensors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("city", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("region_kode", sa.String(16), nullable=False, index=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lng", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("city", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region_kode", sa.String(16), nullable=False),
        sa.Column("school_id", sa.String(64), sa.ForeignKey("schools.id")),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lng", sa.Float, nullable=False),
    )

    # Readings gain a quantity ('' = the sensor's primary quantity), part of the key.
    op.create_table(
        "readings_v2",
        sa.Column("sensor_id", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.String(32), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.execute(
        "INSERT INTO readings_v2 (sensor_id, quantity, ts_ms, value) "
        "SELECT sensor_id, '', ts_ms, value FROM readings"
    )
    op.drop_table("readings")
    op.rename_table("readings_v2", "readings")
    if op.get_bind().dialect.name == "postgresql":  # keep the conventional key name
        op.execute("ALTER INDEX readings_v2_pkey RENAME TO readings_pkey")

    # KPI values gain a region ('' = the whole city), a period and their provenance.
    op.create_table(
        "kpi_values_v2",
        sa.Column("kpi_id", sa.String(64), primary_key=True),
        sa.Column("region_kode", sa.String(16), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("period", sa.String(16)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("entered_by", sa.String(64)),
    )
    op.execute(
        "INSERT INTO kpi_values_v2 (kpi_id, region_kode, ts_ms, value, source) "
        "SELECT kpi_id, '', ts_ms, value, 'computed' FROM kpi_values"
    )
    op.drop_table("kpi_values")
    op.rename_table("kpi_values_v2", "kpi_values")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX kpi_values_v2_pkey RENAME TO kpi_values_pkey")

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("city", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("opened_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("assignee", sa.String(64)),
    )
    op.create_index("ix_alerts_city_status_opened", "alerts", ["city", "status", "opened_ms"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_ms", sa.BigInteger, nullable=False, index=True),
        sa.Column("source", sa.String(32), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False, index=True),
        sa.Column("actor", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(200), nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger),
    )


def downgrade() -> None:
    for table in ("api_keys", "audit_log", "dead_letters", "alerts"):
        op.drop_table(table)
    op.drop_table("kpi_values")
    op.create_table(
        "kpi_values",
        sa.Column("kpi_id", sa.String(64), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.drop_table("readings")
    op.create_table(
        "readings",
        sa.Column("sensor_id", sa.String(64), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    for table in ("cameras", "sensors", "schools", "opds", "regions"):
        op.drop_table(table)
