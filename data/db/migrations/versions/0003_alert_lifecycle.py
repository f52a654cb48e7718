"""Alerts (issue 5): an evaluator-made uid, where the subject is (for the map), the level and
value behind the alert, and its lifecycle: escalated, cleared, acknowledged, assigned, resolved.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("kind", sa.String(32)),
    ("subject_name", sa.String(160)),
    ("region_kode", sa.String(16)),
    ("lat", sa.Float),
    ("lng", sa.Float),
    ("level_label", sa.String(60)),
    ("value", sa.Float),
    ("message_en", sa.Text),
    ("escalated_ms", sa.BigInteger),
    ("cleared_ms", sa.BigInteger),
    ("acknowledged_ms", sa.BigInteger),
    ("acknowledged_by", sa.String(64)),
    ("assigned_by", sa.String(64)),
    ("resolved_ms", sa.BigInteger),
    ("resolved_by", sa.String(64)),
    ("note", sa.Text),
)


def upgrade() -> None:
    # batch_alter_table: SQLite rebuilds the table (it cannot add a NOT NULL column or a unique
    # constraint in place); PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
        for name, kind in NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    # The table was unused before this revision, but a row someone made by hand keeps a uid.
    op.execute("UPDATE alerts SET uid = 'a' || CAST(id AS VARCHAR(20)) WHERE uid IS NULL")
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_alerts_uid", ["uid"])
        batch.create_index("ix_alerts_city_rule_subject", ["city", "rule", "subject"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_city_rule_subject")
        batch.drop_constraint("uq_alerts_uid", type_="unique")
        for name, _kind in reversed(NEW_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("uid")
