"""oauth clients: the OpenID Connect clients, and the one each session was issued to

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SESSIONS_CLIENT_FK = "fk_sessions_client_id_oauth_clients"


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("id_token_signed_response_alg", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        sessions.create_foreign_key(
            op.f(SESSIONS_CLIENT_FK),
            "oauth_clients",
            ["client_id"],
            ["client_id"],
            ondelete="CASCADE",
        )
        sessions.create_index(op.f("ix_sessions_client_id"), ["client_id"])


def downgrade() -> None:
    # Sessions of a kind the older code does not know would break it: they go with their clients.
    op.execute("DELETE FROM sessions WHERE client_id IS NOT NULL")
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_index(op.f("ix_sessions_client_id"))
        sessions.drop_constraint(op.f(SESSIONS_CLIENT_FK), type_="foreignkey")
        sessions.drop_column("client_id")
    op.drop_table("oauth_clients")
