"""Request and response bodies. Requests forbid unknown fields: no mass assignment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from application.tokens import TokenPair
from application.use_cases.list_sessions import SessionView
from application.use_cases.oidc.list_grants import GrantView
from application.use_cases.passkeys.common import PasskeyCeremony, PasskeyView
from application.use_cases.webhooks.common import (
    MAX_DESCRIPTION_LENGTH as MAX_WEBHOOK_DESCRIPTION_LENGTH,
)
from application.use_cases.webhooks.common import MAX_URL_LENGTH as MAX_WEBHOOK_URL_LENGTH
from domain.audit_event import AuditEvent, AuditEventType
from domain.email import MAX_EMAIL_LENGTH, Email
from domain.errors import DomainError
from domain.invitation import Invitation
from domain.linked_identity import LinkedIdentity
from domain.oauth_client import (
    MAX_POST_LOGOUT_REDIRECT_URIS,
    MAX_REDIRECT_URIS,
    MAX_URI_LENGTH,
    ClientType,
    IdTokenAlgorithm,
    OAuthClient,
    check_client_name,
    redirect_uri_problem,
)
from domain.oauth_scope import Scope
from domain.role import Role
from domain.user import MAX_NAME_LENGTH, User, check_display_name
from domain.webhook import DeliveryStatus, Webhook, WebhookDelivery, WebhookEventType

# Enough for any real password, small enough that nobody makes us hash a megabyte.
MAX_PASSWORD_INPUT = 4096


def _valid_email(value: str) -> str:
    try:
        return Email.parse(value).value
    except DomainError as error:
        raise ValueError(str(error)) from None


def _valid_name(value: str | None) -> str | None:
    try:
        return check_display_name(value)
    except DomainError as error:
        raise ValueError(str(error)) from None


# `format: email` tells clients (and the fuzzer) what is wanted; the check is Email.parse's.
EmailInput = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH + 64, json_schema_extra={"format": "email"}),
    AfterValidator(_valid_email),
]
NameInput = Annotated[
    str | None, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_valid_name)
]
PasswordInput = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_INPUT)]
# Generous on purpose: a token of another kind (an access token, a few hundred characters or
# more) must reach the use case and be refused with the contract's own code, not a 422.
MAX_TOKEN_INPUT = 4096
TokenInput = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_INPUT)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _documented_without_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """For fields that may be left out but not sent as null: pydantic documents `X | None =
    None` as nullable, and a client generated from that would send the null we refuse."""

    def drop_null(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            field.pop("default", None)
            (kept,) = [option for option in field.pop("anyOf") if option != {"type": "null"}]
            field.update(kept)

    return drop_null


class SignupRequest(RequestModel):
    email: EmailInput
    password: PasswordInput
    name: NameInput = None


class LoginRequest(RequestModel):
    # Not syntax-checked: a malformed email is just a wrong credential, answered the same way.
    email: Annotated[str, Field(max_length=MAX_EMAIL_LENGTH + 64)]
    password: PasswordInput


class TokenForm(RequestModel):
    """The OAuth2 password grant, as the docs' Authorize button sends it."""

    username: Annotated[str, Field(max_length=MAX_EMAIL_LENGTH + 64)]
    password: PasswordInput
    grant_type: Literal["password"] | None = None
    scope: Annotated[str, Field(max_length=1024)] = ""
    client_id: Annotated[str | None, Field(max_length=256)] = None
    client_secret: Annotated[str | None, Field(max_length=256)] = None


class RefreshRequest(RequestModel):
    refresh_token: TokenInput


class ForgotPasswordRequest(RequestModel):
    email: EmailInput


class ResetPasswordRequest(RequestModel):
    token: TokenInput
    new_password: PasswordInput


class VerifyEmailRequest(RequestModel):
    token: TokenInput


class AcceptedResponse(BaseModel):
    detail: str


class UpdateMeRequest(RequestModel):
    """Only the fields sent are changed; `name: null` clears the name. A new `email` needs
    `current_password` (a missing one is a 422, a wrong one `400 invalid_current_password`);
    the same email in another case changes nothing and needs none."""

    model_config = ConfigDict(
        json_schema_extra=_documented_without_null("email", "current_password")
    )

    name: NameInput = None
    email: EmailInput | None = None
    current_password: PasswordInput | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _email_is_not_nullable(cls, value: object) -> object:
        if value is None:
            raise ValueError("an account always has an email")
        return value

    @field_validator("current_password", mode="before")
    @classmethod
    def _current_password_is_not_nullable(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave current_password out rather than send null")
        return value


class ChangePasswordRequest(RequestModel):
    current_password: PasswordInput
    new_password: PasswordInput


class DeleteMeRequest(RequestModel):
    password: PasswordInput


class UserResponse(BaseModel):
    id: UUID
    email: str
    name: str | None
    role: Role
    is_active: bool
    is_verified: bool
    mfa_enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(
            id=user.id,
            email=user.email.value,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
            is_verified=user.is_verified,
            mfa_enabled=user.mfa_enabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class TokenPairResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairResponse:
        return cls(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
        )


class SessionResponse(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionResponse:
        return cls(
            id=view.id,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            expires_at=view.expires_at,
            user_agent=view.user_agent,
            ip=view.ip,
            current=view.current,
        )


class GrantResponse(BaseModel):
    client_id: str
    name: str = Field(description="The application's name, as its admin registered it.")
    scopes: list[Scope]
    created_at: datetime
    updated_at: datetime = Field(description="When the grant last widened.")

    @classmethod
    def of(cls, view: GrantView) -> GrantResponse:
        return cls(
            client_id=view.client_id,
            name=view.client_name,
            scopes=list(view.scopes),
            created_at=view.created_at,
            updated_at=view.updated_at,
        )


class UpstreamProviderResponse(BaseModel):
    id: str = Field(description="Names the provider in /login/{provider}.")
    name: str = Field(description="Its sign-in button's label.")


class IdentityResponse(BaseModel):
    id: UUID
    provider: str
    subject: str = Field(description="The account's identifier at the provider (`sub`).")
    email: str | None = Field(description="The email the provider gave when last signed in.")
    created_at: datetime

    @classmethod
    def of(cls, identity: LinkedIdentity) -> IdentityResponse:
        return cls(
            id=identity.id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
            created_at=identity.created_at,
        )


class CreateUserRequest(RequestModel):
    email: EmailInput
    password: PasswordInput
    name: NameInput = None
    role: Role = Role.USER


class InvitationRequest(RequestModel):
    email: EmailInput
    role: Role = Role.USER
    name: NameInput = Field(default=None, description="Suggested; the person may change it.")


class InvitationResponse(BaseModel):
    id: UUID
    email: str
    role: Role
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationResponse:
        return cls(
            id=invitation.id,
            email=invitation.email.value,
            role=invitation.role,
            expires_at=invitation.expires_at,
        )


class AdminUpdateUserRequest(RequestModel):
    """Only the fields sent are changed; `name: null` clears the name."""

    model_config = ConfigDict(
        json_schema_extra=_documented_without_null("email", "role", "is_active", "is_verified")
    )

    name: NameInput = None
    email: EmailInput | None = None
    role: Role | None = None
    is_active: bool | None = None
    is_verified: bool | None = None

    @field_validator("email", "role", "is_active", "is_verified", mode="before")
    @classmethod
    def _not_nullable(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class UserListResponse(BaseModel):
    items: list[UserResponse]
    next_cursor: str | None


class AuditEventResponse(BaseModel):
    id: UUID
    type: AuditEventType
    user_id: UUID | None
    actor_id: UUID | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventResponse:
        return cls(
            id=event.id,
            type=event.type,
            user_id=event.user_id,
            actor_id=event.actor_id,
            ip=event.ip,
            user_agent=event.user_agent,
            created_at=event.created_at,
            data=event.data,
        )


class AuditEventListResponse(BaseModel):
    items: list[AuditEventResponse]
    next_cursor: str | None


class StatusResponse(BaseModel):
    status: Literal["ok"] = "ok"


class PublicJwk(BaseModel):
    """One public key (RFC 7517). The members named here are in every key Portcullis
    publishes; the others depend on the key type (`crv`, `x`, `y` for EC and OKP; `n`, `e` and
    `key_ops`, a list, for RSA) and are passed on as they are stored."""

    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    alg: str
    use: str


class JwksResponse(BaseModel):
    keys: list[PublicJwk]


# A TOTP code is six digits and a recovery code 19 characters; room for spaces around them.
CodeInput = Annotated[str, Field(min_length=1, max_length=64)]


class MfaLoginRequest(RequestModel):
    """The second step of a login: the mfa_token and either a TOTP code or a recovery code."""

    mfa_token: TokenInput
    code: CodeInput | None = None
    recovery_code: CodeInput | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> MfaLoginRequest:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send either code or recovery_code")
        return self


class CurrentPasswordRequest(RequestModel):
    current_password: PasswordInput


class TotpCodeRequest(RequestModel):
    code: CodeInput


class PasswordAndCodeRequest(RequestModel):
    current_password: PasswordInput
    code: CodeInput = Field(description="A TOTP code or a recovery code.")


class TotpSetupResponse(BaseModel):
    secret: str = Field(description="Base32, for typing into an app that cannot scan.")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document.")


class RecoveryCodesResponse(BaseModel):
    recovery_codes: list[str] = Field(description="Shown this once; each works once.")


class MfaStatusResponse(BaseModel):
    totp_enabled: bool
    recovery_codes_remaining: int


class EmptyRequest(RequestModel):
    """A body that may only be `{}`."""


class PasskeyOptionsResponse(BaseModel):
    """`public_key`: the WebAuthn Level 3 JSON of the options, for
    `PublicKeyCredential.parseCreationOptionsFromJSON` or `parseRequestOptionsFromJSON`."""

    challenge_id: UUID
    public_key: dict[str, Any]

    @classmethod
    def of(cls, ceremony: PasskeyCeremony) -> PasskeyOptionsResponse:
        return cls(challenge_id=ceremony.challenge_id, public_key=ceremony.public_key)


class RegisterPasskeyRequest(RequestModel):
    """`credential`: the JSON of `PublicKeyCredential.toJSON()`; `name` defaults to "Passkey"."""

    challenge_id: UUID
    credential: dict[str, Any]
    name: NameInput = None


class RenamePasskeyRequest(RequestModel):
    name: Annotated[
        str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_valid_name)
    ]


class PasskeyLoginRequest(RequestModel):
    """`credential`: the JSON of `PublicKeyCredential.toJSON()` of the assertion."""

    challenge_id: UUID
    credential: dict[str, Any]


class PasskeyResponse(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool

    @classmethod
    def of(cls, view: PasskeyView) -> PasskeyResponse:
        return cls(
            id=view.id,
            name=view.name,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            backed_up=view.backed_up,
        )


def _valid_redirect_uri(uri: str) -> str:
    problem = redirect_uri_problem(uri)
    if problem is not None:
        raise ValueError(problem)
    return uri


def _valid_client_name(name: str) -> str:
    try:
        return check_client_name(name)
    except DomainError as error:
        raise ValueError(str(error)) from None


ClientNameInput = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_valid_client_name)
]
RedirectUriInput = Annotated[
    str,
    Field(min_length=1, max_length=MAX_URI_LENGTH),
    AfterValidator(_valid_redirect_uri),
]
RedirectUrisInput = Annotated[
    list[RedirectUriInput], Field(min_length=1, max_length=MAX_REDIRECT_URIS)
]
PostLogoutRedirectUrisInput = Annotated[
    list[RedirectUriInput], Field(max_length=MAX_POST_LOGOUT_REDIRECT_URIS)
]
_REDIRECT_URIS = (
    "Compared exactly, as strings. `https://`, or `http://` on localhost, 127.0.0.1 or [::1]; "
    "no fragment; no duplicates."
)


class RegisterClientRequest(RequestModel):
    name: ClientNameInput
    type: ClientType
    redirect_uris: RedirectUrisInput = Field(description=_REDIRECT_URIS)
    post_logout_redirect_uris: PostLogoutRedirectUrisInput = Field(
        default_factory=list, description=_REDIRECT_URIS
    )
    first_party: bool = Field(
        default=False, description="Trusted: people are not asked for their consent."
    )
    id_token_signed_response_alg: IdTokenAlgorithm = IdTokenAlgorithm.RS256


_CLIENT_FIELDS = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "first_party",
    "id_token_signed_response_alg",
)


class UpdateClientRequest(RequestModel):
    """Only the fields sent are changed. The type cannot change: register another client."""

    model_config = ConfigDict(json_schema_extra=_documented_without_null(*_CLIENT_FIELDS))

    name: ClientNameInput | None = None
    redirect_uris: RedirectUrisInput | None = None
    post_logout_redirect_uris: PostLogoutRedirectUrisInput | None = None
    first_party: bool | None = None
    id_token_signed_response_alg: IdTokenAlgorithm | None = None

    @model_validator(mode="before")
    @classmethod
    def _type_is_fixed(cls, data: object) -> object:
        if isinstance(data, dict) and "type" in data:
            raise ValueError("a client's type cannot change: register another client")
        return data

    @field_validator(*_CLIENT_FIELDS, mode="before")
    @classmethod
    def _not_nullable(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class OAuthClientResponse(BaseModel):
    client_id: str
    name: str
    type: ClientType
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    first_party: bool
    id_token_signed_response_alg: IdTokenAlgorithm
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, client: OAuthClient) -> OAuthClientResponse:
        return cls(
            client_id=client.client_id,
            name=client.name,
            type=client.type,
            redirect_uris=list(client.redirect_uris),
            post_logout_redirect_uris=list(client.post_logout_redirect_uris),
            first_party=client.first_party,
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            created_at=client.created_at,
            updated_at=client.updated_at,
        )


class RegisteredClientResponse(OAuthClientResponse):
    client_secret: str | None = Field(
        default=None,
        description="A confidential client's secret, shown this once (left out for a public "
        "client). Only its hash is stored.",
    )


class OAuthClientListResponse(BaseModel):
    items: list[OAuthClientResponse]


class ClientSecretResponse(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown this once; the previous one no longer works.")


WebhookUrlInput = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_WEBHOOK_URL_LENGTH,
        description="An absolute https URL whose host resolves to public addresses only.",
    ),
]
WebhookEventsInput = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=len(WebhookEventType) + 1,
        description="Event types to send, or just `*` for every type.",
    ),
]
WebhookDescriptionInput = Annotated[str | None, Field(max_length=MAX_WEBHOOK_DESCRIPTION_LENGTH)]


class RegisterWebhookRequest(RequestModel):
    url: WebhookUrlInput
    events: WebhookEventsInput
    description: WebhookDescriptionInput = None


class UpdateWebhookRequest(RequestModel):
    """Only the fields sent are changed; a description of null removes it."""

    model_config = ConfigDict(json_schema_extra=_documented_without_null("url", "events"))

    url: WebhookUrlInput | None = None
    events: WebhookEventsInput | None = None
    description: WebhookDescriptionInput = None

    @field_validator("url", "events", mode="before")
    @classmethod
    def _not_nullable(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class WebhookResponse(BaseModel):
    id: UUID
    url: str
    events: list[str]
    description: str | None
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookResponse:
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=sorted(webhook.events),
            description=webhook.description,
            created_at=webhook.created_at,
        )


class RegisteredWebhookResponse(WebhookResponse):
    secret: str = Field(
        description="The signing secret (`whsec_` and base64), shown this once and never again."
    )


class WebhookDeliveryResponse(BaseModel):
    id: str = Field(description="The event's `webhook-id`, the same on every attempt.")
    type: WebhookEventType
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    next_attempt_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> WebhookDeliveryResponse:
        return cls(
            id=delivery.event_id,
            type=delivery.type,
            status=delivery.status,
            attempts=delivery.attempts,
            last_response_status=delivery.last_response_status,
            next_attempt_at=delivery.next_attempt_at,
            created_at=delivery.created_at,
        )


class WebhookDeliveryListResponse(BaseModel):
    items: list[WebhookDeliveryResponse]
    next_cursor: str | None


class WebhookTestResponse(BaseModel):
    id: str = Field(description="The test event's `webhook-id`, as its delivery lists it.")
