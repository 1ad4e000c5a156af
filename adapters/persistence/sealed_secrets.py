"""Every sealed column at once: the start-up check that the configured keys open what is stored,
and `portcullis secrets reencrypt`, which moves every value under the first key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, func, select, update

from adapters.persistence.database import Database, close_quietly
from adapters.persistence.errors import is_unavailable
from adapters.persistence.secret_contexts import (
    signing_key_context,
    totp_context,
    webhook_context,
)
from adapters.persistence.tables import signing_keys, totp_factors, webhooks
from adapters.security.secret_sealer import (
    SEALED_PREFIX,
    AesGcmSecretSealer,
    PlainSecretSealer,
    sealed_head_length,
    sealed_key_id,
)
from application.errors import StorageUnavailable
from application.ports.security import SecretUnreadable

REENCRYPT_BATCH_SIZE = 500


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    key: Column[Any]  # the row's primary key, which the context names
    value: Column[Any]
    context: Callable[[Any], str]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.value.name}"


SEALED_COLUMNS = (
    SealedColumn(
        signing_keys, signing_keys.c.kid, signing_keys.c.private_key_pem, signing_key_context
    ),
    SealedColumn(totp_factors, totp_factors.c.user_id, totp_factors.c.secret, totp_context),
    SealedColumn(webhooks, webhooks.c.id, webhooks.c.secret, webhook_context),
)


class SealedSecretsUnreadable(Exception):
    """The configured keys do not open what the database holds. The message names the column and
    the key id, never a value or a key."""


@dataclass(frozen=True)
class ColumnCheck:
    column: str
    sealed: int
    plain: int


class SealedSecrets:
    def __init__(self, database: Database) -> None:
        self._database = database

    @property
    def _sealer(self) -> AesGcmSecretSealer | PlainSecretSealer:
        sealer = self._database.sealer
        assert isinstance(sealer, AesGcmSecretSealer | PlainSecretSealer)
        return sealer

    async def verify(self) -> list[ColumnCheck]:
        """Open one value of each key id found in each sealed column: AES-GCM's tag proves the
        key right. Raises SealedSecretsUnreadable for a value sealed while no key is set, under a
        key id none of the keys has, or that does not open."""
        checks = []
        connection = await self._database.connect()
        try:
            for column in SEALED_COLUMNS:
                head = func.substr(column.value, 1, sealed_head_length())
                is_sealed = func.substr(column.value, 1, len(SEALED_PREFIX)) == SEALED_PREFIX
                heads = (
                    await connection.execute(
                        select(head, func.count()).where(is_sealed).group_by(head)
                    )
                ).all()
                plain = await connection.scalar(
                    select(func.count()).select_from(column.table).where(~is_sealed)
                )
                for value_head, _count in heads:
                    row = (
                        await connection.execute(
                            select(column.key, column.value).where(head == value_head).limit(1)
                        )
                    ).one()
                    try:
                        self._sealer.open(row[1], column.context(row[0]))
                    except SecretUnreadable as error:
                        raise SealedSecretsUnreadable(f"{column.name}: {error}") from None
                checks.append(
                    ColumnCheck(column.name, sum(count for _, count in heads), int(plain or 0))
                )
        except Exception as error:
            if is_unavailable(error):
                raise StorageUnavailable() from error
            raise
        finally:
            await close_quietly(connection)
        return checks

    async def reencrypt(self) -> dict[str, int]:
        """Seal every value of every sealed column under the first key; values already there
        are left alone. One transaction per batch of rows; a row that changed meanwhile (a new
        TOTP secret, sealed under the first key already) is not written over. Returns how many
        values were rewritten, per column."""
        sealer = self._sealer
        if not isinstance(sealer, AesGcmSecretSealer):
            raise ValueError("no encryption key is configured")
        rewritten: dict[str, int] = {}
        for column in SEALED_COLUMNS:
            rewritten[column.name] = await self._reencrypt_column(sealer, column)
        return rewritten

    async def _reencrypt_column(self, sealer: AesGcmSecretSealer, column: SealedColumn) -> int:
        rewritten = 0
        after: Any = None
        while True:
            connection = await self._database.connect()
            try:
                if self._database.is_sqlite:
                    # The space a replaced value leaves is zeroed, not left in the file for
                    # anyone who reads its bytes.
                    await connection.exec_driver_sql("PRAGMA secure_delete=ON")
                statement = select(column.key, column.value).order_by(column.key)
                if after is not None:
                    statement = statement.where(column.key > after)
                rows = (await connection.execute(statement.limit(REENCRYPT_BATCH_SIZE))).all()
                for key, stored in rows:
                    if sealed_key_id(stored) == sealer.primary_key_id:
                        continue
                    context = column.context(key)
                    try:
                        resealed = sealer.seal(sealer.open(stored, context), context)
                    except SecretUnreadable as error:
                        raise SealedSecretsUnreadable(f"{column.name}: {error}") from None
                    result = await connection.execute(
                        update(column.table)
                        .where(column.key == key, column.value == stored)
                        .values({column.value.name: resealed})
                    )
                    rewritten += result.rowcount
                await connection.commit()
            except Exception as error:
                if is_unavailable(error):
                    raise StorageUnavailable() from error
                raise
            finally:
                await close_quietly(connection)
            if len(rows) < REENCRYPT_BATCH_SIZE:
                return rewritten
            after = rows[-1][0]
