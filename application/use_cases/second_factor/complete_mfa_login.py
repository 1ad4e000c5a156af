from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import AccountDisabled, InvalidMfaCode, InvalidMfaToken, TooManyRequests
from application.ports.metrics import LoginOutcome, SecurityMetrics
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.ports.security import AccessTokens, TotpAuthenticator
from application.ports.system import Clock, IdGenerator
from application.second_factor import SecondFactorProof, accept_second_factor
from application.secret_tokens import hash_secret_token
from application.sessions import new_session
from application.tokens import TokenLifetimes, TokenPair, issue_token_pair
from domain.audit_event import AuditEventType
from domain.auth_method import AuthMethod, after_second_step
from domain.login_throttle import LoginThrottlePolicy
from domain.second_factor import MfaChallenge
from domain.session import SessionKind


@dataclass(frozen=True, slots=True)
class CompleteMfaLoginCommand:
    mfa_token: str
    proof: SecondFactorProof
    caller: Caller = NO_CALLER
    session_kind: SessionKind = SessionKind.API


class CompleteMfaLogin:
    """The second step of a login: a code for the account whose password was proven opens the
    session. A wrong code counts against the mfa_token (five and it is spent) and against the
    account's login throttle, as a wrong password does."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authenticator: TotpAuthenticator,
        tokens: AccessTokens,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        audit: AuditEvents,
        throttle: LoginThrottlePolicy,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._authenticator = authenticator
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._audit = audit
        self._throttle = throttle
        self._metrics = metrics

    async def execute(self, command: CompleteMfaLoginCommand) -> TokenPair:
        now = self._clock.now()
        async with self._uow() as uow:
            challenge = await uow.mfa_challenges.find(hash_secret_token(command.mfa_token))
            if challenge is None or not challenge.is_usable(now):
                raise InvalidMfaToken()
            failures = await uow.login_failures.get(challenge.throttle_key)
            factor = await uow.totp.get(challenge.user_id)
        if failures is not None and self._throttle.is_throttled(failures, now):
            self._metrics.login(LoginOutcome.THROTTLED)
            raise TooManyRequests(self._throttle.retry_after_seconds(failures, now))
        if factor is None or not factor.is_enabled:
            raise InvalidMfaToken()  # TOTP was turned off since the password step
        async with self._uow() as uow:
            second_step = await accept_second_factor(
                uow, self._authenticator, factor, command.proof, now
            )
            if second_step is None:
                await self._record_wrong_code(uow, challenge, command.caller)
                await uow.commit()
                self._metrics.login(LoginOutcome.INVALID_MFA_CODE)
                raise InvalidMfaCode()
            methods = after_second_step(challenge.first_factor, second_step)
            if not await uow.mfa_challenges.spend(challenge.id, now):
                raise InvalidMfaToken()  # another request finished this login first
            user = await uow.users.get(challenge.user_id)
            if user is None:
                raise InvalidMfaToken()
            if not user.is_active:
                self._metrics.login(LoginOutcome.ACCOUNT_DISABLED)
                raise AccountDisabled()
            session, refresh_token = new_session(
                self._ids,
                self._lifetimes,
                user.id,
                command.caller,
                methods,
                now,
                command.session_kind,
            )
            await uow.sessions.add(session)
            await uow.login_failures.clear(challenge.throttle_key)
            if AuthMethod.ONE_TIME_PASSWORD not in methods:
                await uow.audit.record(
                    self._audit.event(
                        AuditEventType.RECOVERY_CODE_USED,
                        command.caller,
                        user_id=user.id,
                        actor_id=user.id,
                    )
                )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_SUCCEEDED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    session_id=str(session.id),
                    amr=[method.value for method in methods],
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

    async def _record_wrong_code(
        self, uow: UnitOfWork, challenge: MfaChallenge, caller: Caller
    ) -> None:
        await uow.mfa_challenges.record_wrong_code(challenge.id)
        await uow.login_failures.record_failure(
            challenge.throttle_key, self._clock.now(), self._throttle
        )
        await uow.audit.record(
            self._audit.event(
                AuditEventType.MFA_FAILED,
                caller,
                user_id=challenge.user_id,
                actor_id=None,
            )
        )
