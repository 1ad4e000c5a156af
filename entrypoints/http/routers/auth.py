from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response, status

from application.caller import Caller, Principal
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.revoke_sessions import RevokeSessions, RevokeSessionsCommand
from entrypoints.http.dependencies import authenticated, rate_limited, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    LoginRequest,
    RefreshRequest,
    SignupRequest,
    TokenForm,
    TokenPairResponse,
    UserResponse,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses=problems(409, 413, 422, 429, 503),
    dependencies=[rate_limited("signup")],
)
async def signup(
    body: SignupRequest,
    response: Response,
    caller: Caller = request_caller(),
    register: RegisterUser = use_case(lambda c: c.register_user),
) -> UserResponse:
    user = await register.execute(
        RegisterUserCommand(email=body.email, password=body.password, name=body.name, caller=caller)
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.of(user)


@router.post(
    "/login",
    response_model=TokenPairResponse,
    responses=problems(401, 403, 413, 422, 429, 503),
    dependencies=[rate_limited("login", login=True)],
)
async def login(
    body: LoginRequest,
    caller: Caller = request_caller(),
    log_in: LogIn = use_case(lambda c: c.log_in),
) -> TokenPairResponse:
    pair = await log_in.execute(
        LogInCommand(email=body.email, password=body.password, caller=caller)
    )
    return TokenPairResponse.of(pair)


@router.post(
    "/token",
    response_model=TokenPairResponse,
    # 400: a form body that cannot be parsed at all (a multipart one without its boundary).
    responses=problems(400, 401, 403, 413, 422, 429, 503),
    dependencies=[rate_limited("token", login=True)],
)
async def token(
    form: Annotated[TokenForm, Form()],
    caller: Caller = request_caller(),
    log_in: LogIn = use_case(lambda c: c.log_in),
) -> TokenPairResponse:
    """The OAuth2 password flow (form-encoded), for the Authorize button of /docs."""
    pair = await log_in.execute(
        LogInCommand(email=form.username, password=form.password, caller=caller)
    )
    return TokenPairResponse.of(pair)


@router.post(
    "/refresh",
    response_model=TokenPairResponse,
    responses=problems(401, 413, 422, 429, 503),
    dependencies=[rate_limited("refresh")],
)
async def refresh(
    body: RefreshRequest,
    caller: Caller = request_caller(),
    refresh_tokens: RefreshTokens = use_case(lambda c: c.refresh_tokens),
) -> TokenPairResponse:
    """Trade a refresh token for a new pair. A token works once: replaying an already-traded
    one revokes its whole session (`refresh_token_reused`)."""
    pair = await refresh_tokens.execute(
        RefreshTokensCommand(refresh_token=body.refresh_token, caller=caller)
    )
    return TokenPairResponse.of(pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 503))
async def logout(
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    revoke: RevokeSessions = use_case(lambda c: c.revoke_sessions),
) -> None:
    """End the current session: its refresh token and access tokens stop working at once."""
    await revoke.execute(RevokeSessionsCommand(principal=principal, caller=caller))
