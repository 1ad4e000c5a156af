"""`serve --workers N` when workers are slow to start, as on a busy machine without bytecode."""

from __future__ import annotations

import subprocess
import sys


def _modules_loaded_by(statement: str) -> set[str]:
    probe = f"{statement}; import sys; print(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return {name.split(".")[0] for name in result.stdout.split()}


def test_a_worker_loads_no_framework_before_it_can_answer_its_supervisor() -> None:
    loaded = _modules_loaded_by("import entrypoints.cli")
    frameworks = {
        "alembic",
        "cryptography",
        "dependency_injector",
        "fastapi",
        "jwt",
        "pydantic",
        "redis",
        "sqlalchemy",
        "starlette",
        "structlog",
        "uvicorn",
    }
    assert not frameworks & loaded


def test_the_app_loads_neither_migrations_nor_the_redis_client_unless_configured() -> None:
    loaded = _modules_loaded_by("import entrypoints.http.app")
    assert "fastapi" in loaded
    assert not {"alembic", "redis"} & loaded
