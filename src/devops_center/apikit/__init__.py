"""State the public JSON API keeps between requests (idempotency keys, rate windows).

No web framework here: the ASGI middleware in ``web/api`` calls these functions."""
