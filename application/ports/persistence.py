"""Ports to storage. Repositories never commit: the unit of work that exposes them does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from application.outbox import OutboxMessage
from application.pagination import Position
from domain.audit_event import AuditEvent, AuditEventType
from domain.authorization_code import AuthorizationCode
from domain.email import Email
from domain.grant import Grant
from domain.invitation import Invitation
from domain.linked_identity import LinkedIdentity
from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from domain.oauth_client import OAuthClient
from domain.one_time_token import OneTimeToken, TokenPurpose
from domain.passkey import ChallengePurpose, Passkey, WebAuthnChallenge
from domain.role import Role
from domain.second_factor import MfaChallenge, RecoveryCode, TotpFactor
from domain.session import Session, SessionKind
from domain.session_scope import SessionScope
from domain.signing_key import SigningKey
from domain.upstream_sign_in import UpstreamSignIn
from domain.user import User
from domain.webhook import Webhook, WebhookDelivery, WebhookEvent


@dataclass(frozen=True, slots=True)
class UserFilter:
    """`q` matches a part of the email or the name, in any case."""

    q: str | None = None
    role: Role | None = None
    is_active: bool | None = None


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises EmailAlreadyRegistered if the email is taken."""

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_for_update(self, user_id: UUID) -> User | None:
        """As get, the row locked until the transaction ends where the database can
        (PostgreSQL): a change decided on the account's whole state (its last way to sign
        in, say) is decided by one transaction at a time. SQLite queues its writers instead,
        so such a change writes first and checks after."""

    async def get_by_email(self, email: Email) -> User | None: ...

    def track(self, user: User) -> User:
        """Take a user read from the database outside this unit of work, moments ago in the
        same request (the authenticated read), as stored; returns a copy to edit and `save`,
        which then writes only what the edit changed, without reading the user again."""

    async def save(self, user: User) -> None:
        """Write back the fields that changed since this unit of work read, tracked or wrote
        the user (every field of a user it never saw); raises EmailAlreadyRegistered if the new
        email is taken, NotFound if the user is no longer stored."""

    async def delete(self, user_id: UUID) -> None:
        """Remove the user and, with it, every session of theirs."""

    async def list_page(
        self, filter: UserFilter, *, after: Position | None, limit: int
    ) -> list[User]:
        """Users matching the filter, oldest first by (created_at, id), after a position."""

    async def lock_active_admins(self) -> set[UUID]:
        """The ids of active admins, locked until the transaction ends where the database can
        (PostgreSQL), so two concurrent demotions cannot both see "one other admin left"."""

    async def active_admins(self) -> set[UUID]: ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def revoke(self, scope: SessionScope, now: datetime) -> int:
        """Revoke the not-yet-revoked sessions the scope includes; returns how many."""

    async def revoke_of_client(self, user_id: UUID, client_id: str, now: datetime) -> int:
        """Revoke the not-yet-revoked sessions the account holds through this OAuth client;
        returns how many."""

    async def rotate_refresh_token(
        self,
        presented_hash: str,
        new_hash: str,
        now: datetime,
        kind: SessionKind = SessionKind.API,
    ) -> Session | None:
        """Atomically swap the refresh token of the usable session of this kind (an API or an
        OAuth client's) holding `presented_hash`, remembering the old hash as rotated; None when
        no usable session of the kind holds it. A browser session's secret is never traded.

        Usable, here and below, is Session.is_usable_under: a session bound to a parent (an
        OAuth session within its browser session) is usable only while the parent is."""

    async def find_usable_by_token(
        self, token_hash: str, kind: SessionKind, now: datetime
    ) -> Session | None:
        """The usable session of this kind whose secret hashes to `token_hash`."""

    async def find_usable_oauth_session(self, session_id: UUID, now: datetime) -> Session | None:
        """The usable OAuth session of this id: what an OAuth access token's `sid` names."""

    async def find_by_rotated_token(self, token_hash: str) -> Session | None:
        """The session a refresh token belonged to before it was rotated away."""

    async def list_usable_of_user(self, user_id: UUID, now: datetime) -> list[Session]:
        """Sessions neither revoked nor expired, newest first."""

    async def prune(self, *, expired_before: datetime, revoked_before: datetime) -> int:
        """Delete sessions expired before, or revoked before, the given times (and with each,
        the sessions living within it); returns how many matched."""


class SigningKeyRepository(Protocol):
    async def list(self) -> list[SigningKey]:
        """Every stored key, newest first."""

    async def add(self, key: SigningKey) -> None: ...

    async def save(self, key: SigningKey) -> None:
        """Write back the key's retirement."""


class OneTimeTokenRepository(Protocol):
    async def add(self, token: OneTimeToken) -> None: ...

    async def find_usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None: ...

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        """Mark the token used if it still was usable; False if someone used it first."""

    async def invalidate_unused(self, user_id: UUID, purpose: TokenPurpose, now: datetime) -> int:
        """Use up every still-unused token of that purpose (a newer one replaces them)."""

    async def count_created_since(
        self, user_id: UUID, purpose: TokenPurpose, since: datetime
    ) -> int: ...


class InvitationRepository(Protocol):
    async def add(self, invitation: Invitation) -> None: ...

    async def find_usable(self, token_hash: str, now: datetime) -> Invitation | None:
        """The invitation holding this token's hash if it is neither accepted nor expired."""

    async def accept(self, invitation_id: UUID, now: datetime) -> bool:
        """Mark the invitation accepted if it still was usable, in one atomic statement: of two
        transactions accepting it, exactly one gets True (the other waits, then gets False)."""

    async def withdraw_pending(self, email: Email) -> int:
        """Delete the address's invitations not yet accepted (a newer one replaces them);
        returns how many."""


class Outbox(Protocol):
    async def add(self, message: OutboxMessage) -> None: ...

    async def claim_due(
        self, now: datetime, *, claimant: str, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        """Atomically take up to `limit` due, unsent, unclaimed (or lease-expired) messages."""

    async def mark_sent(self, message_id: UUID, claimant: str, now: datetime) -> None: ...

    async def mark_failed(
        self,
        message_id: UUID,
        claimant: str,
        *,
        error: str,
        next_attempt_at: datetime,
        give_up_at: datetime | None,
    ) -> None:
        """Record a failed attempt and release the claim; with give_up_at, stop trying."""


class LoginFailureCounter(Protocol):
    async def get(self, key: str) -> FailedLogins | None: ...

    async def record_failure(
        self, key: str, now: datetime, policy: LoginThrottlePolicy
    ) -> FailedLogins:
        """Count one more failure atomically (concurrent failures all count), as
        `policy.after_failure` says, and return the new record."""

    async def clear(self, key: str) -> None: ...


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...

    async def list_page(
        self,
        *,
        user_id: UUID | None,
        type: AuditEventType | None,
        before: Position | None,
        limit: int,
    ) -> list[AuditEvent]:
        """Events, newest first by (created_at, id), before a position."""


class TotpFactorRepository(Protocol):
    async def get(self, user_id: UUID) -> TotpFactor | None: ...

    async def put_pending(self, factor: TotpFactor) -> None:
        """Store a set-up not yet confirmed, replacing the account's pending one if any;
        raises MfaAlreadyEnabled if the account's TOTP is on."""

    async def confirm(self, factor: TotpFactor, step: int, now: datetime) -> bool:
        """Turn this pending set-up on, its confirming code's step counted as used. False if
        the set-up is no longer the pending one (confirmed, restarted or removed meanwhile)."""

    async def accept_step(self, user_id: UUID, step: int) -> bool:
        """Advance the newest accepted step to `step` if it is newer, in one atomic statement:
        of two transactions accepting the same step, exactly one gets True."""

    async def delete(self, user_id: UUID) -> None: ...


class RecoveryCodeRepository(Protocol):
    async def replace(self, user_id: UUID, codes: list[RecoveryCode]) -> None:
        """The account's codes become exactly these; the old ones stop working."""

    async def unused(self, user_id: UUID) -> list[RecoveryCode]: ...

    async def use(self, code_id: UUID, now: datetime) -> bool:
        """Mark the code used if it was not, atomically: True for exactly one of two racers."""

    async def delete_all(self, user_id: UUID) -> None: ...


class MfaChallengeRepository(Protocol):
    async def add(self, challenge: MfaChallenge) -> None: ...

    async def find(self, token_hash: str) -> MfaChallenge | None: ...

    async def record_wrong_code(self, challenge_id: UUID) -> None:
        """Count a wrong code against a challenge still open, atomically."""

    async def spend(self, challenge_id: UUID, now: datetime) -> bool:
        """Close a challenge that is still open (unspent, under the wrong-code limit); True for
        exactly one of two racers."""

    async def prune(self, *, expired_before: datetime) -> int: ...


class PasskeyRepository(Protocol):
    async def add(self, passkey: Passkey) -> None:
        """Insert; raises PasskeyAlreadyRegistered if its credential id is stored already."""

    async def get(self, passkey_id: UUID) -> Passkey | None: ...

    async def find_by_credential_id(self, credential_id: bytes) -> Passkey | None: ...

    async def list_of_user(self, user_id: UUID) -> list[Passkey]:
        """The account's passkeys, oldest first."""

    async def save(self, passkey: Passkey) -> None:
        """Write back its name, the one thing a person edits; the counter is record_use's,
        so that a rename can never put an older counter back."""

    async def record_use(
        self, passkey_id: UUID, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        """Store a sign-in's counter if the stored one accepts it (sign_count_is_acceptable),
        in one atomic statement: of two sign-ins racing with counters, a lower one that
        arrives second is refused rather than written over a higher one."""

    async def delete(self, passkey_id: UUID) -> None: ...


class WebAuthnChallengeRepository(Protocol):
    async def add(self, challenge: WebAuthnChallenge) -> None: ...

    async def spend(
        self, challenge_id: UUID, purpose: ChallengePurpose, now: datetime
    ) -> WebAuthnChallenge | None:
        """Mark the challenge spent if it is of this purpose, unspent and unexpired, in one
        atomic statement, and return it; None otherwise. Of two transactions spending it, exactly
        one gets it (the other waits, then gets None)."""

    async def prune(self, *, expired_before: datetime) -> int: ...


class OAuthClientRepository(Protocol):
    async def add(self, client: OAuthClient) -> None: ...

    async def get(self, client_id: str) -> OAuthClient | None: ...

    async def save(self, client: OAuthClient) -> None:
        """Write back what an admin edits (name, URIs, first_party, the ID token algorithm,
        updated_at); never the secret, which is save_secret's, so that an edit made alongside
        a renewal can never put the old secret back."""

    async def save_secret(self, client: OAuthClient) -> None:
        """Write back the client's secret hash (and updated_at)."""

    async def delete(self, client_id: str) -> None:
        """Remove the client and, with it, every session, code and grant issued to it."""

    async def list(self) -> list[OAuthClient]:
        """Every client, oldest first by (created_at, client_id)."""


class AuthorizationCodeRepository(Protocol):
    async def add(self, code: AuthorizationCode) -> None: ...

    async def redeem(self, code_hash: str, now: datetime) -> AuthorizationCode | None:
        """Mark the code holding this hash used if it is unused and unexpired, in one atomic
        statement, and return it; None otherwise. Of two exchanges racing with one code,
        exactly one gets it (the other waits, then gets None)."""

    async def find_spent(self, code_hash: str) -> AuthorizationCode | None:
        """The used code holding this hash, expired or not: a second exchange presenting it
        learns what the first one opened."""

    async def record_issued_session(self, code_id: UUID, session_id: UUID) -> None:
        """Remember the session the code's exchange opened."""

    async def prune(self, *, expired_before: datetime) -> int:
        """Delete codes, used or not, that expired before the given time; returns how many."""


class GrantRepository(Protocol):
    async def get(self, user_id: UUID, client_id: str) -> Grant | None: ...

    async def upsert(self, grant: Grant) -> Grant:
        """Store the grant; when the account had granted the client before, the stored grant
        keeps its created_at and takes the union of both sets of scopes and this grant's
        updated_at. Two consents racing both count. Returns the grant as stored."""

    async def list_of_user(self, user_id: UUID) -> list[Grant]:
        """The account's grants, oldest first by (created_at, client_id)."""

    async def delete(self, user_id: UUID, client_id: str) -> bool:
        """Withdraw the grant; False when there was none."""


class LinkedIdentityRepository(Protocol):
    async def find(self, provider: str, subject: str) -> LinkedIdentity | None: ...

    async def add(self, identity: LinkedIdentity) -> None:
        """IdentityAlreadyLinked when (provider, subject) is linked already: of two sign-ins
        racing to link one upstream account, one links it."""

    async def save_email(self, identity: LinkedIdentity) -> None:
        """Write back the email the provider last gave."""

    async def list_of_user(self, user_id: UUID) -> list[LinkedIdentity]:
        """The account's linked identities, oldest first by (created_at, id)."""

    async def delete(self, user_id: UUID, identity_id: UUID) -> bool:
        """Unlink one of the account's identities; False when it has no such identity."""


class UpstreamSignInRepository(Protocol):
    async def add(self, sign_in: UpstreamSignIn) -> None: ...

    async def redeem(self, state_hash: str, now: datetime) -> UpstreamSignIn | None:
        """Mark the sign-in holding this state's hash used, if it is unused and unexpired, in
        one atomic statement, and return it; None otherwise. Of two callbacks racing with one
        state, exactly one gets it."""

    async def prune(self, *, expired_before: datetime) -> int:
        """Delete sign-ins, used or not, that expired before the given time; how many."""


class WebhookRepository(Protocol):
    """The endpoints told of events; each comes back with its secret in clear."""

    async def add(self, webhook: Webhook) -> None: ...

    async def get(self, webhook_id: UUID) -> Webhook | None: ...

    async def list(self) -> list[Webhook]:
        """Every endpoint, oldest first by (created_at, id)."""

    async def save(self, webhook: Webhook) -> None:
        """Write back its url, events, description, secret and updated_at."""

    async def delete(self, webhook_id: UUID) -> bool:
        """Remove the endpoint and, with it, its deliveries; False when there was none."""


class WebhookEventLog(Protocol):
    async def record(self, event: WebhookEvent, *, to: UUID | None = None) -> list[WebhookDelivery]:
        """Store the event and one pending delivery of it, due at once, to every endpoint
        subscribed to its type (or to `*`), in the caller's transaction; returns those
        deliveries. With `to`, to that one endpoint alone, whatever it subscribes to (none when
        there is no such endpoint): a test sent to it. Deliveries are numbered as they are
        written, and that number is their account's order: record an account's event after
        writing (or locking) the account's row, so that two transactions about one account
        number theirs in the order they commit."""


class DeliveryQueue(Protocol):
    """Deliveries of one account's events to one endpoint go out in order: one is claimable
    only while no earlier one of that account and endpoint is pending, claimed or not, due or
    not. Events of no account (`webhook.test`) are not ordered. A delivery is settled only by
    the worker whose claim it holds: after a lapsed lease, the late one's word is dropped."""

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int
    ) -> list[WebhookDelivery]:
        """Atomically take up to `limit` due pending deliveries, unclaimed or whose lease
        lapsed, each the earliest pending of its account and endpoint; oldest due first. Of
        dispatchers claiming at once, each delivery goes to one."""

    async def delivered(
        self, delivery_id: UUID, worker: str, status_code: int, now: datetime
    ) -> bool:
        """Record the endpoint's acceptance and release the claim; False when this worker no
        longer holds it."""

    async def retry(
        self, delivery_id: UUID, worker: str, status_code: int | None, next_attempt_at: datetime
    ) -> bool:
        """Record a failed attempt (None: no answer) and release the claim until then."""

    async def failed(
        self, delivery_id: UUID, worker: str, status_code: int | None, now: datetime
    ) -> bool:
        """Record the last failed attempt and give the delivery up: the next one of its
        account and endpoint may go."""

    async def list_of_webhook(
        self, webhook_id: UUID, *, before: Position | None, limit: int
    ) -> list[WebhookDelivery]:
        """The endpoint's deliveries, newest first by (created_at, id), before a position."""


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without commit() rolls everything back."""

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

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class AuthenticatedUserReader(Protocol):
    """Every authenticated request asks this, so it stands outside the unit of work: one read,
    no transaction to begin or end."""

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        """The active user owning this usable session, in one round trip; else None."""


@dataclass(frozen=True, slots=True)
class OAuthSessionOfToken:
    """What an OAuth access token says of the session it was issued in."""

    session_id: UUID
    user_id: UUID
    client_id: str


@dataclass(frozen=True, slots=True)
class IntrospectionFacts:
    """`client`: the client asking, found by the id it presented (None: no such client).
    `session_live`: the token's session is an OAuth session of that account and client, usable
    (within its browser session, if it lives in one), and the account is active."""

    client: OAuthClient | None
    session_live: bool


class IntrospectionReader(Protocol):
    """A resource server may introspect the access token of every request it serves, so this
    stands outside the unit of work too: one read, no transaction to begin or end."""

    async def read(
        self, asking_client_id: str, session: OAuthSessionOfToken, now: datetime
    ) -> IntrospectionFacts: ...


class DatabaseProbe(Protocol):
    async def ping(self) -> None:
        """Return when the database answers; raise StorageUnavailable when it does not."""
