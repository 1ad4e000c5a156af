"""The reference for `make bench`: a bare FastAPI app with one small JSON endpoint.

bench/server.py serves it with the venv's uvicorn under the same settings as `portcullis serve`
(loop and HTTP implementation, worker count, no access log, no server header, WARNING logs),
and every workload is reported as a fraction of what this endpoint does in the same run: the
ceiling the framework and the machine allow."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
