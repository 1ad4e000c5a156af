"""The refresh_token grant (RFC 6749 §6) for an OAuth session: the token rotates on every use,
and one presented after it was rotated away was copied, so its whole session is revoked, as
the API's refresh tokens are. A session is refreshed only by the client it was issued to."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from application.audit import AuditEvents
from application.caller import Caller
from application.ports.metrics import SecurityMetrics
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.use_cases.oidc.client_authentication import (
    ClientCredentials,
    authenticate_client,
)
from application.use_cases.oidc.token_errors import (
    TokenError,
    TokenRequestRefused,
    invalid_grant,
    invalid_request,
)
from application.use_cases.oidc.token_response import OAuthTokenIssuer, OAuthTokenResponse
from application.webhook_events import revoke_and_report
from domain.audit_event import AuditEventType
from domain.oauth_scope import InvalidScope, Scopes, parse_scope
from domain.session import SessionKind
from domain.session_scope import SessionScope

log = logging.getLogger(__name__)

UNUSABLE_TOKEN = "the refresh token is invalid, expired or revoked"  # noqa: S105


class OAuthRefresh:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        issuer: OAuthTokenIssuer,
        ids: IdGenerator,
        audit: AuditEvents,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._issuer = issuer
        self._ids = ids
        self._audit = audit
        self._metrics = metrics

    async def refresh(
        self,
        credentials: ClientCredentials | None,
        parameters: Mapping[str, str],
        caller: Caller,
    ) -> OAuthTokenResponse:
        presented_text = parameters.get("refresh_token")
        if presented_text is None:
            raise invalid_request("refresh_token is required")
        asked = _asked_scopes(parameters.get("scope"))
        presented = hash_secret_token(presented_text)
        refresh_token = new_secret_token()
        now = self._clock.now()
        async with self._uow() as uow:
            client = await authenticate_client(uow, credentials)
            session = await uow.sessions.rotate_refresh_token(
                presented, hash_secret_token(refresh_token), now, kind=SessionKind.OAUTH
            )
            if session is not None:
                # Every refusal below leaves without committing: the rotation is undone, and
                # the token stays its rightful holder's.
                if session.client_id != client.client_id:
                    raise invalid_grant(UNUSABLE_TOKEN)
                granted = session.scopes or frozenset()
                if asked is not None and not asked <= granted:
                    raise TokenRequestRefused(
                        TokenError.INVALID_SCOPE, "scope may only narrow what was granted"
                    )
                user = await uow.users.get(session.user_id)
                if user is None or not user.is_active:
                    raise invalid_grant(UNUSABLE_TOKEN)
                await uow.commit()
                return await self._issuer.issue(
                    client=client,
                    user=user,
                    session=session,
                    scopes=granted if asked is None else asked,
                    nonce=None,
                    refresh_token=refresh_token,
                    now=now,
                )
        async with self._uow() as uow:
            stolen_from = await uow.sessions.find_by_rotated_token(presented)
            if stolen_from is None or stolen_from.kind is not SessionKind.OAUTH:
                raise invalid_grant(UNUSABLE_TOKEN)
            await revoke_and_report(
                uow, SessionScope.one(stolen_from.user_id, stolen_from.id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.REFRESH_TOKEN_REUSED,
                    caller,
                    user_id=stolen_from.user_id,
                    actor_id=None,
                    session_id=str(stolen_from.id),
                    client_id=stolen_from.client_id,
                )
            )
            await uow.commit()
        log.warning(
            "refresh_token_reused",
            extra={"session_id": str(stolen_from.id), "user_id": str(stolen_from.user_id)},
        )
        self._metrics.refresh_token_reused()
        raise invalid_grant("this refresh token was already used; its session is now revoked")


def _asked_scopes(parameter: str | None) -> Scopes | None:
    if parameter is None:
        return None
    try:
        return parse_scope(parameter)
    except InvalidScope as error:
        raise TokenRequestRefused(TokenError.INVALID_SCOPE, str(error)) from None
