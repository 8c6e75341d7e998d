"""GitHub: one issue per bug, the issue mirror, webhook deliveries, the admin overview.

- ``issues``     a bug's issue, opened exactly once; issue changes → the bug
- ``webhooks``   deliveries stored once and dispatched to registered event handlers
- ``sync``       the periodic mirror sync; bugs kept locally re-queued
- ``mirror``     the ``github_issues`` table: writes and counts (pages read only this)
- ``gateway``    the client from settings, failures → retry/stop, GitHub's pause, caches
- ``render``     a bug as an issue (title, body, labels, marker)
- ``presenter``  what /admin/github shows
- ``jobs``       the job handlers and schedules
"""
