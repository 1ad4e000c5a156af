"""Passkeys and WebAuthn challenges. A challenge is spent by one UPDATE whose WHERE clause holds
the rule (unspent, unexpired), so the database decides which of two racing requests wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.errors import violates_unique
from adapters.persistence.tables import passkeys, webauthn_challenges
from application.errors import PasskeyAlreadyRegistered
from domain.passkey import ChallengePurpose, Passkey, WebAuthnChallenge


class SqlAlchemyPasskeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, passkey: Passkey) -> None:
        try:
            await self._connection.execute(
                insert(passkeys).values(
                    id=passkey.id,
                    user_id=passkey.user_id,
                    credential_id=passkey.credential_id,
                    public_key=passkey.public_key,
                    sign_count=passkey.sign_count,
                    name=passkey.name,
                    backed_up=passkey.backed_up,
                    transports=list(passkey.transports),
                    created_at=passkey.created_at,
                    last_used_at=passkey.last_used_at,
                )
            )
        except IntegrityError as error:
            if violates_unique(error, "passkeys", "credential_id"):
                raise PasskeyAlreadyRegistered() from None
            raise

    async def get(self, passkey_id: UUID) -> Passkey | None:
        return await self._one(passkeys.c.id == passkey_id)

    async def find_by_credential_id(self, credential_id: bytes) -> Passkey | None:
        return await self._one(passkeys.c.credential_id == credential_id)

    async def list_of_user(self, user_id: UUID) -> list[Passkey]:
        rows = await self._connection.execute(
            select(passkeys)
            .where(passkeys.c.user_id == user_id)
            .order_by(passkeys.c.created_at, passkeys.c.id)
        )
        return [_passkey(row) for row in rows]

    async def save(self, passkey: Passkey) -> None:
        await self._connection.execute(
            update(passkeys).where(passkeys.c.id == passkey.id).values(name=passkey.name)
        )

    async def record_use(
        self, passkey_id: UUID, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        accepted = (
            passkeys.c.sign_count == 0 if sign_count == 0 else passkeys.c.sign_count < sign_count
        )
        result = await self._connection.execute(
            update(passkeys)
            .where(passkeys.c.id == passkey_id, accepted)
            .values(sign_count=sign_count, backed_up=backed_up, last_used_at=now)
        )
        return result.rowcount == 1

    async def delete(self, passkey_id: UUID) -> None:
        await self._connection.execute(delete(passkeys).where(passkeys.c.id == passkey_id))

    async def _one(self, condition: Any) -> Passkey | None:
        row = (await self._connection.execute(select(passkeys).where(condition))).first()
        return _passkey(row) if row else None


class SqlAlchemyWebAuthnChallengeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, challenge: WebAuthnChallenge) -> None:
        await self._connection.execute(
            insert(webauthn_challenges).values(
                id=challenge.id,
                purpose=challenge.purpose.value,
                challenge=challenge.challenge,
                user_id=challenge.user_id,
                created_at=challenge.created_at,
                expires_at=challenge.expires_at,
                spent_at=challenge.spent_at,
            )
        )

    async def spend(
        self, challenge_id: UUID, purpose: ChallengePurpose, now: datetime
    ) -> WebAuthnChallenge | None:
        result = await self._connection.execute(
            update(webauthn_challenges)
            .where(
                webauthn_challenges.c.id == challenge_id,
                webauthn_challenges.c.purpose == purpose.value,
                webauthn_challenges.c.spent_at.is_(None),
                webauthn_challenges.c.expires_at > now,
            )
            .values(spent_at=now)
        )
        if result.rowcount != 1:
            return None
        row = (
            await self._connection.execute(
                select(webauthn_challenges).where(webauthn_challenges.c.id == challenge_id)
            )
        ).one()
        return WebAuthnChallenge(
            id=row.id,
            purpose=ChallengePurpose(row.purpose),
            challenge=row.challenge,
            user_id=row.user_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            spent_at=row.spent_at,
        )

    async def prune(self, *, expired_before: datetime) -> int:
        result = await self._connection.execute(
            delete(webauthn_challenges).where(webauthn_challenges.c.expires_at <= expired_before)
        )
        return result.rowcount


def _passkey(row: Row[Any]) -> Passkey:
    return Passkey(
        id=row.id,
        user_id=row.user_id,
        credential_id=row.credential_id,
        public_key=row.public_key,
        sign_count=row.sign_count,
        name=row.name,
        backed_up=row.backed_up,
        transports=tuple(row.transports),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )
