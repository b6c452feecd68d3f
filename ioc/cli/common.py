"""What every command module of ``ioc`` shares: the settings, the database a command needs,
and the logging a command sets up."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from pydantic import ValidationError

from ioc.logs import setup_logging
from ioc.settings import Settings

__all__ = [
    "configured",
    "database_option",
    "load_settings",
    "require_database",
    "require_reachable_database",
]


def load_settings(**overrides: object) -> Settings:
    """The settings, or one line naming each invalid variable and why."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = [
            f"IOC_{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise click.ClickException("invalid configuration: " + "; ".join(problems)) from None


def configured(ctx: click.Context, **overrides: object) -> Settings:
    """The settings, with logging set up at ``--log-level`` (else ``IOC_LOG_LEVEL``)."""
    settings = load_settings(**overrides)
    level = (ctx.find_root().obj or {}).get("log_level")
    setup_logging(level or settings.log_level)
    return settings


def require_database(settings: Settings) -> str:
    """The database URL, or one line saying how to give one."""
    if settings.database_url is None:
        raise click.ClickException(
            "IOC_DATABASE_URL is not set (postgresql://user:pass@host:port/db); "
            "`ioc demo` starts a local database by itself"
        )
    return settings.dsn()


def require_reachable_database(settings: Settings) -> str:
    """The database URL, once a connection to it has worked: a long-running command says at
    start, in one line, why it cannot work (``DatabaseUnreachable``), rather than retry."""
    from ioc.connect import check_database

    dsn = require_database(settings)
    asyncio.run(check_database(dsn))
    return dsn


def database_option() -> Any:
    """``--database-url``, defaulting to ``$IOC_DATABASE_URL``."""
    return click.option(
        "--database-url", envvar="IOC_DATABASE_URL", help="Default: $IOC_DATABASE_URL."
    )
