"""authorization codes and grants: the codes of the authorization code flow, each account's
consent to each client, and what an OAuth session keeps (its scopes, the browser session it
lives within, when the person signed in)

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SESSIONS_PARENT_FK = "fk_sessions_parent_session_id_sessions"


def upgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(sa.Column("scope", sa.String(length=255), nullable=True))
        sessions.add_column(sa.Column("parent_session_id", sa.Uuid(), nullable=True))
        sessions.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
        sessions.create_foreign_key(
            op.f(SESSIONS_PARENT_FK), "sessions", ["parent_session_id"], ["id"], ondelete="CASCADE"
        )
        sessions.create_index(op.f("ix_sessions_parent_session_id"), ["parent_session_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=43), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amr", sa.String(length=32), nullable=False),
        sa.Column("browser_session_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_session_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_codes_code_hash")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.client_id"],
            name=op.f("fk_oauth_codes_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oauth_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["browser_session_id"],
            ["sessions.id"],
            name=op.f("fk_oauth_codes_browser_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issued_session_id"],
            ["sessions.id"],
            name=op.f("fk_oauth_codes_issued_session_id_sessions"),
            ondelete="SET NULL",
        ),
    )
    for column in ("client_id", "user_id", "browser_session_id", "issued_session_id", "expires_at"):
        op.create_index(op.f(f"ix_oauth_codes_{column}"), "oauth_codes", [column])
    op.create_table(
        "oauth_grants",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "client_id", name=op.f("pk_oauth_grants")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oauth_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.client_id"],
            name=op.f("fk_oauth_grants_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_oauth_grants_client_id"), "oauth_grants", ["client_id"])


def downgrade() -> None:
    op.drop_table("oauth_grants")
    op.drop_table("oauth_codes")
    # Without its scopes and its parent, an OAuth session would outlive the browser session it
    # was bound to and lose what it may do: they end here, with their rotated tokens (SQLite
    # migrates with foreign keys off, so no cascade would take those).
    op.execute(
        "DELETE FROM rotated_refresh_tokens WHERE session_id IN"
        " (SELECT id FROM sessions WHERE client_id IS NOT NULL)"
    )
    op.execute("DELETE FROM sessions WHERE client_id IS NOT NULL")
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_index(op.f("ix_sessions_parent_session_id"))
        sessions.drop_constraint(op.f(SESSIONS_PARENT_FK), type_="foreignkey")
        sessions.drop_column("auth_time")
        sessions.drop_column("parent_session_id")
        sessions.drop_column("scope")
