from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import AccountDisabled, InvalidCredentials
from application.ports.metrics import LoginOutcome, SecurityMetrics
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import AccessTokens, PasskeyRefused, WebAuthn
from application.ports.system import Clock, IdGenerator
from application.sessions import new_session
from application.tokens import TokenLifetimes, TokenPair, issue_token_pair
from application.use_cases.passkeys.common import user_handle
from domain.audit_event import AuditEventType
from domain.auth_method import PASSKEY
from domain.passkey import ChallengePurpose, sign_count_is_acceptable
from domain.session import SessionKind


@dataclass(frozen=True, slots=True)
class SignInWithPasskeyCommand:
    challenge_id: UUID
    credential: dict[str, Any]
    caller: Caller = NO_CALLER
    session_kind: SessionKind = SessionKind.API


class SignInWithPasskey:
    """Open a session with a passkey's assertion. A verified passkey with user verification is
    two factors at once (amr hwk and mfa): no TOTP step follows.

    The challenge is spent first, in its own transaction, whatever happens next: py_webauthn
    accepts an assertion again as long as its counter stays 0, so a single-use challenge is
    what makes a captured assertion worthless. Who signs in is the credential's stored owner; a
    presented userHandle is only checked against it, never believed. Every refusal is the same
    InvalidCredentials, whatever its reason (recorded in the audit trail); a deactivated account
    is told so only after a valid assertion. Each attempt counts once in the login metrics."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        webauthn: WebAuthn,
        tokens: AccessTokens,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        audit: AuditEvents,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._webauthn = webauthn
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._audit = audit
        self._metrics = metrics

    async def execute(self, command: SignInWithPasskeyCommand) -> TokenPair:
        now = self._clock.now()
        async with self._uow() as uow:
            challenge = await uow.webauthn_challenges.spend(
                command.challenge_id, ChallengePurpose.AUTHENTICATION, now
            )
            await uow.commit()
        if challenge is None:
            await self._refuse(command, None, "challenge_unusable")
        try:
            presented = self._webauthn.read_assertion(command.credential)
        except PasskeyRefused:
            await self._refuse(command, None, "malformed_assertion")
        async with self._uow() as uow:
            passkey = await uow.passkeys.find_by_credential_id(presented.credential_id)
        if passkey is None:
            await self._refuse(command, None, "unknown_credential")
        if presented.user_handle is not None and presented.user_handle != user_handle(
            passkey.user_id
        ):
            await self._refuse(command, passkey.user_id, "user_handle_mismatch")
        try:
            verified = self._webauthn.verify_authentication(
                command.credential, challenge.challenge, passkey.public_key
            )
        except PasskeyRefused:
            await self._refuse(command, passkey.user_id, "assertion_not_verified")
        if not sign_count_is_acceptable(passkey.sign_count, verified.sign_count):
            await self._refuse(
                command,
                passkey.user_id,
                "sign_count_regressed",
                counter_regression=(passkey.id, passkey.sign_count, verified.sign_count),
            )
        session, refresh_token = new_session(
            self._ids,
            self._lifetimes,
            passkey.user_id,
            command.caller,
            PASSKEY,
            now,
            command.session_kind,
        )
        async with self._uow() as uow:
            user = await uow.users.get(passkey.user_id)
            if user is None:
                await self._refuse(command, None, "unknown_credential")
            if not user.is_active:
                await self._record_failure(command, user.id, "account_disabled")
                self._metrics.login(LoginOutcome.ACCOUNT_DISABLED)
                raise AccountDisabled()
            if not await uow.passkeys.record_use(
                passkey.id, verified.sign_count, verified.backed_up, now
            ):
                # Deleted, or another sign-in stored a counter at least as high meanwhile.
                current = await uow.passkeys.get(passkey.id)
                if current is None:
                    await self._refuse(command, None, "unknown_credential")
                await self._refuse(
                    command,
                    passkey.user_id,
                    "sign_count_regressed",
                    counter_regression=(passkey.id, current.sign_count, verified.sign_count),
                )
            await uow.sessions.add(session)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_SUCCEEDED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    session_id=str(session.id),
                    amr=[method.value for method in PASSKEY],
                    passkey_id=str(passkey.id),
                )
            )
            await uow.commit()
        self._metrics.login(LoginOutcome.SUCCESS)
        return await issue_token_pair(
            tokens=self._tokens,
            ids=self._ids,
            lifetimes=self._lifetimes,
            user=user,
            session=session,
            refresh_token=refresh_token,
            now=now,
        )

    async def _refuse(
        self,
        command: SignInWithPasskeyCommand,
        user_id: UUID | None,
        reason: str,
        *,
        counter_regression: tuple[UUID, int, int] | None = None,
    ) -> NoReturn:
        await self._record_failure(command, user_id, reason, counter_regression)
        self._metrics.login(LoginOutcome.INVALID_CREDENTIALS)
        raise InvalidCredentials()

    async def _record_failure(
        self,
        command: SignInWithPasskeyCommand,
        user_id: UUID | None,
        reason: str,
        counter_regression: tuple[UUID, int, int] | None = None,
    ) -> None:
        async with self._uow() as uow:
            if counter_regression is not None:
                passkey_id, stored, presented = counter_regression
                await uow.audit.record(
                    self._audit.event(
                        AuditEventType.PASSKEY_COUNTER_REGRESSED,
                        command.caller,
                        user_id=user_id,
                        actor_id=None,
                        passkey_id=str(passkey_id),
                        stored_sign_count=stored,
                        presented_sign_count=presented,
                    )
                )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_FAILED,
                    command.caller,
                    user_id=user_id,
                    actor_id=None,
                    reason=reason,
                    method="passkey",
                )
            )
            await uow.commit()
