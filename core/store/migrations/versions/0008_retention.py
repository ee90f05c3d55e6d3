"""retention: the keys of facts stored as counts only

Revision ID: 0008_retention
Revises: 0007_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008_retention"
down_revision: str | Sequence[str] | None = "0007_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fact_keys",
        sa.Column(
            "dedup_key",
            sa.LargeBinary(32).with_variant(mysql.BINARY(32), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_fact_keys")),
    )
    op.create_index("ix_fact_keys_kind_occurred", "fact_keys", ["kind", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_fact_keys_kind_occurred", table_name="fact_keys")
    op.drop_table("fact_keys")
