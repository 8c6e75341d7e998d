"""Running processes (web, worker, bot, embedded) and their heartbeats."""
