from __future__ import annotations

from typing import Any

from application.ports.security import AccessTokens


class PublishPublicKeys:
    """The JWKS: public keys of every key that may have signed a token still valid."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    async def execute(self) -> list[dict[str, Any]]:
        return await self._tokens.public_jwks()
