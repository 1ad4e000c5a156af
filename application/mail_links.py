"""Links in emails: `{PUBLIC_URL}/reset-password?token=…` and `/verify-email?token=…`."""

from __future__ import annotations

from urllib.parse import urlencode


def link_to(public_url: str, page: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/{page}?{urlencode({'token': token})}"
