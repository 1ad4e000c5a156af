"""Revocation (RFC 7009) and introspection (RFC 7662) with the fakes: which client may revoke or
see which token, what revoking ends, and that introspection follows the session as it stands."""

from __future__ import annotations

import dataclasses

import pytest

from application.caller import NO_CALLER
from application.use_cases.oidc.client_authentication import ClientAuthMethod, ClientCredentials
from application.use_cases.oidc.introspect_token import (
    IntrospectionCommand,
    IntrospectToken,
)
from application.use_cases.oidc.presented_token import TokenKind
from application.use_cases.oidc.revoke_token import RevocationCommand, RevokeToken
from application.use_cases.oidc.token_endpoint import RequestTokens
from application.use_cases.oidc.token_errors import TokenError, TokenRequestRefused
from application.use_cases.oidc.token_response import OAuthTokenResponse
from domain.audit_event import AuditEventType
from domain.oauth_client import OAuthClient
from domain.session import Session
from tests.fakes import FakeOAuthAccessTokens, FixedClock, InMemoryStore, SequentialIds
from tests.unit.builders import ACCESS_TTL, Accounts, recorded_events
from tests.unit.use_cases.test_oauth_token import (
    OFFLINE,
    OPENID_EMAIL,
    basic,
    exchange,
    issue_code,
    oauth_sessions,
    public,
    refreshing,
    register,
    signed_in,
)


async def tokens_for(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    *,
    confidential: bool = True,
    offline: bool = True,
) -> tuple[OAuthClient, Session, OAuthTokenResponse]:
    """A client, the browser session a person signed in with, and the tokens it got."""
    app = register(store, clock, confidential=confidential)
    user, browser = await signed_in(accounts, store)
    code = issue_code(
        store, clock, ids, app, user, browser, scopes=OFFLINE if offline else OPENID_EMAIL
    )
    credentials = basic(app) if confidential else public(app)
    return app, browser, await request_tokens.execute(exchange(code, credentials))


def revoking(token: str, credentials: ClientCredentials | None) -> RevocationCommand:
    return RevocationCommand([("token", token)], credentials, NO_CALLER)


def asking(token: str, credentials: ClientCredentials | None) -> IntrospectionCommand:
    return IntrospectionCommand([("token", token)], credentials)


def revocations(store: InMemoryStore) -> list[str]:
    return [
        event.data["kind"]
        for event in recorded_events(store)
        if event.type is AuditEventType.OAUTH_TOKEN_REVOKED
    ]


# --- revocation -------------------------------------------------------------------------------


async def test_a_revoked_refresh_token_ends_its_session(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    assert issued.refresh_token is not None

    await revoke_token.execute(revoking(issued.refresh_token, basic(app)))

    [session] = oauth_sessions(store)
    assert session.revoked_at == clock.now()
    assert revocations(store) == ["refresh_token"]
    with pytest.raises(TokenRequestRefused) as refused:
        await request_tokens.execute(refreshing(issued.refresh_token, basic(app)))
    assert refused.value.error is TokenError.INVALID_GRANT


async def test_a_revoked_access_token_ends_its_session_and_the_refresh_token_with_it(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, browser, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is not None

    await revoke_token.execute(revoking(issued.access_token, basic(app)))

    [session] = oauth_sessions(store)
    assert session.revoked_at == clock.now()
    assert store.sessions[browser.id].revoked_at is None  # the person stays signed in
    assert revocations(store) == ["access_token"]
    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is None
    assert issued.refresh_token is not None
    assert await introspect_token.execute(asking(issued.refresh_token, basic(app))) is None


async def test_a_public_client_revokes_its_own_token_by_its_id_alone(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(
        request_tokens, store, clock, ids, accounts, confidential=False
    )
    assert issued.refresh_token is not None

    await revoke_token.execute(revoking(issued.refresh_token, public(app)))

    [session] = oauth_sessions(store)
    assert session.revoked_at == clock.now()


@pytest.mark.parametrize(
    "token",
    ["never-issued", "forged.access.token", ""],
    ids=["unknown refresh token", "unknown access token", "empty"],
)
async def test_a_token_that_is_no_live_token_is_answered_as_revoked_and_changes_nothing(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    token: str,
) -> None:
    app, _, _ = await tokens_for(request_tokens, store, clock, ids, accounts)
    if not token:
        with pytest.raises(TokenRequestRefused) as refused:
            await revoke_token.execute(revoking(token, basic(app)))
        assert refused.value.error is TokenError.INVALID_REQUEST
    else:
        await revoke_token.execute(revoking(token, basic(app)))

    [session] = oauth_sessions(store)
    assert session.revoked_at is None
    assert revocations(store) == []


async def test_revoking_twice_revokes_once(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    await revoke_token.execute(revoking(issued.access_token, basic(app)))
    first = clock.now()
    clock.advance(seconds=5)

    await revoke_token.execute(revoking(issued.access_token, basic(app)))

    [session] = oauth_sessions(store)
    assert session.revoked_at == first
    assert revocations(store) == ["access_token"]


@pytest.mark.parametrize("kind", [TokenKind.ACCESS_TOKEN, TokenKind.REFRESH_TOKEN])
async def test_another_clients_token_is_invalid_grant_and_stays_live(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    kind: TokenKind,
) -> None:
    _, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    other = register(store, clock, confidential=True)
    token = issued.access_token if kind is TokenKind.ACCESS_TOKEN else issued.refresh_token
    assert token is not None

    with pytest.raises(TokenRequestRefused) as refused:
        await revoke_token.execute(revoking(token, basic(other)))

    assert refused.value.error is TokenError.INVALID_GRANT
    [session] = oauth_sessions(store)
    assert session.revoked_at is None


@pytest.mark.parametrize(
    "credentials",
    [None, "wrong secret", "unknown client"],
)
async def test_a_client_that_does_not_prove_itself_revokes_nothing(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    credentials: str | None,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    presented = {
        None: None,
        "wrong secret": basic(app, "not-the-secret"),
        "unknown client": ClientCredentials(ClientAuthMethod.NONE, "no-such-client"),
    }[credentials]

    with pytest.raises(TokenRequestRefused) as refused:
        await revoke_token.execute(revoking(issued.access_token, presented))

    assert refused.value.error is TokenError.INVALID_CLIENT
    [session] = oauth_sessions(store)
    assert session.revoked_at is None


# --- introspection ----------------------------------------------------------------------------


async def test_an_access_token_is_active_with_what_it_says(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    access_tokens: FakeOAuthAccessTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    claims = access_tokens.issued[issued.access_token]

    active = await introspect_token.execute(asking(issued.access_token, basic(app)))

    assert active is not None
    assert active.kind is TokenKind.ACCESS_TOKEN
    assert (active.subject, active.client_id) == (claims.subject, app.client_id)
    assert active.scope == claims.scope
    assert active.session_id == claims.session_id
    assert active.token_id == claims.token_id
    assert active.expires_at == clock.now() + ACCESS_TTL


async def test_without_offline_access_the_token_is_inactive_once_the_person_signs_out(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, browser, issued = await tokens_for(
        request_tokens, store, clock, ids, accounts, offline=False
    )
    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is not None

    store.sessions[browser.id].revoke(clock.now())

    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is None


async def test_a_deactivated_account_has_no_active_token(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, browser, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    user = store.users[browser.user_id]
    store.users[user.id] = dataclasses.replace(user, is_active=False)

    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is None
    assert issued.refresh_token is not None
    assert await introspect_token.execute(asking(issued.refresh_token, basic(app))) is None


async def test_an_expired_access_token_is_inactive(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    clock.advance(seconds=int(ACCESS_TTL.total_seconds()))

    assert await introspect_token.execute(asking(issued.access_token, basic(app))) is None


async def test_any_confidential_client_sees_an_access_token_but_a_refresh_token_only_its_own(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, issued = await tokens_for(request_tokens, store, clock, ids, accounts)
    resource_server = register(store, clock, confidential=True)
    assert issued.refresh_token is not None

    seen_by_server = await introspect_token.execute(
        asking(issued.access_token, basic(resource_server))
    )
    refresh_by_server = await introspect_token.execute(
        asking(issued.refresh_token, basic(resource_server))
    )
    refresh_by_owner = await introspect_token.execute(asking(issued.refresh_token, basic(app)))

    assert seen_by_server is not None
    assert seen_by_server.client_id == app.client_id
    assert refresh_by_server is None
    assert refresh_by_owner is not None
    assert refresh_by_owner.kind is TokenKind.REFRESH_TOKEN
    assert refresh_by_owner.token_id is None
    assert set(refresh_by_owner.scope) == set(OFFLINE)


@pytest.mark.parametrize(
    "token",
    ["never-issued", "forged.access.token", "a-refresh-token-of-the-right-shape-never-issued-0123"],
)
async def test_an_unknown_token_is_inactive(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    token: str,
) -> None:
    app, _, _ = await tokens_for(request_tokens, store, clock, ids, accounts)

    assert await introspect_token.execute(asking(token, basic(app))) is None


@pytest.mark.parametrize("kind", [TokenKind.ACCESS_TOKEN, TokenKind.REFRESH_TOKEN])
@pytest.mark.parametrize("asker", ["public client", "wrong secret", "unknown client", "nobody"])
async def test_only_a_confidential_client_that_proves_itself_may_ask(
    request_tokens: RequestTokens,
    introspect_token: IntrospectToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    kind: TokenKind,
    asker: str,
) -> None:
    app, _, issued = await tokens_for(
        request_tokens, store, clock, ids, accounts, confidential=False
    )
    confidential = register(store, clock, confidential=True)
    credentials = {
        "public client": public(app),
        "wrong secret": basic(confidential, "not-the-secret"),
        "unknown client": ClientCredentials(
            ClientAuthMethod.CLIENT_SECRET_BASIC, "no-such-client", "a-secret"
        ),
        "nobody": None,
    }[asker]
    token = issued.access_token if kind is TokenKind.ACCESS_TOKEN else issued.refresh_token
    assert token is not None

    with pytest.raises(TokenRequestRefused) as refused:
        await introspect_token.execute(asking(token, credentials))

    assert refused.value.error is TokenError.INVALID_CLIENT
