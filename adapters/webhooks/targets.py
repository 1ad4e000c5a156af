"""Whether a webhook's url may be sent to: https, to a host whose every address is public. The
name is resolved each time, since it may resolve elsewhere later."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from application.errors import UnsafeWebhookTarget

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global alone lets through multicast with a global scope (ff0e::/16, 233.252.0.0/24).
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class ResolvingWebhookTargets:
    """With `allow_private` (for a webhook on the same host or network, in development or
    behind a firewall), every url the use cases accept may be sent to, http included."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def check(self, url: str) -> None:
        if self._allow_private:
            return
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme != "https":
            raise UnsafeWebhookTarget("https only")
        if not host:
            raise UnsafeWebhookTarget("no host")
        try:
            port = parts.port or 443
            # The loop's resolver: a blocking lookup would hold up every other request.
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, ValueError, UnicodeError):
            raise UnsafeWebhookTarget(f"{host} does not resolve") from None
        if not found:
            raise UnsafeWebhookTarget(f"{host} does not resolve")
        for *_, sockaddr in found:
            # An IPv6 address may carry its zone ("fe80::1%eth0"), which ip_address refuses.
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if not is_public(address):
                raise UnsafeWebhookTarget(f"{host} resolves to {address}, not a public address")
