"""state that has a meaning gets its own table; the key-value store becomes a cache

The old ``kv_store`` held caches, bot dialog state, GitHub sync state, issue-creation
intents, maintenance windows and the check roll-up watermark. Each of those moves to a
table of its own (data kept); what is left are droppable caches in ``cache_entries``,
where every entry expires. Jobs gain the ``parked`` status (unknown kind or a payload
that no longer validates). Webhook deliveries gain a content hash, so the same content
under a new delivery id is a repeat.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:57:17
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

import devops_center.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = devops_center.db.UTCDateTime(timezone=True)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def _table(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(name, *columns)


kv = _table(
    "kv_store",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("expires_at", UTC_DT),
    sa.column("updated_at", UTC_DT),
)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _jobs_status(values: str) -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch_op.create_check_constraint("status", f"status IN ({values})")


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_entries")),
    )
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cache_entries_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "bot_dialogs",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_dialogs")),
    )
    with op.batch_alter_table("bot_dialogs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_dialogs_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "check_rollup_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_until", UTC_DT, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_check_rollup_watermark_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_rollup_watermark")),
    )
    op.create_table(
        "github_sync_state",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("open_issues_etag", sa.String(length=200), nullable=True),
        sa.Column("last_sync_at", UTC_DT, nullable=True),
        sa.Column(
            "last_sync_not_modified", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTC_DT, nullable=True),
        sa.Column("paused_until", UTC_DT, nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("repo", name=op.f("pk_github_sync_state")),
    )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("starts_at", UTC_DT, nullable=False),
        sa.Column("ends_at", UTC_DT, nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_windows_ends_at", ["ends_at"], unique=False)
    op.create_table(
        "github_issue_requests",
        sa.Column("bug_id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["bug_id"],
            ["bug_logs.id"],
            name=op.f("fk_github_issue_requests_bug_id_bug_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bug_id", name=op.f("pk_github_issue_requests")),
    )
    _move_out_of_kv()
    op.drop_table("kv_store")
    _jobs_status("'pending','running','done','failed','parked'")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_webhook_deliveries_source_content_hash"), ["source", "content_hash"]
        )


def _move_out_of_kv() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(kv.c.key, kv.c.value, kv.c.expires_at)).all()
    live = {k: v for k, v, exp in rows if exp is None or _when_dt(exp) > now}
    cache_rows, dialogs, windows, requests = [], [], [], []
    sync: dict[str, dict[str, Any]] = {}
    repo_hint = None
    for key in live:
        if key.startswith("github:etag:open-issues:"):
            repo_hint = key.removeprefix("github:etag:open-issues:")
    for key, value in live.items():
        if key.startswith("fsm:") and isinstance(value, dict):
            dialogs.append({"key": key, "value": value, "expires_at": now + timedelta(days=7)})
        elif key == "status:maintenance" and isinstance(value, list):
            for item in value:
                start, end = _when(item.get("starts_at")), _when(item.get("ends_at"))
                if start and end and item.get("id"):
                    windows.append(
                        {
                            "id": str(item["id"])[:32],
                            "checks": list(item.get("checks") or []),
                            "starts_at": start,
                            "ends_at": end,
                            "note": item.get("note"),
                            "created_at": now,
                        }
                    )
        elif key == "status:rolled_until" and _when(value):
            op.bulk_insert(
                _table(
                    "check_rollup_watermark", sa.column("id"), sa.column("rolled_until", UTC_DT)
                ),
                [{"id": 1, "rolled_until": _when(value)}],
            )
        elif key.startswith("github:create-intent:"):
            repo, _, bug = key.removeprefix("github:create-intent:").rpartition(":")
            if bug.isdigit():
                requests.append({"bug_id": int(bug), "repo": repo, "requested_at": now})
        elif key.startswith("github:etag:open-issues:"):
            sync.setdefault(repo_hint or "", {})["open_issues_etag"] = str(value)[:200]
        elif key == "github:last-sync" and isinstance(value, dict):
            sync.setdefault(repo_hint or "", {})["last_sync_at"] = _when(value.get("at"))
        elif key == "github:last-sync-error" and isinstance(value, dict):
            state = sync.setdefault(repo_hint or "", {})
            state["last_error"] = str(value.get("error") or "")
            state["last_error_at"] = _when(value.get("at"))
        elif key == "github:paused-until" and _when(value):
            sync.setdefault(repo_hint or "", {})["paused_until"] = _when(value)
        elif key == "bot:heartbeat" or key.startswith(("github:login:", "github:label:")):
            cache_rows.append({"key": key, "value": value, "expires_at": now + timedelta(hours=1)})
        # anything else was a cache of figures: dropped, it is recomputed on demand
    if cache_rows:
        op.bulk_insert(
            _table(
                "cache_entries",
                sa.column("key"),
                sa.column("value", sa.JSON),
                sa.column("expires_at", UTC_DT),
            ),
            cache_rows,
        )
    if dialogs:
        op.bulk_insert(
            _table(
                "bot_dialogs",
                sa.column("key"),
                sa.column("value", sa.JSON),
                sa.column("expires_at", UTC_DT),
            ),
            dialogs,
        )
    if windows:
        op.bulk_insert(
            _table(
                "maintenance_windows",
                sa.column("id"),
                sa.column("checks", sa.JSON),
                sa.column("starts_at", UTC_DT),
                sa.column("ends_at", UTC_DT),
                sa.column("note"),
                sa.column("created_at", UTC_DT),
            ),
            windows,
        )
    if requests:
        existing = {r[0] for r in bind.execute(sa.text("SELECT id FROM bug_logs"))}
        requests = [r for r in requests if r["bug_id"] in existing]
        if requests:
            op.bulk_insert(
                _table(
                    "github_issue_requests",
                    sa.column("bug_id"),
                    sa.column("repo"),
                    sa.column("requested_at", UTC_DT),
                ),
                requests,
            )
    sync.pop("", None)  # no ETag row named the repository: nothing to attach the rest to
    for repo, values in sync.items():
        op.bulk_insert(
            _table(
                "github_sync_state",
                sa.column("repo"),
                sa.column("open_issues_etag"),
                sa.column("last_sync_at", UTC_DT),
                sa.column("last_error"),
                sa.column("last_error_at", UTC_DT),
                sa.column("paused_until", UTC_DT),
                sa.column("updated_at", UTC_DT),
            ),
            [{**values, "repo": repo, "updated_at": now}],
        )


def _when_dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _when(value) or FAR


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_webhook_deliveries_source_content_hash"), type_="unique")
        batch_op.drop_column("content_hash")
    bind.execute(sa.text("UPDATE jobs SET status = 'failed' WHERE status = 'parked'"))
    _jobs_status("'pending','running','done','failed'")
    op.create_table(
        "kv_store",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTC_DT, nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kv_store")),
    )
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []

    def put(key: str, value: Any, expires: datetime | None = None) -> None:
        out.append({"key": key, "value": value, "expires_at": expires, "updated_at": now})

    for key, value, expires in bind.execute(
        sa.text("SELECT key, value, expires_at FROM bot_dialogs")
    ):
        put(key, json.loads(value) if isinstance(value, str) else value, _when_dt(expires))
    windows = [
        {
            "id": r.id,
            "checks": json.loads(r.checks) if isinstance(r.checks, str) else r.checks,
            "starts_at": _when_dt(r.starts_at).isoformat(),
            "ends_at": _when_dt(r.ends_at).isoformat(),
            "note": r.note,
        }
        for r in bind.execute(
            sa.text("SELECT id, checks, starts_at, ends_at, note FROM maintenance_windows")
        )
    ]
    if windows:
        put("status:maintenance", windows)
    for (until,) in bind.execute(sa.text("SELECT rolled_until FROM check_rollup_watermark")):
        put("status:rolled_until", _when_dt(until).isoformat())
    for bug_id, repo in bind.execute(sa.text("SELECT bug_id, repo FROM github_issue_requests")):
        put(f"github:create-intent:{repo}:{bug_id}", True, now + timedelta(days=60))
    for r in bind.execute(
        sa.text(
            "SELECT repo, open_issues_etag, last_sync_at, last_error, last_error_at, "
            "paused_until FROM github_sync_state"
        )
    ):
        if r.open_issues_etag:
            put(f"github:etag:open-issues:{r.repo}", r.open_issues_etag)
        if r.last_sync_at:
            put("github:last-sync", {"at": _when_dt(r.last_sync_at).isoformat()})
        if r.last_error:
            put(
                "github:last-sync-error",
                {"at": _when_dt(r.last_error_at).isoformat(), "error": r.last_error},
            )
        if r.paused_until and _when_dt(r.paused_until) > now:
            put("github:paused-until", _when_dt(r.paused_until).isoformat())
    if out:
        op.bulk_insert(
            _table(
                "kv_store",
                sa.column("key"),
                sa.column("value", sa.JSON),
                sa.column("expires_at", UTC_DT),
                sa.column("updated_at", UTC_DT),
            ),
            out,
        )
    op.drop_table("github_issue_requests")
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_windows_ends_at")
    op.drop_table("maintenance_windows")
    op.drop_table("github_sync_state")
    op.drop_table("check_rollup_watermark")
    with op.batch_alter_table("bot_dialogs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_dialogs_expires_at"))
    op.drop_table("bot_dialogs")
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cache_entries_expires_at"))
    op.drop_table("cache_entries")
