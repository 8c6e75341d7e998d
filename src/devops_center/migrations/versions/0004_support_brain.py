"""support brain: brain_documents, brain_state, faq_translations

Existing FAQ entries keep their language unless their text has no letter at all of
that language's script (an entry marked Russian written in Latin letters only becomes
English, and the other way round).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:00:47.543132
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def upgrade() -> None:
    op.create_table(
        "brain_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('faq','bug','changelog')", name=op.f("ck_brain_documents_kind")
        ),
        sa.CheckConstraint("language IN ('ru','en')", name=op.f("ck_brain_documents_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brain_documents")),
        sa.UniqueConstraint("kind", "source_id", name=op.f("uq_brain_documents_kind_source_id")),
    )
    op.create_table(
        "brain_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("updated_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brain_state")),
    )
    op.create_table(
        "faq_translations",
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("translation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", devops_center.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "original_id <> translation_id", name=op.f("ck_faq_translations_distinct")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["faq_entries.id"],
            name=op.f("fk_faq_translations_original_id_faq_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["translation_id"],
            ["faq_entries.id"],
            name=op.f("fk_faq_translations_translation_id_faq_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("original_id", name=op.f("pk_faq_translations")),
        sa.UniqueConstraint("translation_id", name=op.f("uq_faq_translations_translation_id")),
    )
    _fix_languages(op.get_bind())


def _fix_languages(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, language, question, answer FROM faq_entries"))
    for faq_id, language, question, answer in list(rows):
        text = f"{question} {answer}"
        has_cyrillic, has_latin = bool(_CYRILLIC.search(text)), bool(_LATIN.search(text))
        detected = language
        if language == "ru" and has_latin and not has_cyrillic:
            detected = "en"
        elif language == "en" and has_cyrillic and not has_latin:
            detected = "ru"
        if detected != language:
            bind.execute(
                sa.text("UPDATE faq_entries SET language = :l WHERE id = :i"),
                {"l": detected, "i": faq_id},
            )


def downgrade() -> None:
    op.drop_table("faq_translations")
    op.drop_table("brain_state")
    op.drop_table("brain_documents")
