"""Alerts sent to the admin chat that a later event edits in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from devops_center.db import Base, UTCDateTime, utcnow


class SentAlert(Base):
    """The message of a "check is down" alert (key ``check:<incident id>``): when the
    check recovers, that message is edited to say so instead of a new one being sent."""

    __tablename__ = "sent_alerts"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
