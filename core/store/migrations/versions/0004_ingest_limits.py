"""ingest limits: run status and cut counts, text over 64 KB on MySQL/MariaDB

Revision ID: 0004_ingest_limits
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004_ingest_limits"
down_revision: str | Sequence[str] | None = "0003_ingest_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns that may hold more than TEXT's 64 KB on MySQL/MariaDB (elsewhere TEXT is unbounded).
LONG_TEXT = [
    ("facts", "tags", True),
    ("facts", "detail", True),
    ("sns_confirmations", "message", True),
    ("confirmations", "note", False),
    ("confirmations", "revoke_note", True),
    ("ingestion_runs", "error", True),
]


def upgrade() -> None:
    with op.batch_alter_table("ingestion_runs") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="finished")
        )
        for name in ("truncated", "cut", "files_cut"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("notes", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"))
        )
    if op.get_bind().dialect.name in {"mysql", "mariadb"}:
        for table, column, nullable in LONG_TEXT:
            op.alter_column(
                table, column, type_=mysql.MEDIUMTEXT(), existing_type=sa.Text(),
                existing_nullable=nullable,
            )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name in {"mysql", "mariadb"}:
        for table, column, nullable in LONG_TEXT:
            op.alter_column(
                table, column, type_=sa.Text(), existing_type=mysql.MEDIUMTEXT(),
                existing_nullable=nullable,
            )  # fmt: skip
    with op.batch_alter_table("ingestion_runs") as batch:
        for name in ("notes", "files_cut", "cut", "truncated", "status"):
            batch.drop_column(name)
