"""The authorization endpoint's decisions, with the fakes: what is told on a page and what at
the redirect URI, when the person must sign in (again) or consent, and the code it issues."""

from __future__ import annotations

import copy
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from application.caller import Principal
from application.secret_tokens import hash_secret_token
from application.use_cases.oidc.authorize import (
    AskConsent,
    Authorize,
    AuthorizeCommand,
    AuthorizeOutcome,
    ConsentDecision,
    RedirectToClient,
    ShowProblem,
    SignInFirst,
)
from domain.audit_event import AuditEventType
from domain.auth_method import PASSWORD_AND_TOTP
from domain.grant import Grant
from domain.oauth_client import ClientType, OAuthClient
from domain.oauth_scope import Scope
from domain.pkce import s256_challenge
from domain.session import Session, SessionKind
from domain.user import User
from tests.fakes import FixedClock, InMemoryStore
from tests.unit.builders import Accounts, recorded_events

CALLBACK = "https://app.example.com/callback"
VERIFIER = "a-verifier-of-the-client-that-is-long-enough-for-rfc-7636"
CHALLENGE = s256_challenge(VERIFIER)


def client(
    store: InMemoryStore,
    clock: FixedClock,
    *,
    type: ClientType = ClientType.PUBLIC,
    first_party: bool = False,
    redirect_uris: tuple[str, ...] = (CALLBACK,),
) -> OAuthClient:
    registered = OAuthClient.register(
        client_id=f"client-{len(store.oauth_clients)}",
        name="Notes",
        type=type,
        redirect_uris=redirect_uris,
        first_party=first_party,
        secret_hash="hash" if type is ClientType.CONFIDENTIAL else None,
        now=clock.now(),
    )
    store.oauth_clients[registered.client_id] = registered
    return registered


def request(app: OAuthClient, **overrides: str | None) -> list[tuple[str, str]]:
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    return [(name, value) for name, value in parameters.items() if value is not None]


async def browser(accounts: Accounts, store: InMemoryStore) -> tuple[User, Session, Principal]:
    user = await accounts.user("eve@example.com")
    session, _ = accounts.session_with_refresh_token(user, amr=PASSWORD_AND_TOTP)
    session.kind = SessionKind.BROWSER
    store.sessions[session.id] = copy.deepcopy(session)
    return user, session, Principal(user=user, session_id=session.id)


def redirected(outcome: AuthorizeOutcome) -> tuple[str, dict[str, str]]:
    assert isinstance(outcome, RedirectToClient), outcome
    parts = urlsplit(outcome.location)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return parts._replace(query="").geturl(), query


def refusal(outcome: AuthorizeOutcome) -> str:
    where, query = redirected(outcome)
    assert where == CALLBACK
    assert "code" not in query
    return query["error"]


# --- told on a page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example.com/other",
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback?x=1",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://app.example.com/callback#",
        "https://evil.example/callback",
    ],
)
async def test_a_redirect_uri_not_registered_exactly_is_told_on_a_page(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, redirect_uri: str
) -> None:
    app = client(store, clock)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, redirect_uri=redirect_uri, response_type="token"), None)
    )

    assert isinstance(outcome, ShowProblem)


async def test_another_clients_redirect_uri_is_told_on_a_page(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock
) -> None:
    app = client(store, clock)
    client(store, clock, redirect_uris=("https://other.example.com/cb",))

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, redirect_uri="https://other.example.com/cb"), None)
    )

    assert isinstance(outcome, ShowProblem)


@pytest.mark.parametrize(
    "parameters",
    [
        [("response_type", "code"), ("redirect_uri", CALLBACK)],
        [("response_type", "code"), ("client_id", "no-such-client"), ("redirect_uri", CALLBACK)],
        [("response_type", "code"), ("client_id", "client-0")],
        [("client_id", "client-0"), ("client_id", "client-0"), ("redirect_uri", CALLBACK)],
        [("client_id", "client-0"), ("redirect_uri", CALLBACK), ("redirect_uri", CALLBACK)],
    ],
    ids=["no client", "unknown client", "no redirect uri", "two clients", "two redirect uris"],
)
async def test_without_one_known_client_and_redirect_uri_the_problem_is_told_on_a_page(
    authorize: Authorize,
    store: InMemoryStore,
    clock: FixedClock,
    parameters: list[tuple[str, str]],
) -> None:
    client(store, clock)

    outcome = await authorize.execute(AuthorizeCommand(parameters, None))

    assert isinstance(outcome, ShowProblem)


# --- refused at the redirect URI ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "ten"}, "invalid_request"),
        ({"max_age": "12345678901"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"nonce": "n" * 256}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://app.example.com/r"}, "request_uri_not_supported"),
    ],
)
async def test_a_bad_request_is_refused_at_the_redirect_uri_with_its_state(
    authorize: Authorize,
    store: InMemoryStore,
    clock: FixedClock,
    accounts: Accounts,
    overrides: dict[str, str | None],
    error: str,
) -> None:
    app = client(store, clock)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(AuthorizeCommand(request(app, **overrides), principal))

    assert refusal(outcome) == error
    assert redirected(outcome)[1]["state"] == "the-state"
    assert store.oauth_codes == {}


@pytest.mark.parametrize("name", ["response_type", "scope", "state", "code_challenge", "prompt"])
async def test_a_repeated_parameter_is_an_invalid_request(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, name: str
) -> None:
    app = client(store, clock)
    parameters = request(app, prompt="consent")
    parameters.append(next(pair for pair in parameters if pair[0] == name))

    outcome = await authorize.execute(AuthorizeCommand(parameters, None))

    assert refusal(outcome) == "invalid_request"


async def test_a_confidential_client_may_leave_pkce_out(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, type=ClientType.CONFIDENTIAL, first_party=True)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, code_challenge=None, code_challenge_method=None), principal)
    )

    _, query = redirected(outcome)
    assert "code" in query
    [code] = store.oauth_codes.values()
    assert code.code_challenge is None


async def test_a_registered_uri_with_a_query_keeps_it(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock
) -> None:
    registered = "https://app.example.com/callback?tenant=a"
    app = client(store, clock, redirect_uris=(registered,))

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, redirect_uri=registered, prompt="none"), None)
    )

    assert isinstance(outcome, RedirectToClient)
    assert outcome.location.startswith(registered + "&error=login_required")


# --- signing in --------------------------------------------------------------------------------


async def test_without_a_session_the_person_signs_in_first_and_comes_back(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock
) -> None:
    app = client(store, clock)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, login_hint="eve@example.com"), None)
    )

    assert outcome == SignInFirst(
        tuple(request(app, login_hint="eve@example.com")), False, "eve@example.com"
    )


async def test_a_revoked_or_foreign_session_counts_as_none(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    user, session, principal = await browser(accounts, store)
    store.sessions[session.id].revoke(clock.now())
    api_session = accounts.session(user)

    for who in (principal, Principal(user=user, session_id=api_session.id)):
        outcome = await authorize.execute(AuthorizeCommand(request(app), who))
        assert isinstance(outcome, SignInFirst)


async def test_prompt_none_without_a_session_is_login_required(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock
) -> None:
    app = client(store, clock)

    outcome = await authorize.execute(AuthorizeCommand(request(app, prompt="none"), None))

    assert refusal(outcome) == "login_required"


async def test_prompt_login_signs_in_again_and_the_return_trip_does_not_ask_again(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, first_party=True)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, prompt="login consent", max_age="60"), principal)
    )

    assert isinstance(outcome, SignInFirst)
    assert outcome.again
    back = dict(outcome.return_parameters)
    assert back["prompt"] == "consent"
    assert "max_age" not in back
    assert isinstance(
        await authorize.execute(AuthorizeCommand(outcome.return_parameters, principal)),
        AskConsent,
    )


async def test_max_age_signs_in_again_once_the_sign_in_is_older(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, first_party=True)
    *_, principal = await browser(accounts, store)
    clock.advance(seconds=60)

    fresh_enough = await authorize.execute(AuthorizeCommand(request(app, max_age="60"), principal))
    clock.advance(seconds=1)
    too_old = await authorize.execute(AuthorizeCommand(request(app, max_age="60"), principal))
    silent = await authorize.execute(
        AuthorizeCommand(request(app, max_age="60", prompt="none"), principal)
    )

    assert "code" in redirected(fresh_enough)[1]
    assert isinstance(too_old, SignInFirst)
    assert too_old.again
    assert refusal(silent) == "login_required"


# --- consent -----------------------------------------------------------------------------------


async def test_a_first_party_client_needs_no_consent(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, first_party=True)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(AuthorizeCommand(request(app), principal))

    assert "code" in redirected(outcome)[1]
    assert store.oauth_grants == {}


async def test_a_third_party_client_asks_consent_then_remembers_it(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    user, _, principal = await browser(accounts, store)

    asked = await authorize.execute(AuthorizeCommand(request(app), principal))
    assert isinstance(asked, AskConsent)
    assert asked.client_name == "Notes"
    assert asked.scopes == {Scope.OPENID, Scope.EMAIL}
    assert store.oauth_codes == {}

    allowed = await authorize.execute(
        AuthorizeCommand(asked.parameters, principal, ConsentDecision.ALLOW)
    )
    assert "code" in redirected(allowed)[1]
    assert store.oauth_grants[(user.id, app.client_id)].scopes == {Scope.OPENID, Scope.EMAIL}
    [event] = recorded_events(store)
    assert event.type is AuditEventType.CONSENT_GRANTED
    assert (event.user_id, event.data["client_id"]) == (user.id, app.client_id)
    assert event.data["scope"] == "openid email"

    again = await authorize.execute(AuthorizeCommand(request(app, scope="openid"), principal))
    assert "code" in redirected(again)[1]
    wider = await authorize.execute(
        AuthorizeCommand(request(app, scope="openid profile"), principal)
    )
    assert isinstance(wider, AskConsent)


async def test_consent_widens_the_grant(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    user, _, principal = await browser(accounts, store)
    store.oauth_grants[(user.id, app.client_id)] = Grant.give(
        user.id, app.client_id, {Scope.OPENID, Scope.PROFILE}, clock.now()
    )

    await authorize.execute(
        AuthorizeCommand(request(app, scope="openid email"), principal, ConsentDecision.ALLOW)
    )

    assert store.oauth_grants[(user.id, app.client_id)].scopes == {
        Scope.OPENID,
        Scope.PROFILE,
        Scope.EMAIL,
    }


async def test_prompt_consent_asks_even_when_granted_and_prompt_none_refuses_to_ask(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    user, _, principal = await browser(accounts, store)

    silent = await authorize.execute(AuthorizeCommand(request(app, prompt="none"), principal))
    assert refusal(silent) == "consent_required"

    store.oauth_grants[(user.id, app.client_id)] = Grant.give(
        user.id, app.client_id, {Scope.OPENID, Scope.EMAIL}, clock.now()
    )
    asked = await authorize.execute(AuthorizeCommand(request(app, prompt="consent"), principal))
    assert isinstance(asked, AskConsent)
    granted_silently = await authorize.execute(
        AuthorizeCommand(request(app, prompt="none"), principal)
    )
    assert "code" in redirected(granted_silently)[1]


async def test_refusing_is_access_denied_and_grants_nothing(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app), principal, ConsentDecision.DENY)
    )

    assert refusal(outcome) == "access_denied"
    assert redirected(outcome)[1]["state"] == "the-state"
    assert store.oauth_grants == {}
    assert store.oauth_codes == {}
    assert recorded_events(store) == []


async def test_a_decision_is_checked_again_as_a_new_request(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock)
    *_, principal = await browser(accounts, store)

    elsewhere = await authorize.execute(
        AuthorizeCommand(
            request(app, redirect_uri="https://evil.example/cb"), principal, ConsentDecision.ALLOW
        )
    )
    signed_out = await authorize.execute(
        AuthorizeCommand(request(app), None, ConsentDecision.ALLOW)
    )

    assert isinstance(elsewhere, ShowProblem)
    assert isinstance(signed_out, SignInFirst)
    assert store.oauth_grants == {}


# --- the code ----------------------------------------------------------------------------------


async def test_the_code_is_stored_hashed_bound_to_the_request_and_the_sign_in(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, first_party=True)
    user, session, principal = await browser(accounts, store)
    clock.advance(seconds=30)

    outcome = await authorize.execute(
        AuthorizeCommand(request(app, scope="openid profile offline_access"), principal)
    )

    where, query = redirected(outcome)
    assert where == CALLBACK
    assert query["state"] == "the-state"
    [code] = store.oauth_codes.values()
    assert code.code_hash == hash_secret_token(query["code"])
    assert query["code"] not in repr(code)
    assert (code.client_id, code.user_id, code.redirect_uri) == (app.client_id, user.id, CALLBACK)
    assert code.scopes == {Scope.OPENID, Scope.PROFILE, Scope.OFFLINE_ACCESS}
    assert (code.nonce, code.code_challenge) == ("the-nonce", CHALLENGE)
    assert (code.auth_time, code.amr) == (session.created_at, PASSWORD_AND_TOTP)
    assert code.browser_session_id == session.id
    assert code.expires_at - code.created_at == timedelta(seconds=60)


async def test_without_state_none_is_returned(
    authorize: Authorize, store: InMemoryStore, clock: FixedClock, accounts: Accounts
) -> None:
    app = client(store, clock, first_party=True)
    *_, principal = await browser(accounts, store)

    outcome = await authorize.execute(AuthorizeCommand(request(app, state=None), principal))

    assert "state" not in redirected(outcome)[1]
