"""The admin API of the OAuth client registry: the applications that may sign people in
through Portcullis. Whether the caller may is decided by the use cases, from the caller's role
in the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from application.caller import Caller, Principal
from application.unset import UNSET
from application.use_cases.oauth_clients.delete_client import DeleteClient, DeleteClientCommand
from application.use_cases.oauth_clients.get_client import GetClient, GetClientQuery
from application.use_cases.oauth_clients.list_clients import ListClients, ListClientsQuery
from application.use_cases.oauth_clients.register_client import (
    RegisterClient,
    RegisterClientCommand,
)
from application.use_cases.oauth_clients.renew_client_secret import (
    RenewClientSecret,
    RenewClientSecretCommand,
)
from application.use_cases.oauth_clients.update_client import UpdateClient, UpdateClientCommand
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import (
    ClientSecretResponse,
    OAuthClientListResponse,
    OAuthClientResponse,
    RegisterClientRequest,
    RegisteredClientResponse,
    UpdateClientRequest,
)

router = APIRouter(tags=["oauth clients"])

PATH = "/api/v1/oauth-clients"
# Client ids are URL-safe base64; anything else names no client.
ClientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _no_store(response: Response) -> None:
    """A response holding a client secret must not be kept by any cache."""
    response.headers["Cache-Control"] = "no-store"


@router.get(PATH, response_model=OAuthClientListResponse, responses=problems(401, 403, 503))
async def list_clients(
    principal: Principal = authenticated(),
    list_clients: ListClients = use_case(lambda c: c.list_clients),
) -> OAuthClientListResponse:
    """Every registered client, oldest first."""
    clients = await list_clients.execute(ListClientsQuery(by=principal))
    return OAuthClientListResponse(items=[OAuthClientResponse.of(c) for c in clients])


@router.post(
    PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredClientResponse,
    response_model_exclude_none=True,
    responses=problems(401, 403, 413, 422, 503),
)
async def register_client(
    body: RegisterClientRequest,
    response: Response,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    register: RegisterClient = use_case(lambda c: c.register_client),
) -> RegisteredClientResponse:
    """A confidential client's `client_secret` is in this response and nowhere else, ever."""
    registered = await register.execute(
        RegisterClientCommand(
            by=principal,
            name=body.name,
            type=body.type,
            redirect_uris=tuple(body.redirect_uris),
            post_logout_redirect_uris=tuple(body.post_logout_redirect_uris),
            first_party=body.first_party,
            id_token_signed_response_alg=body.id_token_signed_response_alg,
            caller=caller,
        )
    )
    client = registered.client
    response.headers["Location"] = f"{PATH}/{client.client_id}"
    _no_store(response)
    return RegisteredClientResponse(
        **OAuthClientResponse.of(client).model_dump(), client_secret=registered.client_secret
    )


@router.get(
    PATH + "/{client_id}",
    response_model=OAuthClientResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def get_client(
    client_id: ClientId,
    principal: Principal = authenticated(),
    get: GetClient = use_case(lambda c: c.get_client),
) -> OAuthClientResponse:
    client = await get.execute(GetClientQuery(by=principal, client_id=client_id))
    return OAuthClientResponse.of(client)


@router.patch(
    PATH + "/{client_id}",
    response_model=OAuthClientResponse,
    responses=problems(401, 403, 404, 413, 422, 503),
)
async def update_client(
    client_id: ClientId,
    body: UpdateClientRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    update: UpdateClient = use_case(lambda c: c.update_client),
) -> OAuthClientResponse:
    """Change what is sent; the type cannot change (register another client)."""
    client = await update.execute(
        UpdateClientCommand(
            by=principal,
            client_id=client_id,
            name=UNSET if body.name is None else body.name,
            redirect_uris=UNSET if body.redirect_uris is None else tuple(body.redirect_uris),
            post_logout_redirect_uris=UNSET
            if body.post_logout_redirect_uris is None
            else tuple(body.post_logout_redirect_uris),
            first_party=UNSET if body.first_party is None else body.first_party,
            id_token_signed_response_alg=UNSET
            if body.id_token_signed_response_alg is None
            else body.id_token_signed_response_alg,
            caller=caller,
        )
    )
    return OAuthClientResponse.of(client)


@router.delete(
    PATH + "/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 422, 503),
)
async def delete_client(
    client_id: ClientId,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    delete: DeleteClient = use_case(lambda c: c.delete_client),
) -> None:
    """Every session (and so every token) issued to the client ends with it."""
    await delete.execute(DeleteClientCommand(by=principal, client_id=client_id, caller=caller))


@router.post(
    PATH + "/{client_id}/secret",
    response_model=ClientSecretResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def renew_client_secret(
    client_id: ClientId,
    response: Response,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    renew: RenewClientSecret = use_case(lambda c: c.renew_client_secret),
) -> ClientSecretResponse:
    """A new secret for a confidential client; the old one stops working at once. A public
    client has none: 422."""
    secret = await renew.execute(
        RenewClientSecretCommand(by=principal, client_id=client_id, caller=caller)
    )
    _no_store(response)
    return ClientSecretResponse(client_id=client_id, client_secret=secret)
