"""a revision stamp on each DORA roll-up day

Every write of a ``deployment_days`` row gives it a new random ``revision``, so a
process may keep the parsed rows of past days and reuse one as long as the database
still holds the same revision for it (one small read of the stamps instead of the
values): fresh after any write, any restore and in every process. Existing rows get a
random revision of their own (the column's default, also used by the rebuild).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        default = sa.text("(random())")  # a random 64-bit integer
    else:
        default = sa.text("(floor(random() * 9.2e18) - 4.6e18)::bigint")
    # SQLite adds a column with a non-constant default only by copying the table.
    with op.batch_alter_table(
        "deployment_days", schema=None, recreate="always" if sqlite else "auto"
    ) as batch_op:
        batch_op.add_column(
            sa.Column("revision", sa.BigInteger(), server_default=default, nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("deployment_days", schema=None) as batch_op:
        batch_op.drop_column("revision")
