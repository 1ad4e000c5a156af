"""Why a sign-in through an upstream provider ended without signing anyone in: each reason is
audited, and the page says it in words."""

from __future__ import annotations

from enum import StrEnum

from application.errors import ApplicationError
from application.ports.upstream import UpstreamFailure


class UpstreamRefusal(StrEnum):
    UNKNOWN_PROVIDER = "unknown_provider"
    # No state, another browser's, one spent already (a replayed callback), or expired.
    STATE_MISMATCH = "state_mismatch"
    PROVIDER_ERROR = "provider_error"  # the provider answered with an error (a refusal, say)
    PROVIDER_UNREACHABLE = "provider_unreachable"
    TOKEN_REFUSED = "token_refused"  # noqa: S105 (a reason, not a secret)
    INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105 (a reason, not a secret)
    ACCOUNT_DISABLED = "account_disabled"
    SIGN_IN_FIRST = "sign_in_first"  # an account has this email; its owner must link it
    NO_EMAIL = "no_email"  # nothing linked, and no email to make an account with
    LINKED_ELSEWHERE = "linked_elsewhere"  # linking an upstream account another account holds
    CONFLICT = "conflict"  # another sign-in made the same account or link at the same moment


FROM_PROVIDER_FAILURE = {
    UpstreamFailure.UNREACHABLE: UpstreamRefusal.PROVIDER_UNREACHABLE,
    UpstreamFailure.TOKEN_REFUSED: UpstreamRefusal.TOKEN_REFUSED,
    UpstreamFailure.INVALID_ID_TOKEN: UpstreamRefusal.INVALID_ID_TOKEN,
}


class UpstreamSignInRefused(ApplicationError):
    """`provider_name`: the provider's label, for the page's words (None when unknown)."""

    def __init__(self, refusal: UpstreamRefusal, provider_name: str | None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.provider_name = provider_name
