"""alerts: daily counts per configuration set (backfilled from the facts), reputation points
per configuration set, alerts and their history

Revision ID: 0007_alerts
Revises: 0005_job_runs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007_alerts"
down_revision: str | Sequence[str] | None = "0005_job_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# core.policy.NOT_COUNTED_SUBTYPES, frozen here as the migration was written.
NOT_COUNTED = ["onaccountsuppressionlist"]


def upgrade() -> None:
    op.create_table(
        "daily_config_set_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("configuration_set", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("counts_toward_rate", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "configuration_set", "kind", "counts_toward_rate",
            name=op.f("pk_daily_config_set_counts"),
        ),
    )  # fmt: skip
    op.create_table(
        "config_set_metric_points",
        sa.Column("configuration_set", sa.String(128), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("pulled_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "configuration_set", "metric", "period_seconds", "at",
            name=op.f("pk_config_set_metric_points"),
        ),
    )  # fmt: skip
    op.create_table(
        "alerts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("open_key", sa.String(400), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", LongText, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("last_notified_at", UtcDateTime, nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("acknowledged_at", UtcDateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(320), nullable=True),
        sa.Column("snoozed_until", UtcDateTime, nullable=True),
        sa.Column("snoozed_by", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    op.create_index(op.f("ix_alerts_rule"), "alerts", ["rule"])
    op.create_index(op.f("ix_alerts_status"), "alerts", ["status"])
    op.create_index(op.f("ix_alerts_opened_at"), "alerts", ["opened_at"])
    op.create_table(
        "alert_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("alert_id", Id, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("detail", LongText, nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"])
    _backfill_config_set_counts()


def _backfill_config_set_counts() -> None:
    """The per-set daily counts of every fact already stored, in one grouped statement."""
    bind = op.get_bind()
    facts = sa.table(
        "facts",
        sa.column("occurred_at", sa.DateTime),
        sa.column("configuration_set", sa.String),
        sa.column("kind", sa.String),
        sa.column("counts_toward_bounce_rate", sa.Boolean),
        sa.column("complaint_subtype", sa.String),
    )
    day: sa.ColumnElement[object] = (
        sa.func.date(facts.c.occurred_at)
        if bind.dialect.name == "sqlite"
        else sa.cast(facts.c.occurred_at, sa.Date)
    )
    complaint_counts = sa.func.lower(sa.func.coalesce(facts.c.complaint_subtype, "")).not_in(
        NOT_COUNTED
    )
    counted = sa.case(
        (facts.c.kind == "bounce", facts.c.counts_toward_bounce_rate),
        (facts.c.kind == "complaint", complaint_counts),
        else_=sa.true(),
    )
    # Grouped over a subquery: PostgreSQL would not match a CASE with bound parameters in
    # the select list to the same CASE in GROUP BY.
    rows = sa.select(
        day.label("day"),
        facts.c.configuration_set.label("configuration_set"),
        facts.c.kind.label("kind"),
        counted.label("counts_toward_rate"),
    ).where(facts.c.configuration_set.is_not(None), facts.c.configuration_set != "")
    inner = rows.subquery("counted_facts")
    grouped = sa.select(
        inner.c.day,
        inner.c.configuration_set,
        inner.c.kind,
        inner.c.counts_toward_rate,
        sa.func.count().label("count"),
    ).group_by(inner.c.day, inner.c.configuration_set, inner.c.kind, inner.c.counts_toward_rate)
    counts = sa.table(
        "daily_config_set_counts",
        sa.column("day"),
        sa.column("configuration_set"),
        sa.column("kind"),
        sa.column("counts_toward_rate"),
        sa.column("count"),
    )
    op.execute(
        counts.insert().from_select(
            ["day", "configuration_set", "kind", "counts_toward_rate", "count"], grouped
        )
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    for name in ("opened_at", "status", "rule"):
        op.drop_index(op.f(f"ix_alerts_{name}"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("config_set_metric_points")
    op.drop_table("daily_config_set_counts")
