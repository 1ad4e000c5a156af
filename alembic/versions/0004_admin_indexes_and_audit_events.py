"""indexes for the admin list, and the audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_users_created_at_id"), "users", ["created_at", "id"])
    op.create_index(op.f("ix_users_role_is_active"), "users", ["role", "is_active"])
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: a database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_users_email_trgm ON users USING gin (email gin_trgm_ops)")
        op.execute("CREATE INDEX ix_users_name_trgm ON users USING gin (lower(name) gin_trgm_ops)")
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_user_id_created_at_id"),
        "audit_events",
        ["user_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_audit_events_type_created_at_id"), "audit_events", ["type", "created_at", "id"]
    )
    op.create_index(op.f("ix_audit_events_created_at_id"), "audit_events", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_users_name_trgm")
        op.execute("DROP INDEX ix_users_email_trgm")
    op.drop_index(op.f("ix_users_role_is_active"), table_name="users")
    op.drop_index(op.f("ix_users_created_at_id"), table_name="users")
