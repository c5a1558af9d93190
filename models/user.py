"""Users: who may sign in and with which role (see pipeline/identity for what each role may do)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, check_in, new_id
from pipeline.vocabulary import USER_ROLES


class User(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(check_in("role", USER_ROLES), name="role"),
        UniqueConstraint("auth_provider", "auth_provider_user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    deleted_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    auth_provider: Mapped[str | None] = mapped_column(String(255))
    auth_provider_user_id: Mapped[str | None] = mapped_column(String(255))
