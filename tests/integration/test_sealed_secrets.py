"""Secrets sealed at rest, on SQLite and PostgreSQL: private signing keys go in sealed and come
out whole, rows stored before the keys were set still read, the start-up check finds values the
keys cannot open, and `secrets reencrypt` moves every value under the first key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from adapters.persistence.database import Database
from adapters.persistence.sealed_secrets import (
    REENCRYPT_BATCH_SIZE,
    SealedSecrets,
    SealedSecretsUnreadable,
)
from adapters.persistence.secret_contexts import totp_context
from adapters.persistence.tables import signing_keys, totp_factors
from adapters.security.secret_sealer import (
    AesGcmSecretSealer,
    is_sealed,
    key_id,
    make_secret_sealer,
    sealed_key_id,
)
from application.ports.security import SecretUnreadable
from domain.second_factor import TotpFactor
from domain.user import User
from tests.databases import SQL_BACKENDS
from tests.integration.builders import NOW, a_signing_key, a_user, a_webhook

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

OpenDatabase = Callable[..., Database]


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Sealing happens in the SQL adapters, on the columns themselves: no in-memory run."""
    param: str = request.param
    return param


@pytest.fixture
async def open_database(database_url: str) -> AsyncIterator[OpenDatabase]:
    """The test's database, as a process configured with these keys would see it."""
    opened: list[Database] = []

    def open_with(*keys: bytes) -> Database:
        database = Database(database_url, sealer=make_secret_sealer(keys))
        opened.append(database)
        return database

    yield open_with
    for database in opened:
        await database.aclose()


async def add_users(database: Database, count: int) -> list[User]:
    users = [a_user() for _ in range(count)]
    async with database.unit_of_work() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()
    return users


async def store_totp_secret(database: Database, user: User, stored: str) -> None:
    """Written without the TOTP repository: this is about the column, not its use."""
    async with database.engine.begin() as connection:
        await connection.execute(
            insert(totp_factors).values(
                user_id=user.id, secret=stored, created_at=NOW, confirmed_at=NOW, last_step=None
            )
        )


async def stored_values(database: Database) -> dict[str, str]:
    async with database.engine.connect() as connection:
        keys = await connection.execute(select(signing_keys.c.kid, signing_keys.c.private_key_pem))
        totp = await connection.execute(select(totp_factors.c.user_id, totp_factors.c.secret))
        return {**{f"kid:{kid}": value for kid, value in keys}, **{str(u): v for u, v in totp}}


async def test_a_private_signing_key_is_stored_sealed_and_read_whole(
    open_database: OpenDatabase,
) -> None:
    database = open_database(KEY_A)
    key = a_signing_key()

    async with database.unit_of_work() as uow:
        await uow.signing_keys.add(key)
        await uow.commit()

    (stored,) = (await stored_values(database)).values()
    assert sealed_key_id(stored) == key_id(KEY_A)
    assert "PRIVATE KEY" not in stored
    async with database.unit_of_work() as uow:
        assert await uow.signing_keys.list() == [key]


async def test_a_totp_secret_is_stored_sealed_and_read_whole(
    open_database: OpenDatabase,
) -> None:
    database = open_database(KEY_A, KEY_B)
    (user,) = await add_users(database, 1)
    factor = TotpFactor(user_id=user.id, secret=TOTP_SECRET, created_at=NOW)

    async with database.unit_of_work() as uow:
        await uow.totp.put_pending(factor)
        await uow.commit()

    (stored,) = (await stored_values(database)).values()
    assert sealed_key_id(stored) == key_id(KEY_A)
    assert TOTP_SECRET not in stored
    async with database.unit_of_work() as uow:
        assert await uow.totp.get(user.id) == factor
    async with open_database(KEY_B).unit_of_work() as uow:
        with pytest.raises(SecretUnreadable):
            await uow.totp.get(user.id)


async def test_without_keys_a_private_key_is_stored_as_it_is(open_database: OpenDatabase) -> None:
    database = open_database()
    key = a_signing_key()

    async with database.unit_of_work() as uow:
        await uow.signing_keys.add(key)
        await uow.commit()

    assert list((await stored_values(database)).values()) == [key.private_key_pem]


async def test_keys_stored_before_the_setting_existed_still_read(
    open_database: OpenDatabase,
) -> None:
    key = a_signing_key()
    async with open_database().unit_of_work() as uow:
        await uow.signing_keys.add(key)
        await uow.commit()

    async with open_database(KEY_A).unit_of_work() as uow:
        assert await uow.signing_keys.list() == [key]


async def test_a_private_key_moved_to_another_row_does_not_open(
    open_database: OpenDatabase,
) -> None:
    database = open_database(KEY_A)
    first, second = a_signing_key(), a_signing_key(created_at=NOW + timedelta(seconds=1))
    async with database.unit_of_work() as uow:
        await uow.signing_keys.add(first)
        await uow.signing_keys.add(second)
        await uow.commit()
    values = await stored_values(database)
    async with database.engine.begin() as connection:  # the second row gets the first's value
        await connection.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == second.kid)
            .values(private_key_pem=values[f"kid:{first.kid}"])
        )

    async with database.unit_of_work() as uow:
        with pytest.raises(SecretUnreadable, match="does not open"):
            await uow.signing_keys.list()


async def test_the_check_passes_and_counts_what_the_keys_open(open_database: OpenDatabase) -> None:
    old = open_database(KEY_B)
    (ada, bob) = await add_users(old, 2)
    async with old.unit_of_work() as uow:
        await uow.signing_keys.add(a_signing_key())
        await uow.webhooks.add(a_webhook())
        await uow.commit()
    await store_totp_secret(old, ada, old.sealer.seal(TOTP_SECRET, totp_context(ada.id)))
    await store_totp_secret(old, bob, TOTP_SECRET)  # stored before the keys were set

    checks = await SealedSecrets(open_database(KEY_A, KEY_B)).verify()

    assert [(c.column, c.sealed, c.plain) for c in checks] == [
        ("signing_keys.private_key_pem", 1, 0),
        ("totp_factors.secret", 1, 1),
        ("webhooks.secret", 1, 0),
    ]


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ((), "no encryption key is configured"),
        ((KEY_A,), "none of the configured keys has"),
    ],
)
async def test_the_check_refuses_a_value_sealed_under_a_key_not_configured(
    open_database: OpenDatabase, keys: tuple[bytes, ...], reason: str
) -> None:
    old = open_database(KEY_B)
    (ada,) = await add_users(old, 1)
    await store_totp_secret(old, ada, old.sealer.seal(TOTP_SECRET, totp_context(ada.id)))

    with pytest.raises(SealedSecretsUnreadable, match=reason) as refused:
        await SealedSecrets(open_database(*keys)).verify()

    assert str(refused.value).startswith("totp_factors.secret: ")
    assert key_id(KEY_B) in str(refused.value)
    assert TOTP_SECRET not in str(refused.value)


async def test_reencrypt_refuses_a_totp_secret_moved_to_another_account(
    open_database: OpenDatabase,
) -> None:
    database = open_database(KEY_A)
    (ada, eve) = await add_users(database, 2)
    await store_totp_secret(database, ada, database.sealer.seal(TOTP_SECRET, totp_context(ada.id)))
    await store_totp_secret(database, eve, (await stored_values(database))[str(ada.id)])

    with pytest.raises(SealedSecretsUnreadable, match="does not open"):
        await SealedSecrets(open_database(KEY_B, KEY_A)).reencrypt()


async def test_reencrypt_moves_every_value_from_key_b_to_key_a(
    open_database: OpenDatabase,
) -> None:
    old = open_database(KEY_B)
    users = await add_users(old, 3)
    keys = [a_signing_key(), a_signing_key(created_at=NOW + timedelta(seconds=1))]
    webhook = a_webhook()
    async with old.unit_of_work() as uow:
        for key in keys:
            await uow.signing_keys.add(key)
        await uow.webhooks.add(webhook)
        await uow.commit()
    for user in users[:2]:
        await store_totp_secret(old, user, old.sealer.seal(TOTP_SECRET, totp_context(user.id)))
    await store_totp_secret(old, users[2], TOTP_SECRET)  # stored before the keys were set

    rotating = open_database(KEY_A, KEY_B)
    rewritten = await SealedSecrets(rotating).reencrypt()

    assert rewritten == {
        "signing_keys.private_key_pem": 2,
        "totp_factors.secret": 3,
        "webhooks.secret": 1,
    }
    values = await stored_values(rotating)
    assert {sealed_key_id(value) for value in values.values()} == {key_id(KEY_A)}
    only_a = open_database(KEY_A)
    await SealedSecrets(only_a).verify()
    async with only_a.unit_of_work() as uow:
        assert sorted(await uow.signing_keys.list(), key=lambda k: k.kid) == sorted(
            keys, key=lambda k: k.kid
        )
        assert await uow.webhooks.list() == [webhook]
    sealer = only_a.sealer
    for user in users:
        assert sealer.open(values[str(user.id)], totp_context(user.id)) == TOTP_SECRET
    assert await SealedSecrets(rotating).reencrypt() == {
        "signing_keys.private_key_pem": 0,
        "totp_factors.secret": 0,
        "webhooks.secret": 0,
    }


async def test_reencrypt_goes_through_more_rows_than_one_batch(
    open_database: OpenDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.persistence import sealed_secrets

    monkeypatch.setattr(sealed_secrets, "REENCRYPT_BATCH_SIZE", 2)
    assert REENCRYPT_BATCH_SIZE > 2
    old = open_database(KEY_B)
    users = await add_users(old, 5)
    for user in users:
        await store_totp_secret(old, user, old.sealer.seal(TOTP_SECRET, totp_context(user.id)))

    rewritten = await SealedSecrets(open_database(KEY_A, KEY_B)).reencrypt()

    assert rewritten["totp_factors.secret"] == 5
    assert all(
        sealed_key_id(value) == key_id(KEY_A) for value in (await stored_values(old)).values()
    )


async def test_reencrypt_stops_at_a_value_no_key_opens_and_names_no_secret(
    open_database: OpenDatabase,
) -> None:
    stranger = AesGcmSecretSealer([bytes(32)])
    database = open_database(KEY_A)
    (ada,) = await add_users(database, 1)
    await store_totp_secret(database, ada, stranger.seal(TOTP_SECRET, totp_context(ada.id)))

    with pytest.raises(SealedSecretsUnreadable) as refused:
        await SealedSecrets(database).reencrypt()

    assert TOTP_SECRET not in str(refused.value)
    assert is_sealed((await stored_values(database))[str(ada.id)])


async def test_reencrypt_refuses_without_keys(open_database: OpenDatabase) -> None:
    with pytest.raises(ValueError, match="no encryption key"):
        await SealedSecrets(open_database()).reencrypt()


def test_a_user_id_context_is_its_canonical_form() -> None:
    user_id = uuid.UUID("12345678-1234-5678-1234-567812345678")

    assert totp_context(user_id) == "totp:12345678-1234-5678-1234-567812345678"
