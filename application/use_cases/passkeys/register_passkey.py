from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import InvalidPasskey
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasskeyRefused, WebAuthn
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.use_cases.passkeys.common import PasskeyView
from domain.audit_event import AuditEventType
from domain.passkey import DEFAULT_PASSKEY_NAME, ChallengePurpose, Passkey, check_passkey_name


@dataclass(frozen=True, slots=True)
class RegisterPasskeyCommand:
    principal: Principal
    challenge_id: UUID
    credential: dict[str, Any]
    name: str | None = None
    caller: Caller = NO_CALLER


class RegisterPasskey:
    """Store the passkey an authenticator made for the options of `challenge_id`. The challenge
    is spent first, in its own transaction, so that it is gone whatever happens next; it must
    be a registration challenge of this very account. A credential id stored already (for any
    account) is refused like a credential that does not verify."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        webauthn: WebAuthn,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._webauthn = webauthn
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: RegisterPasskeyCommand) -> PasskeyView:
        user = command.principal.user
        name = check_passkey_name(command.name or DEFAULT_PASSKEY_NAME)
        now = self._clock.now()
        async with self._uow() as uow:
            challenge = await uow.webauthn_challenges.spend(
                command.challenge_id, ChallengePurpose.REGISTRATION, now
            )
            await uow.commit()
        if challenge is None or challenge.user_id != user.id:
            raise InvalidPasskey()
        try:
            verified = self._webauthn.verify_registration(command.credential, challenge.challenge)
        except PasskeyRefused:
            raise InvalidPasskey() from None
        passkey = Passkey(
            id=self._ids.new_id(),
            user_id=user.id,
            credential_id=verified.credential_id,
            public_key=verified.public_key,
            sign_count=verified.sign_count,
            name=name,
            backed_up=verified.backed_up,
            transports=verified.transports,
            created_at=now,
        )
        async with self._uow() as uow:
            if await uow.passkeys.find_by_credential_id(passkey.credential_id) is not None:
                raise InvalidPasskey()
            await uow.passkeys.add(passkey)  # the unique index settles a race
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.PASSKEY_ADDED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    passkey_id=str(passkey.id),
                )
            )
            await send_security_notice(
                uow, ids=self._ids, to=user.email, kind=SecurityNotice.PASSKEY_ADDED, now=now
            )
            await uow.commit()
        return PasskeyView.of(passkey)
