"""The root of the ``ioc`` command line: the group every command module registers itself on,
and the one line (exit status 1) that an error a user can fix becomes."""

from __future__ import annotations

import logging
import os

import click

from ioc.errors import IocError
from ioc.timefmt import use_utc

log = logging.getLogger(__name__)


def _one_line(exc: BaseException) -> str | None:
    """What to print for an error the user can fix; None for a bug (a traceback is right)."""
    import asyncpg

    from ioc.tools.local import LocalServiceError

    if isinstance(exc, IocError | LocalServiceError):
        return " ".join(str(exc).split())
    if isinstance(exc, asyncpg.UndefinedTableError | asyncpg.UndefinedFunctionError):
        return f"the database lacks part of the schema ({exc}): run `ioc db migrate`"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"the database refused ({exc}): this needs a role with more rights (the owner?)"
    return None


class _Commands(click.Group):
    """The root group: an ``IocError`` from any command becomes one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            line = _one_line(exc)
            if line is None:
                raise
            level = (ctx.obj or {}).get("log_level") or os.environ.get("IOC_LOG_LEVEL", "")
            if level.upper() == "DEBUG":
                log.debug("the command failed", exc_info=True)
            raise click.ClickException(line) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING (default: $IOC_LOG_LEVEL).")
@click.option(
    "--utc", is_flag=True, help="Print times in UTC (default: Vietnam time, +07; always named)."
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None, utc: bool) -> None:
    """Provincial IOC monitoring service."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level
    use_utc(utc)
