"""bug comments and the notification setting

The conversation on a bug (the reporter's and the team's comments, internal notes,
GitHub issue comments mirrored both ways, an attachment each) and how each person hears
about their bugs (Telegram or not at all).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:08:54
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bug_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bug_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("from_team", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("github_login", sa.String(length=100), nullable=True),
        sa.Column("github_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("attachment_key", sa.String(length=100), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('web','telegram','api','github')", name=op.f("ck_bug_comments_source")
        ),
        sa.CheckConstraint(
            "NOT (internal AND NOT from_team)", name=op.f("ck_bug_comments_internal_is_team")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_bug_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bug_id"],
            ["bug_logs.id"],
            name=op.f("fk_bug_comments_bug_id_bug_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bug_comments")),
        sa.UniqueConstraint("client_token", name=op.f("uq_bug_comments_client_token")),
        sa.UniqueConstraint("github_comment_id", name=op.f("uq_bug_comments_github_comment_id")),
    )
    with op.batch_alter_table("bug_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bug_comments_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            "ix_bug_comments_bug_created", ["bug_id", "created_at", "id"], unique=False
        )

    # Never a batch copy of users on SQLite: recreating the table with foreign keys on
    # would cascade into every table that refers to it. A column with its own CHECK can
    # be added in place there; PostgreSQL adds the constraint by name.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE users ADD COLUMN notify_via VARCHAR(10) DEFAULT 'telegram' NOT NULL"
            " CONSTRAINT ck_users_notify_via CHECK (notify_via IN ('telegram','none'))"
        )
    else:
        op.add_column(
            "users",
            sa.Column(
                "notify_via", sa.String(length=10), server_default="telegram", nullable=False
            ),
        )
        op.create_check_constraint(
            op.f("ck_users_notify_via"), "users", "notify_via IN ('telegram','none')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users DROP COLUMN notify_via")  # in place, as added
    else:
        op.drop_constraint(op.f("ck_users_notify_via"), "users", type_="check")
        op.drop_column("users", "notify_via")

    with op.batch_alter_table("bug_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_bug_comments_bug_created")
        batch_op.drop_index(batch_op.f("ix_bug_comments_author_id"))

    op.drop_table("bug_comments")
