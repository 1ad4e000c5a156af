from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from application.use_cases.check_readiness import CheckReadiness, CheckReadinessQuery
from application.use_cases.publish_public_keys import PublishPublicKeys, PublishPublicKeysQuery
from entrypoints.http.dependencies import use_case
from entrypoints.http.openapi import problems
from entrypoints.http.schemas import JwksResponse, StatusResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=StatusResponse)
async def healthz() -> StatusResponse:
    """The process is up (it does not look at the database)."""
    return StatusResponse()


@router.get("/readyz", response_model=StatusResponse, responses=problems(503))
async def readyz(
    check: CheckReadiness = use_case(lambda c: c.check_readiness),
) -> StatusResponse:
    """Ready to serve: the database answers."""
    await check.execute(CheckReadinessQuery())
    return StatusResponse()


@router.get("/.well-known/jwks.json", response_model=JwksResponse, responses=problems(503))
async def jwks(
    publish: PublishPublicKeys = use_case(lambda c: c.publish_public_keys),
) -> dict[str, Any]:
    """The public keys that verify Portcullis access tokens."""
    return {"keys": await publish.execute(PublishPublicKeysQuery())}
