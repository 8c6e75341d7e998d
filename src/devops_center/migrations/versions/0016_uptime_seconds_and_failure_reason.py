"""time-weighted uptime and deployment failure reasons

Hourly check roll-ups carry the seconds their results held (observed, and up), so
uptime is time up / time observed rather than a count of probes; roll-ups made before
keep NULL and are counted one interval per result. A deployment keeps why it failed
(``failure_reason``, ≤ 500 characters).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_rollups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("observed_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("up_seconds", sa.Float(), nullable=True))

    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("failure_reason")

    with op.batch_alter_table("check_rollups", schema=None) as batch_op:
        batch_op.drop_column("up_seconds")
        batch_op.drop_column("observed_seconds")
