"""Telegram notifications: to a user (their bug changed), to the admin chat (alerts), and
the daily digest. ``texts`` builds them in the recipient's language; ``jobs`` sends."""
