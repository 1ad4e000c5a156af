from __future__ import annotations

from fastapi import APIRouter, status

from application.caller import Caller, Principal
from application.unset import UNSET
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    ChangePasswordRequest,
    DeleteMeRequest,
    UpdateMeRequest,
    UserResponse,
)

router = APIRouter(prefix="/api/v1/users/me", tags=["me"])


@router.get("", response_model=UserResponse, responses=problems(401, 503))
async def read_me(principal: Principal = authenticated()) -> UserResponse:
    return UserResponse.of(principal.user)


@router.patch("", response_model=UserResponse, responses=problems(400, 401, 409, 413, 422, 503))
async def update_me(
    body: UpdateMeRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    update_profile: UpdateProfile = use_case(lambda c: c.update_profile),
) -> UserResponse:
    """Changes the fields sent. A new email needs `current_password`, clears `is_verified`, and
    mails a notice to the old address."""
    sent = body.model_fields_set
    user = await update_profile.execute(
        UpdateProfileCommand(
            principal=principal,
            name=body.name if "name" in sent else UNSET,
            email=body.email if body.email is not None else UNSET,
            current_password=body.current_password,
            caller=caller,
        )
    )
    return UserResponse.of(user)


@router.put(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 413, 422, 503),
)
async def change_password(
    body: ChangePasswordRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    change: ChangePassword = use_case(lambda c: c.change_password),
) -> None:
    """Sets a new password; every other session of the account is revoked."""
    await change.execute(
        ChangePasswordCommand(
            principal=principal,
            current_password=body.current_password,
            new_password=body.new_password,
            caller=caller,
        )
    )


@router.delete(
    "", status_code=status.HTTP_204_NO_CONTENT, responses=problems(400, 401, 413, 422, 503)
)
async def delete_me(
    body: DeleteMeRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    delete: DeleteAccount = use_case(lambda c: c.delete_account),
) -> None:
    """Deletes the account after the password is confirmed; the email becomes free."""
    await delete.execute(
        DeleteAccountCommand(principal=principal, password=body.password, caller=caller)
    )
