"""dead letters record their entry point and the least check a retry must apply

Revision ID: 0003_ingest_trust
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_ingest_trust"
down_revision: Union[str, Sequence[str], None] = "0002_import_job_results"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Older letters say where they came from only in `source`. "sqs:" is left unknown (NULL):
# both poll-sqs and the SQS-triggered Lambda wrote it, and an unknown entry point is retried
# under the strictest configured mode.
PREFIXES = {"upload:%": "upload", "file:%": "file", "lambda:%": "lambda"}


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("entry_point", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("verify_mode", sa.String(length=16), nullable=True))
    letters = sa.table(
        "dead_letters",
        sa.column("source", sa.String),
        sa.column("reason_code", sa.String),
        sa.column("entry_point", sa.String),
        sa.column("verify_mode", sa.String),
    )
    for pattern, entry_point in PREFIXES.items():
        op.execute(
            letters.update()
            .where(letters.c.source.like(pattern))
            .values(entry_point=entry_point)
        )
    # A letter refused for its signature is only ever resolved by one that verifies.
    op.execute(
        letters.update()
        .where(letters.c.reason_code == "bad_signature")
        .values(verify_mode="required")
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("verify_mode")
        batch.drop_column("entry_point")
