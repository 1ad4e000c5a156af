"""The admin API of webhooks: the endpoints told of what happens in Portcullis, and what was
sent to them. Whether the caller may is decided by the use cases, from the caller's role in
the database."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from application.caller import Caller, Principal
from application.pagination import DEFAULT_PAGE_SIZE
from application.unset import UNSET
from application.use_cases.webhooks.delete_webhook import DeleteWebhook, DeleteWebhookCommand
from application.use_cases.webhooks.get_webhook import GetWebhook, GetWebhookQuery
from application.use_cases.webhooks.list_deliveries import ListDeliveries, ListDeliveriesQuery
from application.use_cases.webhooks.list_webhooks import ListWebhooks, ListWebhooksQuery
from application.use_cases.webhooks.register_webhook import (
    RegisterWebhook,
    RegisterWebhookCommand,
)
from application.use_cases.webhooks.send_test_event import SendTestEvent, SendTestEventCommand
from application.use_cases.webhooks.update_webhook import UpdateWebhook, UpdateWebhookCommand
from entrypoints.http.dependencies import authenticated, request_caller, use_case
from entrypoints.http.openapi import problems
from entrypoints.http.routers.admin import Cursor, Limit
from entrypoints.http.schemas import (
    RegisteredWebhookResponse,
    RegisterWebhookRequest,
    UpdateWebhookRequest,
    WebhookDeliveryListResponse,
    WebhookDeliveryResponse,
    WebhookResponse,
    WebhookTestResponse,
)

router = APIRouter(tags=["webhooks"])

PATH = "/api/v1/webhooks"


@router.get(PATH, response_model=list[WebhookResponse], responses=problems(401, 403, 503))
async def list_webhooks(
    principal: Principal = authenticated(),
    list_webhooks: ListWebhooks = use_case(lambda c: c.list_webhooks),
) -> list[WebhookResponse]:
    """Every registered webhook, oldest first."""
    webhooks = await list_webhooks.execute(ListWebhooksQuery(by=principal))
    return [WebhookResponse.of(webhook) for webhook in webhooks]


@router.post(
    PATH,
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredWebhookResponse,
    responses=problems(401, 403, 413, 422, 503),
)
async def register_webhook(
    body: RegisterWebhookRequest,
    response: Response,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    register: RegisterWebhook = use_case(lambda c: c.register_webhook),
) -> RegisteredWebhookResponse:
    """The signing `secret` is in this response and nowhere else, ever. The url must be https
    to a host that resolves to public addresses only (422 `validation_error` at `body.url`), unless
    PORTCULLIS_WEBHOOK_ALLOW_PRIVATE is true."""
    webhook = await register.execute(
        RegisterWebhookCommand(
            by=principal,
            url=body.url,
            events=tuple(body.events),
            description=body.description,
            caller=caller,
        )
    )
    response.headers["Location"] = f"{PATH}/{webhook.id}"
    # A response holding a signing secret must not be kept by any cache.
    response.headers["Cache-Control"] = "no-store"
    return RegisteredWebhookResponse(
        **WebhookResponse.of(webhook).model_dump(), secret=webhook.secret
    )


@router.get(
    PATH + "/{webhook_id}",
    response_model=WebhookResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def get_webhook(
    webhook_id: UUID,
    principal: Principal = authenticated(),
    get: GetWebhook = use_case(lambda c: c.get_webhook),
) -> WebhookResponse:
    webhook = await get.execute(GetWebhookQuery(by=principal, webhook_id=webhook_id))
    return WebhookResponse.of(webhook)


@router.patch(
    PATH + "/{webhook_id}",
    response_model=WebhookResponse,
    responses=problems(401, 403, 404, 413, 422, 503),
)
async def update_webhook(
    webhook_id: UUID,
    body: UpdateWebhookRequest,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    update: UpdateWebhook = use_case(lambda c: c.update_webhook),
) -> WebhookResponse:
    """Change what is sent; a url sent is checked as at registration."""
    sent = body.model_fields_set
    webhook = await update.execute(
        UpdateWebhookCommand(
            by=principal,
            webhook_id=webhook_id,
            url=UNSET if body.url is None else body.url,
            events=UNSET if body.events is None else tuple(body.events),
            description=body.description if "description" in sent else UNSET,
            caller=caller,
        )
    )
    return WebhookResponse.of(webhook)


@router.delete(
    PATH + "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 422, 503),
)
async def delete_webhook(
    webhook_id: UUID,
    principal: Principal = authenticated(),
    caller: Caller = request_caller(),
    delete: DeleteWebhook = use_case(lambda c: c.delete_webhook),
) -> None:
    """Its deliveries, pending or not, go with it."""
    await delete.execute(DeleteWebhookCommand(by=principal, webhook_id=webhook_id, caller=caller))


@router.get(
    PATH + "/{webhook_id}/deliveries",
    response_model=WebhookDeliveryListResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def list_webhook_deliveries(
    webhook_id: UUID,
    principal: Principal = authenticated(),
    list_deliveries: ListDeliveries = use_case(lambda c: c.list_webhook_deliveries),
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> WebhookDeliveryListResponse:
    """Newest first, one item per event sent to the webhook."""
    page = await list_deliveries.execute(
        ListDeliveriesQuery(by=principal, webhook_id=webhook_id, limit=limit, cursor=cursor)
    )
    return WebhookDeliveryListResponse(
        items=[WebhookDeliveryResponse.of(delivery) for delivery in page.items],
        next_cursor=page.next_cursor,
    )


@router.post(
    PATH + "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookTestResponse,
    responses=problems(401, 403, 404, 422, 503),
)
async def send_webhook_test(
    webhook_id: UUID,
    principal: Principal = authenticated(),
    send: SendTestEvent = use_case(lambda c: c.send_webhook_test),
) -> WebhookTestResponse:
    """Queue a `webhook.test` event, whose data is {webhook_id}, to this webhook alone."""
    event = await send.execute(SendTestEventCommand(by=principal, webhook_id=webhook_id))
    return WebhookTestResponse(id=event.id)
