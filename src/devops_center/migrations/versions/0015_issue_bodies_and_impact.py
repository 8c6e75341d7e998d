"""GitHub issues keep the start of their body and an impact score

The mirror of GitHub issues keeps the first 16 KB of each issue's body (the stack traces
it quotes are scored against the architecture) and the issue's impact score: the task
weight from the pull requests that close it and the stack traces it quotes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Columns added in place: no batch rebuild of the table on SQLite.
    op.add_column("github_issues", sa.Column("body", sa.Text(), nullable=True))
    op.add_column("github_issues", sa.Column("impact_score", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), as 0014 does.
    for column in ("impact_score", "body"):
        op.execute(f"ALTER TABLE github_issues DROP COLUMN {column}")
