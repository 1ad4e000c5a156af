"""Running Alembic from code, for `portcullis migrate` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from adapters.persistence.database import ensure_sqlite_directory
from alembic import command

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT_LOCATION = PROJECT_ROOT / "alembic"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # Passed as an attribute, not an ini option: a URL may hold '%' that ini parsing would eat.
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
