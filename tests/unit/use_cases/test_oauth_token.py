"""The token endpoint's grants with the fakes: client authentication, the code exchange with
its bindings and single use, the session it opens, and refresh rotation for OAuth sessions."""

from __future__ import annotations

import copy

import pytest

from application.caller import NO_CALLER
from application.client_credentials import hash_client_secret
from application.secret_tokens import hash_secret_token, new_secret_token
from application.use_cases.oidc.client_authentication import ClientAuthMethod, ClientCredentials
from application.use_cases.oidc.token_endpoint import RequestTokens, TokenCommand
from application.use_cases.oidc.token_errors import TokenError, TokenRequestRefused
from application.use_cases.oidc.token_response import OAuthTokenResponse
from domain.audit_event import AuditEventType
from domain.auth_method import PASSWORD_AND_TOTP
from domain.authorization_code import AuthorizationCode
from domain.oauth_client import ClientType, IdTokenAlgorithm, OAuthClient
from domain.oauth_scope import Scope, Scopes
from domain.pkce import s256_challenge
from domain.session import Session, SessionKind
from domain.user import User
from tests.fakes import (
    FakeIdTokens,
    FakeOAuthAccessTokens,
    FixedClock,
    InMemoryStore,
    RecordingSecurityMetrics,
    SequentialIds,
)
from tests.unit.builders import ACCESS_TTL, Accounts, recorded_events

CALLBACK = "https://app.example.com/callback"
VERIFIER = "a-verifier-of-the-client-that-is-long-enough-for-rfc-7636"
SECRET = "the-secret-of-the-confidential-client"
OPENID_EMAIL: Scopes = frozenset({Scope.OPENID, Scope.EMAIL})
OFFLINE: Scopes = frozenset({Scope.OPENID, Scope.EMAIL, Scope.PROFILE, Scope.OFFLINE_ACCESS})


def register(
    store: InMemoryStore,
    clock: FixedClock,
    *,
    confidential: bool = False,
    algorithm: IdTokenAlgorithm = IdTokenAlgorithm.RS256,
) -> OAuthClient:
    client = OAuthClient.register(
        client_id=f"client-{len(store.oauth_clients)}",
        name="Notes",
        type=ClientType.CONFIDENTIAL if confidential else ClientType.PUBLIC,
        redirect_uris=(CALLBACK,),
        id_token_signed_response_alg=algorithm,
        secret_hash=hash_client_secret(SECRET) if confidential else None,
        now=clock.now(),
    )
    store.oauth_clients[client.client_id] = client
    return client


def public(client: OAuthClient) -> ClientCredentials:
    return ClientCredentials(ClientAuthMethod.NONE, client.client_id)


def basic(client: OAuthClient, secret: str = SECRET) -> ClientCredentials:
    return ClientCredentials(ClientAuthMethod.CLIENT_SECRET_BASIC, client.client_id, secret)


async def signed_in(accounts: Accounts, store: InMemoryStore) -> tuple[User, Session]:
    user = await accounts.user("eve@example.com", name="Eve", is_verified=True)
    session = accounts.session(user)
    session.kind = SessionKind.BROWSER
    session.amr = PASSWORD_AND_TOTP
    store.sessions[session.id] = copy.deepcopy(session)
    return user, session


def issue_code(
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    client: OAuthClient,
    user: User,
    browser: Session,
    *,
    scopes: Scopes = OPENID_EMAIL,
    challenge: str | None = s256_challenge(VERIFIER),
) -> str:
    code = new_secret_token()
    issued = AuthorizationCode.issue(
        id=ids.new_id(),
        code_hash=hash_secret_token(code),
        client_id=client.client_id,
        user_id=user.id,
        redirect_uri=CALLBACK,
        scopes=scopes,
        nonce="the-nonce",
        code_challenge=challenge,
        auth_time=browser.created_at,
        amr=browser.amr,
        browser_session_id=browser.id,
        now=clock.now(),
    )
    store.oauth_codes[issued.id] = issued
    return code


def exchange(
    code: str, credentials: ClientCredentials | None, /, **overrides: str | None
) -> TokenCommand:
    parameters: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
        **overrides,
    }
    pairs = [(name, value) for name, value in parameters.items() if value is not None]
    return TokenCommand(parameters=pairs, credentials=credentials, caller=NO_CALLER)


def refreshing(
    token: str, credentials: ClientCredentials, scope: str | None = None
) -> TokenCommand:
    pairs = [("grant_type", "refresh_token"), ("refresh_token", token)]
    if scope is not None:
        pairs.append(("scope", scope))
    return TokenCommand(parameters=pairs, credentials=credentials)


async def refused(request_tokens: RequestTokens, command: TokenCommand) -> TokenRequestRefused:
    with pytest.raises(TokenRequestRefused) as raised:
        await request_tokens.execute(command)
    return raised.value


def oauth_sessions(store: InMemoryStore) -> list[Session]:
    return [s for s in store.sessions.values() if s.kind is SessionKind.OAUTH]


async def offline_tokens(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> tuple[OAuthClient, OAuthTokenResponse]:
    app = register(store, clock, confidential=True)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser, scopes=OFFLINE)
    return app, await request_tokens.execute(exchange(code, basic(app)))


# --- client authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        None,
        ClientCredentials(ClientAuthMethod.NONE, "client-0"),
        ClientCredentials(ClientAuthMethod.CLIENT_SECRET_BASIC, "client-0", "wrong"),
        ClientCredentials(ClientAuthMethod.CLIENT_SECRET_POST, "client-0", "wrong"),
        ClientCredentials(ClientAuthMethod.CLIENT_SECRET_BASIC, "no-such-client", SECRET),
        ClientCredentials(ClientAuthMethod.NONE, "no-such-client"),
        ClientCredentials(ClientAuthMethod.NONE, "not\x00an id"),
        ClientCredentials(ClientAuthMethod.CLIENT_SECRET_POST, "client-1", SECRET),
    ],
    ids=[
        "none at all",
        "confidential without secret",
        "wrong secret by basic",
        "wrong secret by post",
        "unknown client with a secret",
        "unknown public client",
        "malformed id",
        "public client presenting a secret",
    ],
)
async def test_a_client_that_does_not_prove_itself_is_invalid_client(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    credentials: ClientCredentials | None,
) -> None:
    confidential = register(store, clock, confidential=True)
    register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, confidential, user, browser)

    refusal = await refused(request_tokens, exchange(code, credentials))

    assert refusal.error is TokenError.INVALID_CLIENT
    assert refusal.basic_challenge == (
        credentials is not None and credentials.method is ClientAuthMethod.CLIENT_SECRET_BASIC
    )
    assert oauth_sessions(store) == []


@pytest.mark.parametrize(
    "method", [ClientAuthMethod.CLIENT_SECRET_BASIC, ClientAuthMethod.CLIENT_SECRET_POST]
)
async def test_a_confidential_client_proves_itself_with_its_secret_either_way(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    method: ClientAuthMethod,
) -> None:
    app = register(store, clock, confidential=True)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)

    issued = await request_tokens.execute(
        exchange(code, ClientCredentials(method, app.client_id, SECRET))
    )

    assert issued.access_token
    assert len(oauth_sessions(store)) == 1


# --- the code exchange -------------------------------------------------------------------------


async def test_a_code_is_traded_for_tokens_of_a_new_session_bound_to_the_browser_session(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    id_tokens: FakeIdTokens,
    access_tokens: FakeOAuthAccessTokens,
) -> None:
    app = register(store, clock, algorithm=IdTokenAlgorithm.ES256)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)

    issued = await request_tokens.execute(exchange(code, public(app)))

    [session] = oauth_sessions(store)
    assert session.user_id == user.id
    assert session.client_id == app.client_id
    assert session.scopes == OPENID_EMAIL
    assert session.parent_session_id == browser.id
    assert session.amr == PASSWORD_AND_TOTP
    assert session.auth_time == browser.created_at
    assert issued.refresh_token is None
    assert issued.scope == "openid email"
    assert issued.expires_in == ACCESS_TTL.total_seconds()
    access = access_tokens.issued[issued.access_token]
    assert access.session_id == session.id
    assert access.client_id == app.client_id
    assert access.scope == ("openid", "email")
    assert access.expires_at == clock.now() + ACCESS_TTL
    claims, algorithm = id_tokens.signed[issued.id_token]
    assert algorithm is IdTokenAlgorithm.ES256
    assert claims.subject == user.id
    assert claims.client_id == app.client_id
    assert claims.session_id == session.id
    assert claims.nonce == "the-nonce"
    assert claims.amr == PASSWORD_AND_TOTP
    assert claims.auth_time == browser.created_at
    assert claims.expires_at - claims.issued_at <= ACCESS_TTL
    assert claims.user.email == "eve@example.com"
    assert claims.user.email_verified is True
    assert claims.user.name is None  # profile was not granted
    [stored_code] = store.oauth_codes.values()
    assert stored_code.used_at == clock.now()
    assert stored_code.issued_session_id == session.id


async def test_with_offline_access_the_session_outlives_the_browser_and_has_a_refresh_token(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    _, issued = await offline_tokens(request_tokens, store, clock, ids, accounts)

    [session] = oauth_sessions(store)
    assert session.parent_session_id is None
    assert issued.refresh_token is not None
    assert session.refresh_token_hash == hash_secret_token(issued.refresh_token)
    assert issued.scope == "openid profile email offline_access"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "another-verifier-that-is-also-long-enough-for-rfc-7636"},
        {"code_verifier": None},
        {"redirect_uri": CALLBACK + "/"},
    ],
    ids=["wrong verifier", "missing verifier", "other redirect_uri"],
)
async def test_a_code_with_the_wrong_proof_is_invalid_grant_and_spent(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    overrides: dict[str, str | None],
) -> None:
    app = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)

    refusal = await refused(request_tokens, exchange(code, public(app), **overrides))

    assert refusal.error is TokenError.INVALID_GRANT
    assert oauth_sessions(store) == []
    retried = await refused(request_tokens, exchange(code, public(app)))
    assert retried.error is TokenError.INVALID_GRANT


async def test_a_verifier_for_a_code_without_a_challenge_is_invalid_grant(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock, confidential=True)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser, challenge=None)

    refusal = await refused(request_tokens, exchange(code, basic(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert oauth_sessions(store) == []


async def test_a_code_issued_to_another_client_is_invalid_grant(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock)
    other = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)

    refusal = await refused(request_tokens, exchange(code, public(other)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert oauth_sessions(store) == []


async def test_an_expired_code_is_invalid_grant(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)
    clock.advance(seconds=61)

    refusal = await refused(request_tokens, exchange(code, public(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert oauth_sessions(store) == []


async def test_a_code_whose_browser_session_ended_opens_nothing(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)
    store.sessions[browser.id].revoke(clock.now())

    refusal = await refused(request_tokens, exchange(code, public(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert oauth_sessions(store) == []


async def test_a_code_presented_twice_is_refused_and_revokes_what_the_first_opened(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    app = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)
    await request_tokens.execute(exchange(code, public(app)))
    clock.advance(seconds=5)

    refusal = await refused(request_tokens, exchange(code, public(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    [session] = oauth_sessions(store)
    assert session.revoked_at == clock.now()
    assert store.sessions[browser.id].revoked_at is None
    [replay] = [
        e for e in recorded_events(store) if e.type is AuditEventType.AUTHORIZATION_CODE_REUSED
    ]
    assert (replay.user_id, replay.data["client_id"]) == (user.id, app.client_id)
    assert replay.data["session_id"] == str(session.id)
    assert security_metrics.authorization_code_reuses == 1


async def test_an_unknown_code_is_not_counted_as_a_replay(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    app = register(store, clock)

    refusal = await refused(request_tokens, exchange(new_secret_token(), public(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert AuditEventType.AUTHORIZATION_CODE_REUSED not in {e.type for e in recorded_events(store)}
    assert security_metrics.authorization_code_reuses == 0


@pytest.mark.parametrize(
    "parameters",
    [
        [],
        [("grant_type", "authorization_code")],
        [("grant_type", "authorization_code"), ("code", "x")],
        [("grant_type", "refresh_token")],
        [("grant_type", "authorization_code"), ("grant_type", "authorization_code")],
    ],
    ids=["no grant_type", "no code", "no redirect_uri", "no refresh_token", "repeated"],
)
async def test_a_missing_or_repeated_parameter_is_invalid_request(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    parameters: list[tuple[str, str]],
) -> None:
    app = register(store, clock)

    refusal = await refused(request_tokens, TokenCommand(parameters, public(app)))

    assert refusal.error is TokenError.INVALID_REQUEST


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit"])
async def test_another_grant_type_is_unsupported(
    request_tokens: RequestTokens, store: InMemoryStore, clock: FixedClock, grant_type: str
) -> None:
    app = register(store, clock)

    refusal = await refused(request_tokens, TokenCommand([("grant_type", grant_type)], public(app)))

    assert refusal.error is TokenError.UNSUPPORTED_GRANT_TYPE


# --- refresh -----------------------------------------------------------------------------------


async def test_a_refresh_rotates_the_token_and_answers_new_tokens(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    id_tokens: FakeIdTokens,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    assert first.refresh_token is not None
    clock.advance(minutes=20)

    second = await request_tokens.execute(refreshing(first.refresh_token, basic(app)))

    assert second.refresh_token not in (None, first.refresh_token)
    assert second.access_token != first.access_token
    [session] = oauth_sessions(store)
    assert session.refresh_token_hash == hash_secret_token(second.refresh_token or "")
    claims, _ = id_tokens.signed[second.id_token]
    assert claims.session_id == session.id
    assert claims.issued_at == clock.now()
    assert claims.nonce is None
    assert claims.auth_time == id_tokens.signed[first.id_token][0].auth_time
    assert claims.amr == PASSWORD_AND_TOTP


async def test_a_refresh_token_used_twice_revokes_its_session(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    assert first.refresh_token is not None
    second = await request_tokens.execute(refreshing(first.refresh_token, basic(app)))

    refusal = await refused(request_tokens, refreshing(first.refresh_token, basic(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    [session] = oauth_sessions(store)
    assert session.revoked_at is not None
    assert [e.type for e in recorded_events(store)][-1] is AuditEventType.REFRESH_TOKEN_REUSED
    assert security_metrics.refresh_token_reuses == 1
    assert second.refresh_token is not None
    after = await refused(request_tokens, refreshing(second.refresh_token, basic(app)))
    assert after.error is TokenError.INVALID_GRANT


async def test_another_clients_refresh_token_is_invalid_grant_and_stays_its_holders(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    other = register(store, clock)
    assert first.refresh_token is not None

    refusal = await refused(request_tokens, refreshing(first.refresh_token, public(other)))

    assert refusal.error is TokenError.INVALID_GRANT
    [session] = oauth_sessions(store)
    assert session.revoked_at is None
    assert session.refresh_token_hash == hash_secret_token(first.refresh_token)
    assert (await request_tokens.execute(refreshing(first.refresh_token, basic(app)))).id_token


async def test_a_refresh_may_narrow_the_scope_of_its_tokens_but_not_the_session(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
    access_tokens: FakeOAuthAccessTokens,
    id_tokens: FakeIdTokens,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    assert first.refresh_token is not None

    narrowed = await request_tokens.execute(
        refreshing(first.refresh_token, basic(app), scope="openid profile")
    )

    assert narrowed.scope == "openid profile"
    assert access_tokens.issued[narrowed.access_token].scope == ("openid", "profile")
    claims, _ = id_tokens.signed[narrowed.id_token]
    assert claims.user.name == "Eve"
    assert claims.user.email is None
    [session] = oauth_sessions(store)
    assert session.scopes == OFFLINE


async def test_a_refresh_may_not_widen_the_scope(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock, confidential=True)
    user, browser = await signed_in(accounts, store)
    scopes: Scopes = frozenset({Scope.OPENID, Scope.OFFLINE_ACCESS})
    code = issue_code(store, clock, ids, app, user, browser, scopes=scopes)
    first = await request_tokens.execute(exchange(code, basic(app)))
    assert first.refresh_token is not None

    refusal = await refused(
        request_tokens, refreshing(first.refresh_token, basic(app), scope="openid email")
    )

    assert refusal.error is TokenError.INVALID_SCOPE
    [session] = oauth_sessions(store)
    assert session.refresh_token_hash == hash_secret_token(first.refresh_token)


async def test_an_api_refresh_token_is_not_an_oauth_one(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    accounts: Accounts,
) -> None:
    app = register(store, clock)
    user = await accounts.user()
    api_session, token = accounts.session_with_refresh_token(user)

    refusal = await refused(request_tokens, refreshing(token, public(app)))

    assert refusal.error is TokenError.INVALID_GRANT
    assert store.sessions[api_session.id].refresh_token_hash == hash_secret_token(token)


async def test_an_expired_oauth_session_does_not_refresh(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    assert first.refresh_token is not None
    clock.advance(days=31)

    refusal = await refused(request_tokens, refreshing(first.refresh_token, basic(app)))

    assert refusal.error is TokenError.INVALID_GRANT
