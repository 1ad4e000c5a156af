"""Mail written to .eml files by the file backend, for tests that read what was sent."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from application.use_cases.dispatch_outbox import DispatchOutboxCommand


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def settings_overrides(mail_dir: Path) -> dict[str, Any]:
    # No background dispatcher: the test sends the mail when it wants to look at it.
    return {
        "mail_backend": "file",
        "mail_dir": mail_dir,
        "mail_dispatch_interval_seconds": 0,
        "public_url": "https://auth.example.org",
    }


async def delivered(app: FastAPI, mail_dir: Path) -> list[EmailMessage]:
    await app.state.container.dispatch_outbox().execute(DispatchOutboxCommand())
    return read_mail(mail_dir)


def read_mail(mail_dir: Path) -> list[EmailMessage]:
    parser = BytesParser(policy=email.policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(mail_dir.glob("*.eml"))]
