"""The OAuth client registry on SQLite, PostgreSQL and the fakes: a client comes back as
stored, and deleting it ends every session issued to it, and those alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from domain.oauth_client import ClientType, IdTokenAlgorithm, OAuthClient
from domain.session import SessionKind
from tests.integration.builders import NOW, a_session, a_user, an_oauth_client
from tests.integration.conftest import Persist, UowFactory


async def register(uow_factory: UowFactory, *clients: OAuthClient) -> None:
    async with uow_factory() as uow:
        for client in clients:
            await uow.oauth_clients.add(client)
        await uow.commit()


async def stored(uow_factory: UowFactory, client_id: str) -> OAuthClient | None:
    async with uow_factory() as uow:
        return await uow.oauth_clients.get(client_id)


async def test_a_client_comes_back_exactly_as_registered(uow_factory: UowFactory) -> None:
    confidential = an_oauth_client()
    public = an_oauth_client(
        type=ClientType.PUBLIC,
        secret_hash=None,
        redirect_uris=("http://[::1]:5000/cb",),
        post_logout_redirect_uris=(),
        first_party=True,
        id_token_signed_response_alg=IdTokenAlgorithm.EDDSA,
    )
    await register(uow_factory, confidential, public)

    assert await stored(uow_factory, confidential.client_id) == confidential
    assert await stored(uow_factory, public.client_id) == public


async def test_an_unknown_client_is_none(uow_factory: UowFactory) -> None:
    await register(uow_factory, an_oauth_client())

    assert await stored(uow_factory, "nobody") is None


async def test_a_client_not_committed_is_not_stored(uow_factory: UowFactory) -> None:
    client = an_oauth_client()
    async with uow_factory() as uow:
        await uow.oauth_clients.add(client)

    assert await stored(uow_factory, client.client_id) is None


async def test_save_writes_what_an_admin_edits_and_nothing_else(
    uow_factory: UowFactory,
) -> None:
    client = an_oauth_client()
    await register(uow_factory, client)
    edited = replace(
        client,
        name="Wiki (staging)",
        redirect_uris=("https://staging.example.com/cb",),
        post_logout_redirect_uris=(),
        first_party=True,
        id_token_signed_response_alg=IdTokenAlgorithm.ES256,
        updated_at=NOW,
    )

    async with uow_factory() as uow:
        await uow.oauth_clients.save(
            replace(
                edited,
                type=ClientType.PUBLIC,
                secret_hash="f" * 64,
                created_at=NOW + timedelta(days=1),
            )
        )
        await uow.commit()

    assert await stored(uow_factory, client.client_id) == edited


async def test_an_edit_saved_after_a_renewal_keeps_the_new_secret(
    uow_factory: UowFactory,
) -> None:
    client = an_oauth_client()
    await register(uow_factory, client)
    read_before_the_renewal = replace(client, name="Wiki (staging)", updated_at=NOW)

    async with uow_factory() as uow:
        await uow.oauth_clients.save_secret(replace(client, secret_hash="f" * 64, updated_at=NOW))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.oauth_clients.save(read_before_the_renewal)
        await uow.commit()

    assert await stored(uow_factory, client.client_id) == replace(
        read_before_the_renewal, secret_hash="f" * 64
    )


async def test_the_list_is_every_client_oldest_first(uow_factory: UowFactory) -> None:
    newest = an_oauth_client(created_at=NOW)
    oldest = an_oauth_client(created_at=NOW - timedelta(days=3))
    twins = sorted(
        [an_oauth_client(created_at=NOW - timedelta(days=2)) for _ in range(2)],
        key=lambda c: c.client_id,
    )
    await register(uow_factory, newest, twins[1], oldest, twins[0])

    async with uow_factory() as uow:
        listed = await uow.oauth_clients.list()

    assert listed == [oldest, *twins, newest]


async def test_deleting_a_client_deletes_the_sessions_issued_to_it_and_no_other(
    uow_factory: UowFactory, persist: Persist
) -> None:
    doomed, kept = an_oauth_client(), an_oauth_client()
    await register(uow_factory, doomed, kept)
    user = a_user()
    of_doomed = a_session(user, kind=SessionKind.OAUTH, client_id=doomed.client_id)
    of_kept = a_session(user, kind=SessionKind.OAUTH, client_id=kept.client_id)
    own = a_session(user)
    await persist(user, of_doomed, of_kept, own)
    async with uow_factory() as uow:
        rotated = await uow.sessions.rotate_refresh_token(own.refresh_token_hash, "n" * 64, NOW)
        await uow.commit()
    assert rotated is not None

    async with uow_factory() as uow:
        await uow.oauth_clients.delete(doomed.client_id)
        await uow.commit()

    assert await stored(uow_factory, doomed.client_id) is None
    assert await stored(uow_factory, kept.client_id) == kept
    async with uow_factory() as uow:
        left = await uow.sessions.list_usable_of_user(user.id, NOW)
        replayed = await uow.sessions.find_by_rotated_token(own.refresh_token_hash)
    assert {session.id for session in left} == {of_kept.id, own.id}
    assert replayed is not None


async def test_a_session_keeps_the_client_it_was_issued_to(
    uow_factory: UowFactory, persist: Persist
) -> None:
    client = an_oauth_client()
    await register(uow_factory, client)
    user = a_user()
    session = a_session(user, kind=SessionKind.OAUTH, client_id=client.client_id)
    await persist(user, session)

    async with uow_factory() as uow:
        (listed,) = await uow.sessions.list_usable_of_user(user.id, NOW)

    assert (listed.kind, listed.client_id) == (SessionKind.OAUTH, client.client_id)
