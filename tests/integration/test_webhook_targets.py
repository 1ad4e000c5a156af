"""Where a webhook may point, resolved for real: literal addresses and `localhost`, which
resolve without a network. Nothing but https to public addresses, unless private targets are
allowed."""

from __future__ import annotations

import pytest

from adapters.webhooks.targets import ResolvingWebhookTargets
from application.errors import UnsafeWebhookTarget

REFUSED = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[ff0e::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://localhost/hook",
    "https://localhost:8443/hook",
    "https://2130706433/hook",
    "https://0x7f.1/hook",
    "https://no-such-host.invalid/hook",
]
PUBLIC = [
    "https://93.184.215.14/hook",
    "https://8.8.8.8:8443/hook",
    "https://[2606:4700:4700::1111]/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_a_url_resolving_to_an_address_that_is_not_public_is_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookTarget):
        await ResolvingWebhookTargets(allow_private=False).check(url)


@pytest.mark.parametrize("url", PUBLIC)
async def test_https_to_a_public_address_is_allowed(url: str) -> None:
    await ResolvingWebhookTargets(allow_private=False).check(url)


@pytest.mark.parametrize("url", [u.replace("https:", "http:") for u in PUBLIC])
async def test_plain_http_is_refused_even_to_a_public_address(url: str) -> None:
    with pytest.raises(UnsafeWebhookTarget, match="https"):
        await ResolvingWebhookTargets(allow_private=False).check(url)


async def test_the_refusal_names_the_host_and_where_it_resolves() -> None:
    with pytest.raises(UnsafeWebhookTarget, match=r"^url: localhost resolves to (127|::1)"):
        await ResolvingWebhookTargets(allow_private=False).check("https://localhost/hook")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://localhost:8080/hook",
        "https://[::1]/hook",
        *PUBLIC,
    ],
)
async def test_private_targets_and_plain_http_are_allowed_when_the_operator_says_so(
    url: str,
) -> None:
    await ResolvingWebhookTargets(allow_private=True).check(url)
