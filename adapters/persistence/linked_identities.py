"""Accounts at upstream providers linked to local ones, and the sign-ins in flight through
them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.errors import violates_unique
from adapters.persistence.tables import linked_identities, upstream_sign_ins
from application.errors import IdentityAlreadyLinked
from domain.linked_identity import LinkedIdentity
from domain.upstream_sign_in import UpstreamSignIn


class SqlAlchemyLinkedIdentityRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def find(self, provider: str, subject: str) -> LinkedIdentity | None:
        row = (
            await self._connection.execute(
                select(linked_identities).where(
                    linked_identities.c.provider == provider,
                    linked_identities.c.subject == subject,
                )
            )
        ).first()
        return _identity(row) if row else None

    async def add(self, identity: LinkedIdentity) -> None:
        try:
            await self._connection.execute(
                insert(linked_identities).values(
                    id=identity.id,
                    user_id=identity.user_id,
                    provider=identity.provider,
                    subject=identity.subject,
                    email=identity.email,
                    created_at=identity.created_at,
                )
            )
        except IntegrityError as error:
            if violates_unique(error, "linked_identities", "provider"):
                raise IdentityAlreadyLinked() from None
            raise

    async def save_email(self, identity: LinkedIdentity) -> None:
        await self._connection.execute(
            update(linked_identities)
            .where(linked_identities.c.id == identity.id)
            .values(email=identity.email)
        )

    async def list_of_user(self, user_id: UUID) -> list[LinkedIdentity]:
        rows = await self._connection.execute(
            select(linked_identities)
            .where(linked_identities.c.user_id == user_id)
            .order_by(linked_identities.c.created_at, linked_identities.c.id)
        )
        return [_identity(row) for row in rows]

    async def delete(self, user_id: UUID, identity_id: UUID) -> bool:
        result = await self._connection.execute(
            delete(linked_identities).where(
                linked_identities.c.id == identity_id, linked_identities.c.user_id == user_id
            )
        )
        return result.rowcount > 0


def _identity(row: Row[Any]) -> LinkedIdentity:
    return LinkedIdentity(
        id=row.id,
        user_id=row.user_id,
        provider=row.provider,
        subject=row.subject,
        email=row.email,
        created_at=row.created_at,
    )


class SqlAlchemyUpstreamSignInRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, sign_in: UpstreamSignIn) -> None:
        await self._connection.execute(
            insert(upstream_sign_ins).values(
                id=sign_in.id,
                state_hash=sign_in.state_hash,
                provider=sign_in.provider,
                nonce=sign_in.nonce,
                code_verifier=sign_in.code_verifier,
                return_to=sign_in.return_to,
                link_user_id=sign_in.link_user_id,
                created_at=sign_in.created_at,
                expires_at=sign_in.expires_at,
                used_at=sign_in.used_at,
            )
        )

    async def redeem(self, state_hash: str, now: datetime) -> UpstreamSignIn | None:
        row = (
            await self._connection.execute(
                update(upstream_sign_ins)
                .where(
                    upstream_sign_ins.c.state_hash == state_hash,
                    upstream_sign_ins.c.used_at.is_(None),
                    upstream_sign_ins.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(*upstream_sign_ins.c)
            )
        ).first()
        return _sign_in(row) if row else None

    async def prune(self, *, expired_before: datetime) -> int:
        result = await self._connection.execute(
            delete(upstream_sign_ins).where(upstream_sign_ins.c.expires_at < expired_before)
        )
        return result.rowcount


def _sign_in(row: Row[Any]) -> UpstreamSignIn:
    return UpstreamSignIn(
        id=row.id,
        state_hash=row.state_hash,
        provider=row.provider,
        nonce=row.nonce,
        code_verifier=row.code_verifier,
        return_to=row.return_to,
        link_user_id=row.link_user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )
