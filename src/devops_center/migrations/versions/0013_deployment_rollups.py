"""deployment roll-ups for the DORA report

Each commit's first successful deployment per service and environment with its lead
time, and per service, environment and local day the counts and values the DORA
figures are made of; filled from the existing deployments on upgrade (days in
DCC_TIMEZONE when set, else UTC; ``dcc dora rebuild`` redoes them in another zone).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:30:00
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commit_first_deploys",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=50), nullable=False),
        sa.Column("sha", sa.String(length=40), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("started_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lead_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_commit_first_deploys_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service", "environment", "sha", name=op.f("pk_commit_first_deploys")
        ),
    )
    with op.batch_alter_table("commit_first_deploys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commit_first_deploys_deployment_id", ["deployment_id"], unique=False
        )
        batch_op.create_index(
            "ix_commit_first_deploys_env_started",
            ["environment", "started_at", "lead_us"],
            unique=False,
        )
        batch_op.create_index(
            "ix_commit_first_deploys_service_env_started",
            ["service", "environment", "started_at", "lead_us"],
            unique=False,
        )
    op.create_table(
        "deployment_days",
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("success", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("rolled_back", sa.Integer(), nullable=False),
        sa.Column("rework", sa.Integer(), nullable=False),
        sa.Column("leads", sa.Text(), nullable=True),
        sa.Column("durations", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("service", "environment", "day", name=op.f("pk_deployment_days")),
    )
    with op.batch_alter_table("deployment_days", schema=None) as batch_op:
        batch_op.create_index("ix_deployment_days_env_day", ["environment", "day"], unique=False)
    op.create_table(
        "deployment_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rebuilt_at", devops_center.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_rollup_state")),
    )
    # The roll-ups of the deployments already stored, by the code that keeps them.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from devops_center.deployments.rebuild import rebuild

    zone = os.environ.get("DCC_TIMEZONE") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = "UTC"
    rebuild(op.get_bind(), zone)


def downgrade() -> None:
    op.drop_table("deployment_rollup_state")
    with op.batch_alter_table("deployment_days", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_days_env_day")
    op.drop_table("deployment_days")
    with op.batch_alter_table("commit_first_deploys", schema=None) as batch_op:
        batch_op.drop_index("ix_commit_first_deploys_service_env_started")
        batch_op.drop_index("ix_commit_first_deploys_env_started")
        batch_op.drop_index("ix_commit_first_deploys_deployment_id")
    op.drop_table("commit_first_deploys")
