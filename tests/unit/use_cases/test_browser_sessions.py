"""A browser session is a session like any other (listed, throttled, audited, revocable), opened
by whichever sign-in the page used, and known by its cookie's secret alone."""

from __future__ import annotations

import pytest

from application.caller import Principal
from application.errors import InvalidRefreshToken
from application.use_cases.authenticate_browser import (
    AuthenticateBrowser,
    AuthenticateBrowserQuery,
)
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from application.use_cases.revoke_sessions import RevokeSessions, RevokeSessionsCommand
from domain.audit_event import AuditEventType
from domain.auth_method import PASSKEY, PASSWORD_AND_TOTP
from domain.session import SessionKind
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    PASSWORD,
    REFRESH_TTL,
    Accounts,
    events_about,
    is_revoked,
    stored_session,
    stored_sessions_of,
)
from tests.unit.passkeys import Passkeys
from tests.unit.second_factor import SecondFactor
from tests.webauthn_authenticator import SoftwareAuthenticator


@pytest.fixture
def authenticate_browser(uow: FakeUnitOfWorkFactory, clock: FixedClock) -> AuthenticateBrowser:
    return AuthenticateBrowser(uow, clock)


async def browser_login(log_in: LogIn, email: str = "eve@example.com") -> str:
    """The cookie's secret of a page sign-in."""
    pair = await log_in.execute(LogInCommand(email, PASSWORD, session_kind=SessionKind.BROWSER))
    return pair.refresh_token


async def test_a_page_sign_in_opens_a_browser_session_known_by_its_cookie(
    log_in: LogIn,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await browser_login(log_in)

    (session,) = stored_sessions_of(store, eve.id)
    assert session.kind is SessionKind.BROWSER
    assert session.expires_at == clock.now() + REFRESH_TTL
    principal = await authenticate_browser.execute(AuthenticateBrowserQuery(secret))
    assert principal == Principal(user=eve, session_id=session.id)
    types = [event.type for event in events_about(store, eve.id)]
    assert types == [AuditEventType.LOGIN_SUCCEEDED]


async def test_an_unknown_revoked_or_expired_cookie_signs_nobody_in(
    log_in: LogIn,
    authenticate_browser: AuthenticateBrowser,
    revoke_sessions: RevokeSessions,
    accounts: Accounts,
    clock: FixedClock,
) -> None:
    await accounts.user("eve@example.com")
    ended = await browser_login(log_in)
    principal = await authenticate_browser.execute(AuthenticateBrowserQuery(ended))
    assert principal is not None
    await revoke_sessions.execute(RevokeSessionsCommand(principal))
    expiring = await browser_login(log_in)

    assert await authenticate_browser.execute(AuthenticateBrowserQuery(ended)) is None
    assert await authenticate_browser.execute(AuthenticateBrowserQuery("not-a-cookie")) is None
    clock.advance(seconds=REFRESH_TTL.total_seconds())
    assert await authenticate_browser.execute(AuthenticateBrowserQuery(expiring)) is None


async def test_a_deactivated_account_is_signed_out_of_the_pages(
    log_in: LogIn,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await browser_login(log_in)
    store.users[eve.id].is_active = False

    assert await authenticate_browser.execute(AuthenticateBrowserQuery(secret)) is None


async def test_an_api_refresh_token_is_no_cookie_and_a_cookie_no_refresh_token(
    log_in: LogIn,
    refresh_tokens: RefreshTokens,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    api = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    cookie = await browser_login(log_in)

    assert await authenticate_browser.execute(AuthenticateBrowserQuery(api.refresh_token)) is None
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(cookie))
    # Refused as unknown, not taken for a stolen token: the browser's session goes on.
    assert all(not is_revoked(store, s) for s in stored_sessions_of(store, eve.id))
    assert await authenticate_browser.execute(AuthenticateBrowserQuery(cookie)) is not None


async def test_the_second_step_and_a_passkey_open_browser_sessions_too(
    mfa: SecondFactor,
    passkeys: Passkeys,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret, _ = await mfa.enrolled(eve)
    await mfa.second_step(
        await mfa.mfa_token(), code=mfa.code(secret), session_kind=SessionKind.BROWSER
    )
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(eve), authenticator)
    pair = await passkeys.sign_in(authenticator, session_kind=SessionKind.BROWSER)

    browser_sessions = [
        s for s in stored_sessions_of(store, eve.id) if s.kind is SessionKind.BROWSER
    ]
    assert sorted(s.amr for s in browser_sessions) == sorted([PASSWORD_AND_TOTP, PASSKEY])
    principal = await authenticate_browser.execute(AuthenticateBrowserQuery(pair.refresh_token))
    assert principal is not None
    assert stored_session(store, principal.session_id).amr == PASSKEY


async def test_signing_out_the_browser_ends_its_session_alone(
    log_in: LogIn,
    revoke_sessions: RevokeSessions,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    phone = accounts.session(eve)
    secret = await browser_login(log_in)
    principal = await authenticate_browser.execute(AuthenticateBrowserQuery(secret))
    assert principal is not None

    assert await revoke_sessions.execute(RevokeSessionsCommand(principal)) == 1

    assert is_revoked(store, stored_session(store, principal.session_id))
    assert not is_revoked(store, phone)


async def test_signing_out_everywhere_else_keeps_this_browser(
    log_in: LogIn,
    revoke_sessions: RevokeSessions,
    authenticate_browser: AuthenticateBrowser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    mallory = await accounts.user("mallory@example.com")
    phone, laptop, theirs = accounts.session(eve), accounts.session(eve), accounts.session(mallory)
    secret = await browser_login(log_in)
    principal = await authenticate_browser.execute(AuthenticateBrowserQuery(secret))
    assert principal is not None

    ended = await revoke_sessions.execute(RevokeSessionsCommand(principal, others=True))

    assert ended == 2
    assert is_revoked(store, phone)
    assert is_revoked(store, laptop)
    assert not is_revoked(store, theirs)
    assert await authenticate_browser.execute(AuthenticateBrowserQuery(secret)) == principal
