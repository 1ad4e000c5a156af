"""upstream identities: accounts at other OpenID providers linked to local ones, the sign-ins in
flight through them, accounts without a password (made through a provider), and how the first
step of a sign-in awaiting its second factor was passed

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-19
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)
    with op.batch_alter_table("mfa_challenges") as challenges:
        challenges.add_column(
            sa.Column("first_factor", sa.String(length=32), nullable=False, server_default="pwd")
        )
    op.create_table(
        "linked_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_identities")),
        sa.UniqueConstraint(
            "provider", "subject", name=op.f("uq_linked_identities_provider_subject")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_linked_identities_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_linked_identities_user_id"), "linked_identities", ["user_id"])
    op.create_table(
        "upstream_sign_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("return_to", sa.String(length=8192), nullable=True),
        sa.Column("link_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_sign_ins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_upstream_sign_ins_state_hash")),
        sa.ForeignKeyConstraint(
            ["link_user_id"],
            ["users.id"],
            name=op.f("fk_upstream_sign_ins_link_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_upstream_sign_ins_expires_at"), "upstream_sign_ins", ["expires_at"])
    op.create_index(
        op.f("ix_upstream_sign_ins_link_user_id"), "upstream_sign_ins", ["link_user_id"]
    )


def downgrade() -> None:
    op.drop_table("upstream_sign_ins")
    op.drop_table("linked_identities")
    with op.batch_alter_table("mfa_challenges") as challenges:
        challenges.drop_column("first_factor")
    # An account without a password cannot be kept under a schema that requires one: it is
    # given one nobody knows (no bcrypt hash matches "!"), and can still reset it by email.
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users") as users:
        users.alter_column("password_hash", existing_type=sa.String(length=255), nullable=False)
