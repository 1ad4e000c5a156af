"""Introspection's one read, on SQLite, PostgreSQL and the fakes: the asking client as it is
stored, and whether the token's session is live by every rule a session has (its own state,
its browser session's, its account's, and that it is that client's OAuth session)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from application.ports.persistence import IntrospectionReader, OAuthSessionOfToken
from domain.oauth_client import ClientType
from domain.session import Session, SessionKind
from tests.integration.builders import NOW, a_session, a_user, an_oauth_client, an_oauth_session
from tests.integration.conftest import Persist


def of_token(session: Session) -> OAuthSessionOfToken:
    assert session.client_id is not None
    return OAuthSessionOfToken(session.id, session.user_id, session.client_id)


async def test_the_asking_client_comes_back_as_stored_with_the_sessions_state(
    introspection: IntrospectionReader, persist: Persist
) -> None:
    user, client, resource_server = a_user(), an_oauth_client(), an_oauth_client()
    session = an_oauth_session(user, client)
    await persist(user, client, resource_server, session)

    facts = await introspection.read(resource_server.client_id, of_token(session), NOW)

    assert facts.client == resource_server
    assert facts.session_live is True


async def test_an_unknown_asking_client_is_none_whatever_the_token(
    introspection: IntrospectionReader, persist: Persist
) -> None:
    user, client = a_user(), an_oauth_client()
    session = an_oauth_session(user, client)
    await persist(user, client, session)

    facts = await introspection.read("no-such-client", of_token(session), NOW)

    assert facts.client is None
    assert facts.session_live is False


async def test_a_public_client_comes_back_as_one(
    introspection: IntrospectionReader, persist: Persist
) -> None:
    user, public = a_user(), an_oauth_client(type=ClientType.PUBLIC, secret_hash=None)
    session = an_oauth_session(user, public)
    await persist(user, public, session)

    facts = await introspection.read(public.client_id, of_token(session), NOW)

    assert facts.client == public
    assert not facts.client.is_confidential


@pytest.mark.parametrize(
    "case",
    [
        "revoked",
        "expired",
        "browser session revoked",
        "browser session expired",
        "account deactivated",
        "another account's id",
        "another client's id",
        "an API session",
        "no such session",
    ],
)
async def test_a_session_is_live_only_by_every_rule(
    introspection: IntrospectionReader, persist: Persist, case: str
) -> None:
    user = a_user(is_active=case != "account deactivated")
    other_user, client, other_client = a_user(), an_oauth_client(), an_oauth_client()
    browser = a_session(
        user,
        kind=SessionKind.BROWSER,
        revoked_at=NOW - timedelta(seconds=1) if case == "browser session revoked" else None,
        expires_at=NOW if case == "browser session expired" else NOW + timedelta(days=1),
    )
    session = an_oauth_session(
        user,
        client,
        parent_session_id=browser.id,
        revoked_at=NOW - timedelta(seconds=1) if case == "revoked" else None,
        expires_at=NOW if case == "expired" else NOW + timedelta(days=1),
    )
    api = a_session(user)
    await persist(user, other_user, client, other_client, browser, session, api)
    asked = {
        "another account's id": OAuthSessionOfToken(session.id, other_user.id, client.client_id),
        "another client's id": OAuthSessionOfToken(session.id, user.id, other_client.client_id),
        "an API session": OAuthSessionOfToken(api.id, user.id, client.client_id),
        "no such session": OAuthSessionOfToken(a_session(user).id, user.id, client.client_id),
    }.get(case, of_token(session))

    facts = await introspection.read(client.client_id, asked, NOW)

    assert facts.client == client
    assert facts.session_live is False
    live = await introspection.read(client.client_id, of_token(session), NOW - timedelta(days=2))
    assert live.session_live is (
        case not in {"revoked", "browser session revoked", "account deactivated"}
    )


async def test_many_reads_at_once_each_get_their_own_answer(
    introspection: IntrospectionReader, persist: Persist
) -> None:
    user, client = a_user(), an_oauth_client()
    live = [an_oauth_session(user, client) for _ in range(8)]
    revoked = [an_oauth_session(user, client, revoked_at=NOW) for _ in range(8)]
    await persist(user, client, *live, *revoked)
    asks = [*live, *revoked] * 2

    answers = await asyncio.gather(
        *(introspection.read(client.client_id, of_token(s), NOW) for s in asks)
    )

    assert [a.session_live for a in answers] == [s in live for s in asks]
