"""UserInfo with the fakes: the claims an OAuth access token's scopes release, and only while
its session and account last."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from application.errors import InvalidAccessToken
from application.oidc_tokens import OAuthAccessTokenClaims
from application.use_cases.oidc.userinfo import ReadUserInfo
from domain.oauth_scope import Scope
from domain.session import Session, SessionKind
from domain.user import User
from tests.fakes import FakeOAuthAccessTokens, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import ACCESS_TTL, Accounts


@pytest.fixture
def access_tokens(clock: FixedClock) -> FakeOAuthAccessTokens:
    return FakeOAuthAccessTokens(clock)


@pytest.fixture
def read_userinfo(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, access_tokens: FakeOAuthAccessTokens
) -> ReadUserInfo:
    return ReadUserInfo(uow, clock, access_tokens)


async def oauth_session(
    accounts: Accounts, store: InMemoryStore, *, parent: Session | None = None
) -> tuple[User, Session]:
    user = await accounts.user("eve@example.com", name="Eve", is_verified=True)
    session = accounts.session(user)
    session.kind = SessionKind.OAUTH
    session.client_id = "notes"
    session.scopes = frozenset({Scope.OPENID, Scope.PROFILE, Scope.EMAIL})
    session.parent_session_id = parent.id if parent else None
    store.sessions[session.id] = copy.deepcopy(session)
    return user, session


async def token_for(
    tokens: FakeOAuthAccessTokens, user: User, session: Session, now: datetime, *scope: str
) -> str:
    return await tokens.issue(
        OAuthAccessTokenClaims(
            subject=user.id,
            client_id="notes",
            scope=scope,
            token_id=session.id,
            session_id=session.id,
            issued_at=now,
            expires_at=now + ACCESS_TTL,
        )
    )


async def test_the_scopes_of_the_token_choose_the_claims(
    read_userinfo: ReadUserInfo,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
) -> None:
    user, session = await oauth_session(accounts, store)
    email_only = await token_for(access_tokens, user, session, clock.now(), "openid", "email")
    profile = await token_for(access_tokens, user, session, clock.now(), "openid", "profile")

    assert await read_userinfo.execute(email_only) == {
        "sub": str(user.id),
        "email": "eve@example.com",
        "email_verified": True,
    }
    assert await read_userinfo.execute(profile) == {
        "sub": str(user.id),
        "name": "Eve",
        "updated_at": int(user.updated_at.timestamp()),
    }


async def test_a_revoked_session_ends_its_tokens(
    read_userinfo: ReadUserInfo,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
) -> None:
    user, session = await oauth_session(accounts, store)
    token = await token_for(access_tokens, user, session, clock.now(), "openid")
    store.sessions[session.id].revoke(clock.now())

    with pytest.raises(InvalidAccessToken):
        await read_userinfo.execute(token)


async def test_a_session_whose_browser_session_ended_ends_its_tokens(
    read_userinfo: ReadUserInfo,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
) -> None:
    browser_owner = await accounts.user("browser@example.com")
    browser = accounts.session(browser_owner)
    user, session = await oauth_session(accounts, store, parent=browser)
    token = await token_for(access_tokens, user, session, clock.now(), "openid")
    assert await read_userinfo.execute(token) == {"sub": str(user.id)}
    store.sessions[browser.id].revoke(clock.now())

    with pytest.raises(InvalidAccessToken):
        await read_userinfo.execute(token)


async def test_a_deactivated_account_gets_nothing(
    read_userinfo: ReadUserInfo,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
) -> None:
    user, session = await oauth_session(accounts, store)
    token = await token_for(access_tokens, user, session, clock.now(), "openid")
    store.users[user.id].is_active = False

    with pytest.raises(InvalidAccessToken):
        await read_userinfo.execute(token)


async def test_an_unknown_token_gets_nothing(read_userinfo: ReadUserInfo) -> None:
    with pytest.raises(InvalidAccessToken):
        await read_userinfo.execute("not-a-token")
