"""The second factor's tables: TOTP factors, recovery codes, and the second step of logins.
Every "use it once" is one UPDATE whose WHERE clause holds the rule, so the database decides
which of two racing requests wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.secret_contexts import totp_context
from adapters.persistence.tables import mfa_challenges, recovery_codes, totp_factors
from application.errors import MfaAlreadyEnabled
from application.ports.security import SecretSealer
from domain.second_factor import MAX_WRONG_CODES, MfaChallenge, RecoveryCode, TotpFactor


class SqlAlchemyTotpFactorRepository:
    """The secret is stored sealed when encryption keys are set, bound to its account."""

    def __init__(self, connection: AsyncConnection, sealer: SecretSealer) -> None:
        self._connection = connection
        self._sealer = sealer

    async def get(self, user_id: UUID) -> TotpFactor | None:
        row = (
            await self._connection.execute(
                select(totp_factors).where(totp_factors.c.user_id == user_id)
            )
        ).first()
        if row is None:
            return None
        return TotpFactor(
            user_id=row.user_id,
            secret=self._sealer.open(row.secret, totp_context(row.user_id)),
            created_at=row.created_at,
            confirmed_at=row.confirmed_at,
            last_step=row.last_step,
        )

    async def put_pending(self, factor: TotpFactor) -> None:
        # One upsert, so that two set-ups at once end as one row rather than a key conflict;
        # a factor already on is never replaced (a set-up racing its confirmation loses).
        insert = (
            postgresql_insert if self._connection.dialect.name == "postgresql" else sqlite_insert
        )
        secret = self._sealer.seal(factor.secret, totp_context(factor.user_id))
        statement = (
            insert(totp_factors)
            .values(
                user_id=factor.user_id,
                secret=secret,
                created_at=factor.created_at,
                confirmed_at=None,
                last_step=None,
            )
            .on_conflict_do_update(
                index_elements=[totp_factors.c.user_id],
                set_={"secret": secret, "created_at": factor.created_at},
                where=totp_factors.c.confirmed_at.is_(None),
            )
        )
        if (await self._connection.execute(statement)).rowcount != 1:
            raise MfaAlreadyEnabled()

    async def confirm(self, factor: TotpFactor, step: int, now: datetime) -> bool:
        result = await self._connection.execute(
            update(totp_factors)
            .where(
                totp_factors.c.user_id == factor.user_id,
                totp_factors.c.confirmed_at.is_(None),
                totp_factors.c.created_at == factor.created_at,
            )
            .values(confirmed_at=now, last_step=step)
        )
        return result.rowcount == 1

    async def accept_step(self, user_id: UUID, step: int) -> bool:
        result = await self._connection.execute(
            update(totp_factors)
            .where(
                totp_factors.c.user_id == user_id,
                totp_factors.c.confirmed_at.is_not(None),
                or_(totp_factors.c.last_step.is_(None), totp_factors.c.last_step < step),
            )
            .values(last_step=step)
        )
        return result.rowcount == 1

    async def delete(self, user_id: UUID) -> None:
        await self._connection.execute(
            delete(totp_factors).where(totp_factors.c.user_id == user_id)
        )


class SqlAlchemyRecoveryCodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def replace(self, user_id: UUID, codes: list[RecoveryCode]) -> None:
        await self.delete_all(user_id)
        if codes:
            await self._connection.execute(
                insert(recovery_codes),
                [
                    {
                        "id": code.id,
                        "user_id": code.user_id,
                        "code_hash": code.code_hash,
                        "created_at": code.created_at,
                        "used_at": code.used_at,
                    }
                    for code in codes
                ],
            )

    async def unused(self, user_id: UUID) -> list[RecoveryCode]:
        rows = await self._connection.execute(
            select(recovery_codes).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
            )
        )
        return [
            RecoveryCode(
                id=row.id,
                user_id=row.user_id,
                code_hash=row.code_hash,
                created_at=row.created_at,
                used_at=row.used_at,
            )
            for row in rows
        ]

    async def use(self, code_id: UUID, now: datetime) -> bool:
        result = await self._connection.execute(
            update(recovery_codes)
            .where(recovery_codes.c.id == code_id, recovery_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1

    async def delete_all(self, user_id: UUID) -> None:
        await self._connection.execute(
            delete(recovery_codes).where(recovery_codes.c.user_id == user_id)
        )


class SqlAlchemyMfaChallengeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, challenge: MfaChallenge) -> None:
        await self._connection.execute(
            insert(mfa_challenges).values(
                id=challenge.id,
                user_id=challenge.user_id,
                token_hash=challenge.token_hash,
                throttle_key=challenge.throttle_key,
                created_at=challenge.created_at,
                expires_at=challenge.expires_at,
                failures=challenge.failures,
                spent_at=challenge.spent_at,
                first_factor=challenge.first_factor,
            )
        )

    async def find(self, token_hash: str) -> MfaChallenge | None:
        row = (
            await self._connection.execute(
                select(mfa_challenges).where(mfa_challenges.c.token_hash == token_hash)
            )
        ).first()
        return _mfa_challenge(row) if row else None

    async def record_wrong_code(self, challenge_id: UUID) -> None:
        await self._connection.execute(
            update(mfa_challenges)
            .where(*_open(challenge_id))
            .values(failures=mfa_challenges.c.failures + 1)
        )

    async def spend(self, challenge_id: UUID, now: datetime) -> bool:
        result = await self._connection.execute(
            update(mfa_challenges).where(*_open(challenge_id)).values(spent_at=now)
        )
        return result.rowcount == 1

    async def prune(self, *, expired_before: datetime) -> int:
        result = await self._connection.execute(
            delete(mfa_challenges).where(mfa_challenges.c.expires_at <= expired_before)
        )
        return result.rowcount


def _open(challenge_id: UUID) -> tuple[Any, ...]:
    return (
        mfa_challenges.c.id == challenge_id,
        mfa_challenges.c.spent_at.is_(None),
        mfa_challenges.c.failures < MAX_WRONG_CODES,
    )


def _mfa_challenge(row: Row[Any]) -> MfaChallenge:
    return MfaChallenge(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        throttle_key=row.throttle_key,
        created_at=row.created_at,
        expires_at=row.expires_at,
        failures=row.failures,
        spent_at=row.spent_at,
        first_factor=row.first_factor,
    )
