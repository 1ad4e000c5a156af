"""Passkeys and WebAuthn challenges on SQLite, PostgreSQL and the fakes: a challenge is spent
once however many transactions try at the same moment, and a credential id is stored once."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import PasskeyAlreadyRegistered
from domain.passkey import CHALLENGE_LIFETIME, ChallengePurpose, Passkey, WebAuthnChallenge
from tests.integration.builders import NOW, a_user
from tests.integration.conftest import Persist, UowFactory

RACERS = 12


def a_challenge(
    purpose: ChallengePurpose = ChallengePurpose.AUTHENTICATION, user_id: uuid.UUID | None = None
) -> WebAuthnChallenge:
    return WebAuthnChallenge(
        id=uuid.uuid4(),
        purpose=purpose,
        challenge=uuid.uuid4().bytes * 4,
        user_id=user_id,
        created_at=NOW,
        expires_at=NOW + CHALLENGE_LIFETIME,
    )


def a_passkey(user_id: uuid.UUID, credential_id: bytes | None = None, **fields: object) -> Passkey:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "credential_id": credential_id or uuid.uuid4().bytes * 2,
        "public_key": b"\xa5\x01\x02" + uuid.uuid4().bytes,
        "sign_count": 0,
        "name": "Laptop",
        "backed_up": False,
        "transports": ("internal", "hybrid"),
        "created_at": NOW,
    }
    values.update(fields)
    return Passkey(**values)  # type: ignore[arg-type]


async def store_challenge(uow_factory: UowFactory, challenge: WebAuthnChallenge) -> None:
    async with uow_factory() as uow:
        await uow.webauthn_challenges.add(challenge)
        await uow.commit()


async def test_a_challenge_is_spent_once_and_comes_back_as_stored(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    challenge = a_challenge(ChallengePurpose.REGISTRATION, user.id)
    await store_challenge(uow_factory, challenge)

    async with uow_factory() as uow:
        spent = await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.REGISTRATION, NOW
        )
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.REGISTRATION, NOW
        )

    assert spent is not None
    assert (spent.challenge, spent.user_id, spent.purpose) == (
        challenge.challenge,
        user.id,
        ChallengePurpose.REGISTRATION,
    )
    assert spent.spent_at == NOW
    assert again is None


async def test_a_challenge_is_not_spent_for_another_purpose_nor_once_expired(
    uow_factory: UowFactory,
) -> None:
    challenge = a_challenge()
    await store_challenge(uow_factory, challenge)

    async with uow_factory() as uow:
        wrong_purpose = await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.REGISTRATION, NOW
        )
        expired = await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.AUTHENTICATION, NOW + CHALLENGE_LIFETIME
        )
        unknown = await uow.webauthn_challenges.spend(
            uuid.uuid4(), ChallengePurpose.AUTHENTICATION, NOW
        )
        in_time = await uow.webauthn_challenges.spend(
            challenge.id,
            ChallengePurpose.AUTHENTICATION,
            NOW + CHALLENGE_LIFETIME - timedelta(seconds=1),
        )

    assert (wrong_purpose, expired, unknown) == (None, None, None)
    assert in_time is not None


async def test_a_spend_rolled_back_leaves_the_challenge_unspent(uow_factory: UowFactory) -> None:
    challenge = a_challenge()
    await store_challenge(uow_factory, challenge)

    async with uow_factory() as uow:
        assert await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.AUTHENTICATION, NOW
        )
    async with uow_factory() as uow:
        assert await uow.webauthn_challenges.spend(
            challenge.id, ChallengePurpose.AUTHENTICATION, NOW
        )


async def test_of_many_transactions_spending_one_challenge_exactly_one_gets_it(
    uow_factory: UowFactory,
) -> None:
    challenge = a_challenge()
    await store_challenge(uow_factory, challenge)

    async def spend() -> bool:
        async with uow_factory() as uow:
            spent = await uow.webauthn_challenges.spend(
                challenge.id, ChallengePurpose.AUTHENTICATION, NOW
            )
            await asyncio.sleep(0)  # let the others reach the row while this holds it
            await uow.commit()
        return spent is not None

    results = await asyncio.gather(*(spend() for _ in range(RACERS)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1


async def test_expired_challenges_are_pruned(uow_factory: UowFactory) -> None:
    old = a_challenge()
    fresh = dataclasses.replace(a_challenge(), expires_at=NOW + 2 * CHALLENGE_LIFETIME)
    await store_challenge(uow_factory, old)
    await store_challenge(uow_factory, fresh)

    async with uow_factory() as uow:
        pruned = await uow.webauthn_challenges.prune(expired_before=NOW + CHALLENGE_LIFETIME)
        await uow.commit()

    assert pruned == 1
    async with uow_factory() as uow:
        spend = uow.webauthn_challenges.spend
        assert await spend(old.id, ChallengePurpose.AUTHENTICATION, NOW) is None
        assert await spend(fresh.id, ChallengePurpose.AUTHENTICATION, NOW) is not None


async def test_a_passkey_round_trips_and_saves_what_may_change(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    older = a_passkey(user.id, created_at=NOW - timedelta(days=1))
    newer = a_passkey(user.id)
    async with uow_factory() as uow:
        await uow.passkeys.add(newer)
        await uow.passkeys.add(older)
        await uow.commit()

    newer.rename("Phone")
    async with uow_factory() as uow:
        await uow.passkeys.save(newer)
        assert await uow.passkeys.record_use(newer.id, 7, True, NOW + timedelta(minutes=1))
        await uow.commit()
    newer = replace(newer, sign_count=7, backed_up=True, last_used_at=NOW + timedelta(minutes=1))

    async with uow_factory() as uow:
        by_id = await uow.passkeys.get(newer.id)
        by_credential = await uow.passkeys.find_by_credential_id(newer.credential_id)
        listed = await uow.passkeys.list_of_user(user.id)
        others = await uow.passkeys.list_of_user(uuid.uuid4())
    assert by_id == by_credential == newer
    assert [p.id for p in listed] == [older.id, newer.id]
    assert listed[0] == older
    assert others == []

    async with uow_factory() as uow:
        await uow.passkeys.delete(older.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.passkeys.get(older.id) is None


async def test_a_credential_id_is_stored_once_across_accounts(
    uow_factory: UowFactory, persist: Persist
) -> None:
    eve, mallory = a_user(), a_user()
    await persist(eve, mallory)
    first = a_passkey(eve.id)
    async with uow_factory() as uow:
        await uow.passkeys.add(first)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(PasskeyAlreadyRegistered):
            await uow.passkeys.add(a_passkey(mallory.id, first.credential_id))


async def test_a_counter_is_stored_only_if_it_moves_forward_and_a_rename_keeps_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    passkey = a_passkey(user.id)
    async with uow_factory() as uow:
        await uow.passkeys.add(passkey)
        await uow.commit()

    async def use(count: int) -> bool:
        async with uow_factory() as uow:
            stored = await uow.passkeys.record_use(passkey.id, count, False, NOW)
            await uow.commit()
            return stored

    assert await use(0)  # 0 after 0: a passkey that keeps no counter
    results = await asyncio.gather(*(use(count) for count in range(1, 13)))
    assert any(results)
    async with uow_factory() as uow:
        stale = replace(passkey, name="Laptop")
        await uow.passkeys.save(stale)  # sign_count still 0 in this copy
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.passkeys.get(passkey.id)
    assert found is not None
    assert (found.name, found.sign_count) == ("Laptop", 12)
    assert not await use(12)
    assert not await use(3)
    assert not await use(0)
    assert await use(13)
