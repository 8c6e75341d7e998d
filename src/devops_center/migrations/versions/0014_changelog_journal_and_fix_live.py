"""changelog journal and "your fix is live"

Changelog entries know their pull request (one each), its link and author, the
deployment that shipped them and an owner's user-facing line in Russian and English;
the impact score becomes a fraction in [0, 1]. A bug keeps its impact score and the
deployment that shipped its fix (its reporter is told once). Users may carry their
GitHub login.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:09:23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bug_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("impact_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("fix_deployment_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fix_live_at", devops_center.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("changelog_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pull_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("author_login", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("deployment_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("deployed_at", devops_center.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("user_line_ru", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("user_line_en", sa.String(length=300), nullable=True))
        batch_op.alter_column(
            "impact_score", existing_type=sa.INTEGER(), type_=sa.Float(), existing_nullable=True
        )
        batch_op.create_index("ix_changelog_entries_commit_sha", ["commit_sha"], unique=False)
        batch_op.create_index("ix_changelog_entries_component", ["component"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_changelog_entries_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index("ix_changelog_entries_github_issue", ["github_issue"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_changelog_entries_pull_request_id"), ["pull_request_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_changelog_entries_deployment_id_deployments"),
            "deployments",
            ["deployment_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_changelog_entries_pull_request_id_pull_requests"),
            "pull_requests",
            ["pull_request_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # Columns added in place and a unique index, not a constraint: a batch rebuild of
    # users or bug_logs on SQLite would cascade the old table's drop (see below).
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("github_login", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_users_github_login", ["github_login"], unique=True)


def _drop_columns(table: str, *columns: str) -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 has it): a batch rebuild would drop
    # the old table, and SQLite's foreign keys would cascade that into every table
    # referring to users or bug_logs.
    for column in columns:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def downgrade() -> None:
    op.drop_index("ix_users_github_login", table_name="users")
    _drop_columns("users", "github_login")

    # The fraction becomes the whole percentage the integer column can hold.
    op.execute(
        "UPDATE changelog_entries SET impact_score = round(impact_score * 100) "
        "WHERE impact_score IS NOT NULL"
    )
    with op.batch_alter_table("changelog_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_changelog_entries_pull_request_id_pull_requests"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_changelog_entries_deployment_id_deployments"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_changelog_entries_pull_request_id"), type_="unique")
        batch_op.drop_index("ix_changelog_entries_github_issue")
        batch_op.drop_index(batch_op.f("ix_changelog_entries_deployment_id"))
        batch_op.drop_index("ix_changelog_entries_component")
        batch_op.drop_index("ix_changelog_entries_commit_sha")
        batch_op.alter_column(
            "impact_score", existing_type=sa.Float(), type_=sa.INTEGER(), existing_nullable=True
        )
        batch_op.drop_column("user_line_en")
        batch_op.drop_column("user_line_ru")
        batch_op.drop_column("deployed_at")
        batch_op.drop_column("deployment_id")
        batch_op.drop_column("author_login")
        batch_op.drop_column("url")
        batch_op.drop_column("pull_number")
        batch_op.drop_column("pull_request_id")

    _drop_columns("bug_logs", "fix_live_at", "fix_deployment_id", "impact_score")
