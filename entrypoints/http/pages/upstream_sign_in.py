"""Signing in through an upstream OpenID provider in the browser: off to the provider with a state
that this browser also keeps in a cookie, then back at the callback, where the browser is signed
in, asked its second step, or told in words why not."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from application.caller import Caller
from application.errors import NotFound
from application.tokens import MFA_METHODS
from application.use_cases.upstream.complete_sign_in import (
    CompleteUpstreamSignIn,
    CompleteUpstreamSignInCommand,
    LinkedUpstream,
    SecondStepUpstream,
)
from application.use_cases.upstream.refusals import UpstreamRefusal, UpstreamSignInRefused
from application.use_cases.upstream.start_sign_in import (
    StartUpstreamSignIn,
    StartUpstreamSignInCommand,
    UpstreamRedirect,
)
from entrypoints.http.browser_session import (
    MAX_RETURN_TO,
    MAX_SECRET_LENGTH,
    hand_over_session,
    safe_return_to,
)
from entrypoints.http.dependencies import container_of, rate_limited, request_caller, use_case
from entrypoints.http.pages.rendering import HTML, error_page, page, see_other
from entrypoints.http.pages.sign_in import second_step_form
from entrypoints.settings import PROVIDER_ID_PATTERN, RESERVED_PROVIDER_IDS, Settings


class ProviderIdConvertor(Convertor[str]):
    """A provider id in a path: what the settings accept, never the name of a sign-in page
    beside /login/{provider} (so /login/second-step stays that page's alone, its Allow header
    included)."""

    regex = (
        "(?!(?:"
        + "|".join(re.escape(i) for i in RESERVED_PROVIDER_IDS)
        + ")(?![a-z0-9-]))"
        + PROVIDER_ID_PATTERN
    )

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("provider_id", ProviderIdConvertor())

router = APIRouter(tags=["pages"])

STATE_COOKIE = "portcullis_upstream"
# Only the callbacks (/login/{provider}/callback) need it back.
STATE_COOKIE_PATH = "/login/"
STATE_COOKIE_SECONDS = 600
# A provider's codes and error codes are short; anything much longer is not a callback.
MAX_CALLBACK_VALUE = 2048
LINKED_NOTICE = "identity-linked"

TO_PROVIDER = {"description": "On to the provider's sign-in page"}
REFUSED_TITLE = "That sign-in did not work"
UNREACHABLE_TITLE = "Please try again in a moment"
CONTINUE_TITLE = "Linking your account"


def callback_uri(settings: Settings, provider_id: str) -> str:
    """The redirect URI registered at the provider, exactly as the README gives it."""
    return f"{settings.public_url}/login/{provider_id}/callback"


def to_the_provider(
    request: Request, redirect: UpstreamRedirect, *, from_a_form_to: str | None = None
) -> Response:
    """The browser sent to the provider, keeping the state the callback must bring back. The
    cookie is SameSite=Lax: the provider sends the browser back by a top-level GET, which Lax
    lets it ride along with.

    `from_a_form_to`: the provider's name, when a form of ours was posted to get here. Chromium
    checks every redirect that follows a form's submission against the page's `form-action
    'self'`, so the browser goes on from a page that moves on by itself instead."""
    settings = container_of(request).settings()
    response: Response
    if from_a_form_to is None:
        response = see_other(redirect.url)
    else:
        response = page(
            request,
            "upstream_continue.html",
            title=CONTINUE_TITLE,
            destination=redirect.url,
            provider=from_a_form_to,
        )
    response.set_cookie(
        STATE_COOKIE,
        redirect.state,
        max_age=STATE_COOKIE_SECONDS,
        path=STATE_COOKIE_PATH,
        secure=settings.public_url_is_https,
        httponly=True,
        samesite="lax",
    )
    return response


def refusal_words(refusal: UpstreamRefusal, provider: str) -> str:
    """What the page says for each way the sign-in can end without one."""
    words = {
        UpstreamRefusal.UNKNOWN_PROVIDER: "There is no provider of that name to sign in with.",
        UpstreamRefusal.STATE_MISMATCH: (
            f"This sign-in with {provider} was not started in this browser, took too long, "
            "or was already used. Please start again from the sign-in page."
        ),
        UpstreamRefusal.PROVIDER_ERROR: (
            f"{provider} did not sign you in (it was cancelled or refused there). "
            "Please try again, or sign in another way."
        ),
        UpstreamRefusal.PROVIDER_UNREACHABLE: (
            f"{provider} could not be reached. Please try again in a moment, "
            "or sign in another way."
        ),
        UpstreamRefusal.TOKEN_REFUSED: (
            f"{provider} did not accept this sign-in when we checked it with them. "
            "Please start again from the sign-in page."
        ),
        UpstreamRefusal.INVALID_ID_TOKEN: (
            f"What {provider} answered could not be verified, so nobody was signed in. "
            "Please try again later, or sign in another way."
        ),
        UpstreamRefusal.ACCOUNT_DISABLED: (
            "This account is deactivated. Ask an administrator if you think it should not be."
        ),
        UpstreamRefusal.SIGN_IN_FIRST: (
            "An account with this email exists. Sign in with your password, "
            f"then link {provider} from your account page."
        ),
        UpstreamRefusal.NO_EMAIL: (
            f"{provider} did not tell us an email address, so no account could be made. "
            "Allow it to share your email, or sign up with a password."
        ),
        UpstreamRefusal.LINKED_ELSEWHERE: (
            f"That {provider} account is already linked to another account here, "
            "so it was not linked to yours."
        ),
        UpstreamRefusal.CONFLICT: (
            f"Another sign-in with the same {provider} account happened at the same moment. "
            "Please try again."
        ),
    }
    return words[refusal]


REFUSAL_STATUS = {
    UpstreamRefusal.UNKNOWN_PROVIDER: 404,
    UpstreamRefusal.ACCOUNT_DISABLED: 403,
    UpstreamRefusal.SIGN_IN_FIRST: 409,
    UpstreamRefusal.LINKED_ELSEWHERE: 409,
    UpstreamRefusal.CONFLICT: 409,
    UpstreamRefusal.PROVIDER_UNREACHABLE: 502,
    UpstreamRefusal.TOKEN_REFUSED: 502,
    UpstreamRefusal.INVALID_ID_TOKEN: 502,
}


def refusal_page(request: Request, refused: UpstreamSignInRefused) -> HTMLResponse:
    return page_with_way_back(
        request,
        REFUSED_TITLE,
        refusal_words(refused.refusal, refused.provider_name or "The provider"),
        REFUSAL_STATUS.get(refused.refusal, 400),
    )


def page_with_way_back(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    """What went wrong, in words, and the way back to the sign-in page."""
    return page(request, "upstream_refused.html", status, title=title, message=message)


async def start(
    request: Request,
    start_sign_in: StartUpstreamSignIn,
    command: StartUpstreamSignInCommand,
    *,
    from_a_form: bool = False,
) -> Response:
    """The browser on its way to the provider, or the page saying why it is not."""
    try:
        redirect = await start_sign_in.execute(command)
    except NotFound:
        return error_page(request, 404, "")
    except UpstreamSignInRefused as refused:
        return page_with_way_back(
            request,
            UNREACHABLE_TITLE,
            refusal_words(refused.refusal, refused.provider_name or "The provider"),
            503,
        )
    name = provider_name(request, command.provider_id) if from_a_form else None
    return to_the_provider(request, redirect, from_a_form_to=name)


def provider_name(request: Request, provider_id: str) -> str:
    providers = container_of(request).list_upstream_providers().execute()
    return next((p.name for p in providers if p.id == provider_id), provider_id)


@router.get(
    "/login/{provider:provider_id}",
    response_class=HTMLResponse,
    responses={303: TO_PROVIDER, 404: HTML, 429: HTML, 503: HTML},
    dependencies=[rate_limited("login_upstream")],
)
async def upstream_sign_in_started(
    request: Request,
    provider: str,
    return_to: Annotated[str | None, Query(max_length=MAX_RETURN_TO)] = None,
    start_sign_in: StartUpstreamSignIn = use_case(lambda c: c.start_upstream_sign_in),
) -> Response:
    """Off to the provider to sign in there; back at the callback, then on to `return_to`."""
    settings = container_of(request).settings()
    command = StartUpstreamSignInCommand(
        provider_id=provider,
        redirect_uri=callback_uri(settings, provider),
        return_to=safe_return_to(return_to),
    )
    return await start(request, start_sign_in, command)


def one_value(request: Request, name: str) -> tuple[str | None, bool]:
    """The query's one value of `name` (None when absent), and whether it looks like one: not
    repeated, not overlong, plain ASCII (what a provider sends; the state is compared in
    constant time, which takes ASCII)."""
    values = request.query_params.getlist(name)
    if not values:
        return None, True
    value = values[0]
    if len(values) > 1 or len(value) > MAX_CALLBACK_VALUE or not value.isascii():
        return None, False
    return value, True


def cookie_state(request: Request) -> str | None:
    held = request.cookies.get(STATE_COOKIE)
    if not held or len(held) > MAX_SECRET_LENGTH or not held.isascii():
        return None
    return held


def forget_state(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        STATE_COOKIE,
        path=STATE_COOKIE_PATH,
        secure=settings.public_url_is_https,
        httponly=True,
        samesite="lax",
    )


@router.get(
    "/login/{provider:provider_id}/callback",
    response_class=HTMLResponse,
    responses={
        303: {"description": "Signed in or linked: on to `return_to`"},
        400: HTML,
        403: HTML,
        404: HTML,
        409: HTML,
        429: HTML,
        502: HTML,
    },
    dependencies=[rate_limited("login_upstream_callback", login=True)],
)
async def upstream_callback(
    request: Request,
    provider: str,
    caller: Caller = request_caller(),
    complete: CompleteUpstreamSignIn = use_case(lambda c: c.complete_upstream_sign_in),
) -> Response:
    """Where the provider sends the browser back, with `state` and `code`, or `error`."""
    settings = container_of(request).settings()
    state, state_ok = one_value(request, "state")
    code, code_ok = one_value(request, "code")
    error, error_ok = one_value(request, "error")
    if not (code_ok and error_ok):
        # A garbled answer is no answer: the use case refuses it, spending the state.
        code, error = None, "invalid_callback"
    command = CompleteUpstreamSignInCommand(
        provider_id=provider,
        redirect_uri=callback_uri(settings, provider),
        state=state if state_ok else None,
        browser_state=cookie_state(request),
        code=code,
        error=error,
        caller=caller,
    )
    response: Response
    try:
        done = await complete.execute(command)
    except UpstreamSignInRefused as refused:
        response = refusal_page(request, refused)
    else:
        if isinstance(done, SecondStepUpstream):
            response = second_step_form(
                request,
                mfa_token=done.mfa_token,
                return_to=safe_return_to(done.return_to),
                methods=MFA_METHODS,
            )
        elif isinstance(done, LinkedUpstream):
            response = see_other(f"/account?done={LINKED_NOTICE}")
        else:
            # The provider's redirect started this navigation, not a form of ours: a plain
            # redirect may go on to an authorization request and its client.
            response = see_other(safe_return_to(done.return_to))
            await hand_over_session(request, response, done.session_token)
    forget_state(response, settings)
    return response
