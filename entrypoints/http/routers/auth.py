from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status

from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from entrypoints.http.dependencies import client_ip_of, provided, user_agent_of
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    LoginRequest,
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
    responses=problems(409, 413, 422, 503),
)
async def signup(
    body: SignupRequest,
    response: Response,
    register: Annotated[RegisterUser, provided(lambda c: c.register_user)],
) -> UserResponse:
    user = await register.execute(
        RegisterUserCommand(email=body.email, password=body.password, name=body.name)
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.of(user)


@router.post(
    "/login", response_model=TokenPairResponse, responses=problems(401, 403, 413, 422, 503)
)
async def login(
    body: LoginRequest,
    request: Request,
    log_in: Annotated[LogIn, provided(lambda c: c.log_in)],
) -> TokenPairResponse:
    pair = await log_in.execute(
        LogInCommand(
            email=body.email,
            password=body.password,
            user_agent=user_agent_of(request),
            ip=client_ip_of(request),
        )
    )
    return TokenPairResponse.of(pair)


@router.post(
    "/token", response_model=TokenPairResponse, responses=problems(401, 403, 413, 422, 503)
)
async def token(
    form: Annotated[TokenForm, Form()],
    request: Request,
    log_in: Annotated[LogIn, provided(lambda c: c.log_in)],
) -> TokenPairResponse:
    """The OAuth2 password flow (form-encoded), for the Authorize button of /docs."""
    pair = await log_in.execute(
        LogInCommand(
            email=form.username,
            password=form.password,
            user_agent=user_agent_of(request),
            ip=client_ip_of(request),
        )
    )
    return TokenPairResponse.of(pair)
