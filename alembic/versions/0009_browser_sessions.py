"""browser sessions: which kind of holder a session's secret has (an API client or a cookie)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(
            sa.Column("kind", sa.String(length=16), server_default="api", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_column("kind")
