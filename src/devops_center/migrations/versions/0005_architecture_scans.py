"""architecture scans

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:56:29.893524
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "arch_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("commit_sha", sa.String(length=40), nullable=True),
        sa.Column("scanned_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("module_count", sa.Integer(), nullable=False),
        sa.Column("edge_count", sa.Integer(), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("cycle_count", sa.Integer(), nullable=False),
        sa.Column("loc", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("externals", sa.JSON(), nullable=False),
        sa.Column("cycles", sa.JSON(), nullable=False),
        sa.Column("created_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arch_scans")),
        sa.UniqueConstraint("name", name=op.f("uq_arch_scans_name")),
    )
    op.create_table(
        "arch_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("package", sa.String(length=300), nullable=False),
        sa.Column("is_package", sa.Boolean(), nullable=False),
        sa.Column("loc", sa.Integer(), nullable=False),
        sa.Column("fan_in", sa.Integer(), nullable=False),
        sa.Column("fan_out", sa.Integer(), nullable=False),
        sa.Column("centrality", sa.Float(), nullable=False),
        sa.Column("in_cycle", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["arch_scans.id"],
            name=op.f("fk_arch_modules_scan_id_arch_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arch_modules")),
        sa.UniqueConstraint("scan_id", "name", name=op.f("uq_arch_modules_scan_id_name")),
    )
    with op.batch_alter_table("arch_modules", schema=None) as batch_op:
        batch_op.create_index("ix_arch_modules_scan_package", ["scan_id", "package"], unique=False)
        batch_op.create_index("ix_arch_modules_scan_path", ["scan_id", "path"], unique=False)

    op.create_table(
        "arch_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("parent", sa.String(length=300), nullable=True),
        sa.Column("modules", sa.Integer(), nullable=False),
        sa.Column("loc", sa.Integer(), nullable=False),
        sa.Column("fan_in", sa.Integer(), nullable=False),
        sa.Column("fan_out", sa.Integer(), nullable=False),
        sa.Column("centrality", sa.Float(), nullable=False),
        sa.Column("in_cycle", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["arch_scans.id"],
            name=op.f("fk_arch_packages_scan_id_arch_scans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arch_packages")),
        sa.UniqueConstraint("scan_id", "name", name=op.f("uq_arch_packages_scan_id_name")),
    )
    op.create_table(
        "arch_edges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("type_checking", sa.Boolean(), nullable=False),
        sa.Column("lazy", sa.Boolean(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            ["arch_scans.id"],
            name=op.f("fk_arch_edges_scan_id_arch_scans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["arch_modules.id"],
            name=op.f("fk_arch_edges_source_id_arch_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["arch_modules.id"],
            name=op.f("fk_arch_edges_target_id_arch_modules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arch_edges")),
        sa.UniqueConstraint(
            "source_id", "target_id", name=op.f("uq_arch_edges_source_id_target_id")
        ),
    )
    with op.batch_alter_table("arch_edges", schema=None) as batch_op:
        batch_op.create_index("ix_arch_edges_scan", ["scan_id"], unique=False)
        batch_op.create_index("ix_arch_edges_target", ["target_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("arch_edges", schema=None) as batch_op:
        batch_op.drop_index("ix_arch_edges_target")
        batch_op.drop_index("ix_arch_edges_scan")

    op.drop_table("arch_edges")
    op.drop_table("arch_packages")
    with op.batch_alter_table("arch_modules", schema=None) as batch_op:
        batch_op.drop_index("ix_arch_modules_scan_path")
        batch_op.drop_index("ix_arch_modules_scan_package")

    op.drop_table("arch_modules")
    op.drop_table("arch_scans")
