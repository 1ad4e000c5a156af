"""Links in emails: `{PUBLIC_URL}/reset-password?token=…`, `/verify-email?token=…` and
`/accept-invitation?token=…`."""

from __future__ import annotations

from urllib.parse import urlencode


def link_to(public_url: str, page: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/{page}?{urlencode({'token': token})}"
