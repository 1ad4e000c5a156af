"""One transaction on one connection, for exactly the `async with` block."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.audit import SqlAlchemyAuditLog
from adapters.persistence.errors import is_unavailable
from adapters.persistence.invitations import SqlAlchemyInvitationRepository
from adapters.persistence.linked_identities import (
    SqlAlchemyLinkedIdentityRepository,
    SqlAlchemyUpstreamSignInRepository,
)
from adapters.persistence.login_failures import SqlAlchemyLoginFailureCounter
from adapters.persistence.oauth_clients import SqlAlchemyOAuthClientRepository
from adapters.persistence.oauth_codes import SqlAlchemyAuthorizationCodeRepository
from adapters.persistence.oauth_grants import SqlAlchemyGrantRepository
from adapters.persistence.one_time_tokens import SqlAlchemyOneTimeTokenRepository
from adapters.persistence.outbox import SqlAlchemyOutbox
from adapters.persistence.passkeys import (
    SqlAlchemyPasskeyRepository,
    SqlAlchemyWebAuthnChallengeRepository,
)
from adapters.persistence.second_factor import (
    SqlAlchemyMfaChallengeRepository,
    SqlAlchemyRecoveryCodeRepository,
    SqlAlchemyTotpFactorRepository,
)
from adapters.persistence.sessions import SqlAlchemySessionRepository
from adapters.persistence.signing_keys import SqlAlchemySigningKeyRepository
from adapters.persistence.users import SqlAlchemyUserRepository
from adapters.persistence.webhooks import (
    SqlAlchemyDeliveryQueue,
    SqlAlchemyWebhookEventLog,
    SqlAlchemyWebhookRepository,
)
from application.errors import StorageUnavailable
from application.ports.persistence import (
    AuditLog,
    AuthorizationCodeRepository,
    DeliveryQueue,
    GrantRepository,
    InvitationRepository,
    LinkedIdentityRepository,
    LoginFailureCounter,
    MfaChallengeRepository,
    OAuthClientRepository,
    OneTimeTokenRepository,
    Outbox,
    PasskeyRepository,
    RecoveryCodeRepository,
    SessionRepository,
    SigningKeyRepository,
    TotpFactorRepository,
    UnitOfWork,
    UpstreamSignInRepository,
    UserRepository,
    WebAuthnChallengeRepository,
    WebhookEventLog,
    WebhookRepository,
)

if TYPE_CHECKING:
    from adapters.persistence.database import Database


class SqlAlchemyUnitOfWork:
    # Typed as the ports: a Protocol's attributes are invariant, so the concrete classes here
    # would keep this class from being a UnitOfWork in the type checker's eyes.
    users: UserRepository
    sessions: SessionRepository
    signing_keys: SigningKeyRepository
    one_time_tokens: OneTimeTokenRepository
    invitations: InvitationRepository
    outbox: Outbox
    audit: AuditLog
    login_failures: LoginFailureCounter
    totp: TotpFactorRepository
    recovery_codes: RecoveryCodeRepository
    mfa_challenges: MfaChallengeRepository
    passkeys: PasskeyRepository
    webauthn_challenges: WebAuthnChallengeRepository
    oauth_clients: OAuthClientRepository
    oauth_codes: AuthorizationCodeRepository
    oauth_grants: GrantRepository
    linked_identities: LinkedIdentityRepository
    upstream_sign_ins: UpstreamSignInRepository
    webhooks: WebhookRepository
    webhook_events: WebhookEventLog
    webhook_deliveries: DeliveryQueue

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        connection = await self._database.connect()
        self._connection = connection
        self.users = SqlAlchemyUserRepository(connection)
        self.sessions = SqlAlchemySessionRepository(connection)
        self.signing_keys = SqlAlchemySigningKeyRepository(connection, self._database.sealer)
        self.one_time_tokens = SqlAlchemyOneTimeTokenRepository(connection)
        self.invitations = SqlAlchemyInvitationRepository(connection)
        self.outbox = SqlAlchemyOutbox(connection)
        self.audit = SqlAlchemyAuditLog(connection)
        self.login_failures = SqlAlchemyLoginFailureCounter(connection)
        self.totp = SqlAlchemyTotpFactorRepository(connection, self._database.sealer)
        self.recovery_codes = SqlAlchemyRecoveryCodeRepository(connection)
        self.mfa_challenges = SqlAlchemyMfaChallengeRepository(connection)
        self.passkeys = SqlAlchemyPasskeyRepository(connection)
        self.webauthn_challenges = SqlAlchemyWebAuthnChallengeRepository(connection)
        self.oauth_clients = SqlAlchemyOAuthClientRepository(connection)
        self.oauth_codes = SqlAlchemyAuthorizationCodeRepository(connection)
        self.oauth_grants = SqlAlchemyGrantRepository(connection)
        self.linked_identities = SqlAlchemyLinkedIdentityRepository(connection)
        self.upstream_sign_ins = SqlAlchemyUpstreamSignInRepository(connection)
        self.webhooks = SqlAlchemyWebhookRepository(connection, self._database.sealer)
        self.webhook_events = SqlAlchemyWebhookEventLog(connection)
        self.webhook_deliveries = SqlAlchemyDeliveryQueue(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.close()  # rolls back whatever was not committed
        except Exception as error:
            if exc is None and is_unavailable(error):
                raise StorageUnavailable() from error
        if exc is not None and not isinstance(exc, StorageUnavailable) and is_unavailable(exc):
            raise StorageUnavailable() from exc

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit() outside the unit of work's block")
        await self._connection.commit()


if TYPE_CHECKING:  # mypy fails here the moment this class stops being a UnitOfWork
    _: type[UnitOfWork] = SqlAlchemyUnitOfWork
