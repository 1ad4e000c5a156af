"""The authorization endpoint's decision (OpenID Connect Core §3.1.2): whom a request may be
answered to, whether the person must sign in (again) or consent first, and the code that
answers it.

The HTTP layer turns each outcome into a page or a redirect; it calls this again, with the
person's decision, when the consent form comes back, so that every parameter is checked again
then, as if it had just arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.use_cases.oidc.authorization_request import (
    AuthorizationError,
    AuthorizationRequest,
    Parameters,
    Prompt,
    RefusedRequest,
    UnusableRequest,
    check_redirect_uri,
    client_and_redirect_uri,
    read_request,
)
from domain.audit_event import AuditEventType
from domain.authorization_code import AuthorizationCode
from domain.grant import Grant
from domain.oauth_scope import Scopes, format_scope
from domain.session import Session, SessionKind


class ConsentDecision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class AuthorizeCommand:
    """`parameters`: the request's, as sent (a name may repeat). `browser`: who the browser's
    session signs in, if anyone. `decision`: the person's answer on the consent page."""

    parameters: Parameters
    browser: Principal | None
    decision: ConsentDecision | None = None
    caller: Caller = NO_CALLER


@dataclass(frozen=True, slots=True)
class ShowProblem:
    """Told to the person on a page, never redirected."""

    message: str


@dataclass(frozen=True, slots=True)
class RedirectToClient:
    """The code, or an error, at the client's registered redirect URI."""

    location: str


@dataclass(frozen=True, slots=True)
class SignInFirst:
    """Sign in, then come back with `return_parameters`. `again`: even a browser signed in
    already must prove it is still its person (prompt=login, max_age); the return trip leaves
    those parameters out, since the fresh session it comes back with answers them."""

    return_parameters: tuple[tuple[str, str], ...]
    again: bool
    login_hint: str | None


@dataclass(frozen=True, slots=True)
class AskConsent:
    client_name: str
    redirect_uri: str
    scopes: Scopes
    parameters: tuple[tuple[str, str], ...]


AuthorizeOutcome = ShowProblem | RedirectToClient | SignInFirst | AskConsent


def with_query(uri: str, parameters: dict[str, str | None]) -> str:
    """The URI with these parameters added to its query (a registered URI may have one)."""
    present = {name: value for name, value in parameters.items() if value is not None}
    return uri + ("&" if "?" in uri else "?") + urlencode(present)


def refused_at(refusal: RefusedRequest, issuer: str) -> RedirectToClient:
    return RedirectToClient(
        with_query(
            refusal.redirect_uri,
            {
                "error": refusal.error.value,
                "error_description": refusal.description,
                "state": refusal.state,
                "iss": issuer,
            },
        )
    )


def _return_parameters(parameters: Parameters) -> tuple[tuple[str, str], ...]:
    kept: list[tuple[str, str]] = []
    for name, value in parameters:
        if not value or name == "max_age":
            continue
        if name == "prompt":
            value = " ".join(word for word in value.split() if word != Prompt.LOGIN)
            if not value:
                continue
        kept.append((name, value))
    return tuple(kept)


class Authorize:
    """`issuer`: this provider's issuer identifier, which every answer at the redirect URI
    carries as `iss` (RFC 9207), so that a client using several providers can tell which one
    answered (a mix-up attack sends it another's code)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
        issuer: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._issuer = issuer

    async def execute(self, command: AuthorizeCommand) -> AuthorizeOutcome:
        try:
            client_id, redirect_uri = client_and_redirect_uri(command.parameters)
        except UnusableRequest as unusable:
            return ShowProblem(str(unusable))
        now = self._clock.now()
        async with self._uow() as uow:
            try:
                client = check_redirect_uri(await uow.oauth_clients.get(client_id), redirect_uri)
            except UnusableRequest as unusable:
                return ShowProblem(str(unusable))
            try:
                request = read_request(client, redirect_uri, command.parameters)
                return await self._decide(uow, request, command, now)
            except RefusedRequest as refusal:
                return refused_at(refusal, self._issuer)

    async def _decide(
        self,
        uow: UnitOfWork,
        request: AuthorizationRequest,
        command: AuthorizeCommand,
        now: datetime,
    ) -> AuthorizeOutcome:
        session = await _browser_session(uow, command.browser, now)
        silent = Prompt.NONE in request.prompts
        if session is None or _must_sign_in_again(request, session, now):
            if silent:
                raise _refusal(request, AuthorizationError.LOGIN_REQUIRED, "sign-in required")
            return SignInFirst(
                return_parameters=_return_parameters(command.parameters),
                again=session is not None,
                login_hint=request.login_hint,
            )
        assert command.browser is not None
        user_id = command.browser.user.id
        if command.decision is ConsentDecision.DENY:
            raise _refusal(request, AuthorizationError.ACCESS_DENIED, "the person refused")
        if command.decision is None and await _needs_consent(uow, request, user_id):
            if silent:
                raise _refusal(request, AuthorizationError.CONSENT_REQUIRED, "consent required")
            return AskConsent(
                client_name=request.client.name,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                parameters=tuple((n, v) for n, v in command.parameters if v),
            )
        if command.decision is ConsentDecision.ALLOW:
            await self._record_consent(uow, request, command)
        code = new_secret_token()
        await uow.oauth_codes.add(
            AuthorizationCode.issue(
                id=self._ids.new_id(),
                code_hash=hash_secret_token(code),
                client_id=request.client.client_id,
                user_id=user_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                auth_time=_auth_time(session),
                amr=session.amr,
                browser_session_id=session.id,
                now=now,
            )
        )
        await uow.commit()
        return RedirectToClient(
            with_query(
                request.redirect_uri,
                {"code": code, "state": request.state, "iss": self._issuer},
            )
        )

    async def _record_consent(
        self, uow: UnitOfWork, request: AuthorizationRequest, command: AuthorizeCommand
    ) -> None:
        assert command.browser is not None
        user_id = command.browser.user.id
        grant = Grant.give(user_id, request.client.client_id, request.scopes, self._clock.now())
        stored = await uow.oauth_grants.upsert(grant)
        await uow.audit.record(
            self._audit.event(
                AuditEventType.CONSENT_GRANTED,
                command.caller,
                user_id=user_id,
                actor_id=user_id,
                client_id=request.client.client_id,
                scope=format_scope(request.scopes),
                granted=format_scope(stored.scopes),
            )
        )


def _refusal(
    request: AuthorizationRequest, error: AuthorizationError, description: str
) -> RefusedRequest:
    return RefusedRequest(request.redirect_uri, error, description, request.state)


async def _browser_session(
    uow: UnitOfWork, browser: Principal | None, now: datetime
) -> Session | None:
    """The browser's session as it stands in this transaction: the code records how and when
    its person signed in."""
    if browser is None:
        return None
    usable = await uow.sessions.list_usable_of_user(browser.user.id, now)
    return next(
        (s for s in usable if s.id == browser.session_id and s.kind is SessionKind.BROWSER), None
    )


def _auth_time(session: Session) -> datetime:
    return session.auth_time or session.created_at


def _must_sign_in_again(request: AuthorizationRequest, session: Session, now: datetime) -> bool:
    if Prompt.LOGIN in request.prompts:
        return True
    if request.max_age is None:
        return False
    return now - _auth_time(session) > timedelta(seconds=request.max_age)


async def _needs_consent(uow: UnitOfWork, request: AuthorizationRequest, user_id: UUID) -> bool:
    if Prompt.CONSENT in request.prompts:
        return True
    if request.client.first_party:
        return False
    grant = await uow.oauth_grants.get(user_id, request.client.client_id)
    return grant is None or not grant.covers(request.scopes)
