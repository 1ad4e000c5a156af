"""The webhook use cases: an admin (or the operator at the command line) registers, reads,
changes and deletes webhooks, lists what was sent to one and sends it a test; nobody else
may. A url is checked where it points when registered and whenever it changes."""

from __future__ import annotations

import base64
from uuid import uuid4

import pytest

from application.caller import Operator, Principal
from application.errors import (
    Forbidden,
    InvalidCursor,
    InvalidWebhook,
    NotFound,
    UnsafeWebhookTarget,
)
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
from domain.audit_event import AuditEventType
from domain.role import Role
from domain.webhook import DeliveryStatus, Webhook, WebhookEventType
from tests.fakes import FakeWebhookTargets, FixedClock, InMemoryStore
from tests.unit.builders import Accounts, recorded_events

URL = "https://hooks.example.com/portcullis"


@pytest.fixture
async def admin(accounts: Accounts) -> Principal:
    return accounts.signed_in(await accounts.user("root@example.com", role=Role.ADMIN))


@pytest.fixture
async def user(accounts: Accounts) -> Principal:
    return accounts.signed_in(await accounts.user("eve@example.com"))


async def a_webhook(
    register_webhook: RegisterWebhook,
    by: Principal | Operator,
    events: tuple[str, ...] = ("user.created", "user.deleted"),
    url: str = URL,
) -> Webhook:
    return await register_webhook.execute(
        RegisterWebhookCommand(by=by, url=url, events=events, description="CRM sync")
    )


# --- registering -------------------------------------------------------------------------------


async def test_registering_stores_the_webhook_with_a_fresh_signing_secret(
    register_webhook: RegisterWebhook,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
    webhook_targets: FakeWebhookTargets,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    other = await a_webhook(register_webhook, admin)

    assert store.webhooks[webhook.id] == webhook
    assert (webhook.url, webhook.events, webhook.description) == (
        URL,
        frozenset({"user.created", "user.deleted"}),
        "CRM sync",
    )
    assert webhook.created_at == webhook.updated_at == clock.now()
    assert webhook.secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(webhook.secret.removeprefix("whsec_"))) <= 64
    assert webhook.secret != other.secret
    assert webhook_targets.checked == [URL, URL]


async def test_registering_records_who_registered_what_and_never_the_secret(
    register_webhook: RegisterWebhook, admin: Principal, store: InMemoryStore
) -> None:
    webhook = await a_webhook(register_webhook, admin)

    (event,) = recorded_events(store)
    assert event.type is AuditEventType.WEBHOOK_REGISTERED
    assert (event.actor_id, event.user_id) == (admin.user.id, None)
    assert event.data == {
        "webhook_id": str(webhook.id),
        "url": URL,
        "events": ["user.created", "user.deleted"],
    }
    assert webhook.secret not in repr(store.audit_events)


async def test_the_operator_registers_without_an_account_and_the_trail_says_so(
    register_webhook: RegisterWebhook, store: InMemoryStore
) -> None:
    await a_webhook(register_webhook, Operator())

    (event,) = recorded_events(store)
    assert event.actor_id is None
    assert event.data["via"] == "cli"


async def test_every_event_type_or_just_the_wildcard_may_be_chosen(
    register_webhook: RegisterWebhook, admin: Principal
) -> None:
    every = tuple(type.value for type in WebhookEventType)

    assert (await a_webhook(register_webhook, admin, every)).events == frozenset(every)
    assert (await a_webhook(register_webhook, admin, ("*",))).events == {"*"}
    assert (await a_webhook(register_webhook, admin, ("user.created",) * 2)).events == {
        "user.created"
    }


@pytest.mark.parametrize(
    ("url", "events", "description", "field"),
    [
        ("/relative/path", ("user.created",), None, "url"),
        ("hooks.example.com/x", ("user.created",), None, "url"),
        ("ftp://hooks.example.com/x", ("user.created",), None, "url"),
        ("https:///no-host", ("user.created",), None, "url"),
        ("https://user:pw@hooks.example.com/x", ("user.created",), None, "url"),
        ("https://user@hooks.example.com/x", ("user.created",), None, "url"),
        ("https://hooks.example.com/x#part", ("user.created",), None, "url"),
        ("https://hooks.example.com:99999/x", ("user.created",), None, "url"),
        ("https://hooks.example.com/a b", ("user.created",), None, "url"),
        ("https://hooks.example.com/" + "x" * 1975, ("user.created",), None, "url"),
        (URL, (), None, "events"),
        (URL, ("user.created", "*"), None, "events"),
        (URL, ("user.exploded",), None, "events"),
        (URL, ("user.created",), "x" * 201, "description"),
    ],
    ids=[
        "relative",
        "no scheme",
        "ftp",
        "no host",
        "user and password",
        "user",
        "fragment",
        "port out of range",
        "space",
        "2001 characters",
        "no events",
        "wildcard among types",
        "unknown type",
        "long description",
    ],
)
async def test_an_invalid_registration_names_the_field_and_stores_nothing(
    register_webhook: RegisterWebhook,
    admin: Principal,
    store: InMemoryStore,
    webhook_targets: FakeWebhookTargets,
    url: str,
    events: tuple[str, ...],
    description: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidWebhook, match=rf"^{field}: "):
        await register_webhook.execute(
            RegisterWebhookCommand(by=admin, url=url, events=events, description=description)
        )

    assert store.webhooks == {}
    assert recorded_events(store) == []
    assert webhook_targets.checked == []


async def test_a_url_of_2000_characters_and_a_description_of_200_are_taken(
    register_webhook: RegisterWebhook, admin: Principal
) -> None:
    url = "https://hooks.example.com/" + "x" * 1974
    assert len(url) == 2000

    webhook = await register_webhook.execute(
        RegisterWebhookCommand(by=admin, url=url, events=("*",), description="d" * 200)
    )

    assert (webhook.url, webhook.description) == (url, "d" * 200)


@pytest.mark.parametrize(
    "url", ["https://internal.example/hook", "http://hooks.example.com/hook"], ids=str
)
async def test_a_url_the_targets_refuse_is_not_registered(
    register_webhook: RegisterWebhook, admin: Principal, store: InMemoryStore, url: str
) -> None:
    with pytest.raises(UnsafeWebhookTarget):
        await a_webhook(register_webhook, admin, url=url)

    assert store.webhooks == {}
    assert recorded_events(store) == []


# --- who may -----------------------------------------------------------------------------------


async def test_nobody_but_an_admin_may_do_anything_with_webhooks(
    register_webhook: RegisterWebhook,
    list_webhooks: ListWebhooks,
    get_webhook: GetWebhook,
    update_webhook: UpdateWebhook,
    delete_webhook: DeleteWebhook,
    list_deliveries: ListDeliveries,
    send_test_event: SendTestEvent,
    admin: Principal,
    user: Principal,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    disabled = accounts.signed_in(
        await accounts.user("old@example.com", role=Role.ADMIN, is_active=False)
    )
    before = dict(store.webhooks)

    for by in (user, disabled):
        attempts = [
            a_webhook(register_webhook, by),
            list_webhooks.execute(ListWebhooksQuery(by=by)),
            get_webhook.execute(GetWebhookQuery(by=by, webhook_id=webhook.id)),
            update_webhook.execute(UpdateWebhookCommand(by=by, webhook_id=webhook.id, url=URL)),
            delete_webhook.execute(DeleteWebhookCommand(by=by, webhook_id=webhook.id)),
            list_deliveries.execute(ListDeliveriesQuery(by=by, webhook_id=webhook.id, limit=5)),
            send_test_event.execute(SendTestEventCommand(by=by, webhook_id=webhook.id)),
        ]
        for attempt in attempts:
            with pytest.raises(Forbidden):
                await attempt

    assert store.webhooks == before
    assert store.webhook_events == {}
    assert len(recorded_events(store)) == 1


# --- reading -----------------------------------------------------------------------------------


async def test_an_admin_lists_every_webhook_oldest_first_and_gets_one(
    register_webhook: RegisterWebhook,
    list_webhooks: ListWebhooks,
    get_webhook: GetWebhook,
    admin: Principal,
    clock: FixedClock,
) -> None:
    first = await a_webhook(register_webhook, admin)
    clock.advance(seconds=1)
    second = await a_webhook(register_webhook, admin, ("*",))

    assert await list_webhooks.execute(ListWebhooksQuery(by=admin)) == [first, second]
    assert await get_webhook.execute(GetWebhookQuery(by=admin, webhook_id=second.id)) == second
    with pytest.raises(NotFound):
        await get_webhook.execute(GetWebhookQuery(by=admin, webhook_id=uuid4()))


# --- changing ----------------------------------------------------------------------------------


async def test_a_change_changes_only_what_is_given_and_is_recorded(
    register_webhook: RegisterWebhook,
    update_webhook: UpdateWebhook,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
    webhook_targets: FakeWebhookTargets,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    clock.advance(minutes=5)

    changed = await update_webhook.execute(
        UpdateWebhookCommand(
            by=admin,
            webhook_id=webhook.id,
            url="https://hooks.example.com/v2",
            description=None,
        )
    )

    assert (changed.url, changed.events, changed.description) == (
        "https://hooks.example.com/v2",
        webhook.events,
        None,
    )
    assert changed.secret == webhook.secret
    assert (changed.created_at, changed.updated_at) == (webhook.created_at, clock.now())
    assert store.webhooks[webhook.id] == changed
    assert webhook_targets.checked[-1] == "https://hooks.example.com/v2"
    *_, event = recorded_events(store)
    assert event.type is AuditEventType.WEBHOOK_CHANGED
    assert event.actor_id == admin.user.id
    assert event.data == {"webhook_id": str(webhook.id), "fields": ["url", "description"]}


async def test_changing_the_events_alone_does_not_check_the_url_again(
    register_webhook: RegisterWebhook,
    update_webhook: UpdateWebhook,
    admin: Principal,
    webhook_targets: FakeWebhookTargets,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    webhook_targets.checked.clear()

    changed = await update_webhook.execute(
        UpdateWebhookCommand(by=admin, webhook_id=webhook.id, events=("*",))
    )

    assert changed.events == {"*"}
    assert webhook_targets.checked == []


async def test_a_change_to_the_values_it_has_is_neither_written_nor_recorded(
    register_webhook: RegisterWebhook,
    update_webhook: UpdateWebhook,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    clock.advance(minutes=5)

    same = await update_webhook.execute(
        UpdateWebhookCommand(
            by=admin,
            webhook_id=webhook.id,
            url=webhook.url,
            events=("user.deleted", "user.created"),
            description="CRM sync",
        )
    )

    assert same == webhook
    assert store.webhooks[webhook.id].updated_at == webhook.created_at
    assert len(recorded_events(store)) == 1


async def test_a_change_to_an_unsafe_or_invalid_url_is_refused_and_changes_nothing(
    register_webhook: RegisterWebhook,
    update_webhook: UpdateWebhook,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    webhook = await a_webhook(register_webhook, admin)

    with pytest.raises(UnsafeWebhookTarget):
        await update_webhook.execute(
            UpdateWebhookCommand(
                by=admin, webhook_id=webhook.id, url="https://internal.example/", events=("*",)
            )
        )
    with pytest.raises(InvalidWebhook, match=r"^url: "):
        await update_webhook.execute(
            UpdateWebhookCommand(by=admin, webhook_id=webhook.id, url="https://a@b.example/")
        )
    with pytest.raises(InvalidWebhook, match=r"^events: "):
        await update_webhook.execute(
            UpdateWebhookCommand(by=admin, webhook_id=webhook.id, events=())
        )

    assert store.webhooks[webhook.id] == webhook
    assert len(recorded_events(store)) == 1


async def test_changing_a_webhook_that_is_not_there_is_not_found(
    update_webhook: UpdateWebhook, admin: Principal
) -> None:
    with pytest.raises(NotFound):
        await update_webhook.execute(
            UpdateWebhookCommand(by=admin, webhook_id=uuid4(), description="x")
        )


# --- deleting ----------------------------------------------------------------------------------


async def test_deleting_removes_the_webhook_and_its_deliveries_and_is_recorded(
    register_webhook: RegisterWebhook,
    delete_webhook: DeleteWebhook,
    send_test_event: SendTestEvent,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    await send_test_event.execute(SendTestEventCommand(by=admin, webhook_id=webhook.id))

    await delete_webhook.execute(DeleteWebhookCommand(by=admin, webhook_id=webhook.id))

    assert store.webhooks == {}
    assert store.webhook_deliveries == {}
    *_, event = recorded_events(store)
    assert event.type is AuditEventType.WEBHOOK_DELETED
    assert (event.actor_id, event.data) == (admin.user.id, {"webhook_id": str(webhook.id)})
    with pytest.raises(NotFound):
        await delete_webhook.execute(DeleteWebhookCommand(by=admin, webhook_id=webhook.id))
    assert len(recorded_events(store)) == 2


# --- testing and deliveries --------------------------------------------------------------------


async def test_a_test_event_goes_to_that_webhook_alone_whatever_it_subscribes_to(
    register_webhook: RegisterWebhook,
    send_test_event: SendTestEvent,
    list_deliveries: ListDeliveries,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    tested = await a_webhook(register_webhook, admin, ("user.created",))
    everything = await a_webhook(register_webhook, admin, ("*",))

    event = await send_test_event.execute(SendTestEventCommand(by=admin, webhook_id=tested.id))

    assert event.type is WebhookEventType.WEBHOOK_TEST
    assert event.data == {"webhook_id": str(tested.id)}
    assert (event.user_id, event.created_at) == (None, clock.now())
    assert store.webhook_events == {event.id: event}
    page = await list_deliveries.execute(
        ListDeliveriesQuery(by=admin, webhook_id=tested.id, limit=10)
    )
    [delivery] = page.items
    assert (delivery.event_id, delivery.type, delivery.status) == (
        event.id,
        WebhookEventType.WEBHOOK_TEST,
        DeliveryStatus.PENDING,
    )
    assert (delivery.attempts, delivery.last_response_status) == (0, None)
    assert delivery.next_attempt_at == clock.now()
    assert page.next_cursor is None
    others = await list_deliveries.execute(
        ListDeliveriesQuery(by=admin, webhook_id=everything.id, limit=10)
    )
    assert others.items == []


async def test_a_test_of_a_webhook_that_is_not_there_is_not_found_and_records_nothing(
    send_test_event: SendTestEvent, admin: Principal, store: InMemoryStore
) -> None:
    with pytest.raises(NotFound):
        await send_test_event.execute(SendTestEventCommand(by=admin, webhook_id=uuid4()))

    assert store.webhook_events == {}


async def test_deliveries_are_listed_newest_first_a_page_at_a_time(
    register_webhook: RegisterWebhook,
    send_test_event: SendTestEvent,
    list_deliveries: ListDeliveries,
    admin: Principal,
    clock: FixedClock,
) -> None:
    webhook = await a_webhook(register_webhook, admin)
    sent = []
    for _ in range(5):
        clock.advance(seconds=1)
        command = SendTestEventCommand(by=admin, webhook_id=webhook.id)
        sent.append((await send_test_event.execute(command)).id)

    seen: list[str] = []
    cursor = None
    while True:
        page = await list_deliveries.execute(
            ListDeliveriesQuery(by=admin, webhook_id=webhook.id, limit=2, cursor=cursor)
        )
        seen += [delivery.event_id for delivery in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == sent[::-1]


async def test_deliveries_of_a_webhook_that_is_not_there_or_a_bad_cursor_are_refused(
    list_deliveries: ListDeliveries, register_webhook: RegisterWebhook, admin: Principal
) -> None:
    webhook = await a_webhook(register_webhook, admin)

    with pytest.raises(NotFound):
        await list_deliveries.execute(ListDeliveriesQuery(by=admin, webhook_id=uuid4(), limit=5))
    with pytest.raises(InvalidCursor):
        await list_deliveries.execute(
            ListDeliveriesQuery(by=admin, webhook_id=webhook.id, limit=5, cursor="nonsense!")
        )
