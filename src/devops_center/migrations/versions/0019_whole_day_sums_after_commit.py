"""the environment's whole-day roll-up rows summed after COMMIT, in one call

Every registration of an environment summed that environment's whole-day row under one
advisory lock held to its COMMIT: under 50 clients on 4 web workers the lock was waited
for up to 390 ms (the holder's worker busy with other requests between its statements).
On PostgreSQL the sum now runs right after the registration's COMMIT, in one call of
this function: the lock, then the sum in a statement of its own (it sees every service
row committed before the lock was granted), released by the call's own commit — held
for the sum only.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 23:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION dcc_sum_whole_days(p_env text, p_days date[], p_lock bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- a statement of its own, after the lock: it sees every row committed before it
    WITH gone AS (
        DELETE FROM deployment_days o
        WHERE o.service = '' AND o.environment = p_env AND o.day = ANY(p_days)
          AND NOT EXISTS (
            SELECT 1 FROM deployment_days x
            WHERE x.environment = p_env AND x.day = o.day AND x.service <> ''
          )
    )
    INSERT INTO deployment_days (service, environment, day, total, running, success, failed,
                                 rolled_back, rework, leads, durations, revision)
    SELECT '', p_env, s.day, sum(s.total), sum(s.running), sum(s.success), sum(s.failed),
           sum(s.rolled_back), sum(s.rework),
           (SELECT string_agg(v::text, ',' ORDER BY v)
              FROM deployment_days x
              CROSS JOIN LATERAL unnest(string_to_array(x.leads, ',')::bigint[]) AS v
             WHERE x.environment = p_env AND x.day = s.day AND x.service <> ''),
           (SELECT string_agg(v::text, ',' ORDER BY v)
              FROM deployment_days x
              CROSS JOIN LATERAL unnest(string_to_array(x.durations, ',')::bigint[]) AS v
             WHERE x.environment = p_env AND x.day = s.day AND x.service <> ''),
           (floor(random() * 9.2e18) - 4.6e18)::bigint
      FROM deployment_days s
     WHERE s.service <> '' AND s.environment = p_env AND s.day = ANY(p_days)
     GROUP BY s.day
    ON CONFLICT (service, environment, day) DO UPDATE SET
        total = excluded.total, running = excluded.running, success = excluded.success,
        failed = excluded.failed, rolled_back = excluded.rolled_back,
        rework = excluded.rework, leads = excluded.leads, durations = excluded.durations,
        revision = excluded.revision;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dcc_sum_whole_days(text, date[], bigint)")
