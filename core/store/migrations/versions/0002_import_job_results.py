"""removal results name their import job and record an attempt in flight

Revision ID: 0002_import_job_results
Revises: 0001

`removal_results.import_job_id` replaces finding a job's addresses by their message text
("import job <JobId>"): existing rows are backfilled from that text. `attempted_at` marks
a DeleteSuppressedDestination call whose answer was never recorded; before this revision
the only trace of one was a pending result with attempts counted, so those rows get it.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002_import_job_results"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC_DATETIME = (
    sa.DateTime()
    .with_variant(mysql.DATETIME(fsp=6), "mariadb")
    .with_variant(mysql.DATETIME(fsp=6), "mysql")
)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

results = sa.table(
    "removal_results",
    sa.column("id", ID),
    sa.column("run_id", ID),
    sa.column("outcome", sa.String),
    sa.column("message", sa.Text),
    sa.column("attempts", sa.Integer),
    sa.column("updated_at", UTC_DATETIME),
    sa.column("attempted_at", UTC_DATETIME),
    sa.column("import_job_id", ID),
)
jobs = sa.table("import_jobs", sa.column("id", ID), sa.column("run_id", ID), sa.column("job_id"))


def upgrade() -> None:
    with op.batch_alter_table("removal_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempted_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("import_job_id", ID, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_removal_results_import_job_id"), ["import_job_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_removal_results_import_job_id_import_jobs"),
            "import_jobs",
            ["import_job_id"],
            ["id"],
        )
    _backfill()


def _backfill() -> None:
    """Each job's addresses by the message the earlier code wrote ("import job <JobId>",
    later "import job <JobId> completed ..." or "import job <JobId> FAILED: ..."), matched
    in Python so job ids are never read as LIKE patterns. A few rows per run: cheap."""
    bind = op.get_bind()
    for job in bind.execute(sa.select(jobs.c.id, jobs.c.run_id, jobs.c.job_id)).all():
        text = f"import job {job.job_id}"
        bind.execute(
            results.update()
            .where(
                results.c.run_id == job.run_id,
                results.c.import_job_id.is_(None),
                sa.or_(
                    results.c.message == text,
                    results.c.message.startswith(f"{text} ", autoescape=True),
                ),
            )
            .values(import_job_id=job.id)
        )
    bind.execute(
        results.update()
        .where(results.c.outcome == "pending", results.c.attempts > 0)
        .values(attempted_at=results.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("removal_results", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_removal_results_import_job_id_import_jobs"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_removal_results_import_job_id"))
        batch_op.drop_column("import_job_id")
        batch_op.drop_column("attempted_at")
