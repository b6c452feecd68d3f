"""Connecting to the servers the commands need, and saying in one line why it failed.

Every command connects to PostgreSQL through ``connect_database`` (or checks it can with
``check_database`` before it starts for good), so every failure to reach it becomes the same
``DatabaseUnreachable`` (ioc/errors.py): the URL with its password hidden, the cause in words,
and what to do. ``describe_database_error`` is the mapping itself, for code that keeps its own
connections and retries (the store, the alerter) but wants to log the same words.

To cover another kind of server (the MQTT broker), a port or a file, add its mapping function
and a ``CannotConnect`` subclass beside these. ``port_unusable`` and ``path_unusable`` map a
port we cannot listen on and a file or directory we cannot use to ``SettingUnusable``, which
names the setting (the variable) that chose it.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from ioc.errors import DatabaseUnreachable, SettingUnusable, TimescaleDBRefused

DATABASE_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT = 10.0
PRELOAD_HINT = (
    "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL"
)
PRELOADED_SQL = """EXISTS (SELECT 1 FROM pg_settings
    WHERE name = 'timescaledb.bgw_launcher_poll_time' AND vartype <> 'string')"""
"""True when the server preloads TimescaleDB's loader: its settings exist in every session
then (a name set in postgresql.conf without the library is a mere string placeholder). Any
role may ask, unlike ``SHOW shared_preload_libraries`` (pg_read_all_settings only)."""


def redact_url(url: str) -> str:
    """``url`` with its password (in the authority or a ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(query)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_database_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` is a PostgreSQL URL (the settings validate with it)."""
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ValueError(
            f"must be a postgresql:// URL (postgresql://user:password@host:port/database), "
            f"not {shown}"
        )


def _address(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return f"{parts.hostname or 'localhost'}:{port}"


def _refused(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionRefusedError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return True
    # asyncio's "Multiple exceptions: [Errno 111] Connect call failed ..." (one per address)
    return isinstance(exc, OSError) and "Connect call failed" in str(exc)


def describe_database_error(exc: BaseException, url: str) -> tuple[str, str | None]:
    """(cause, what to do) for a failed connection to the PostgreSQL at ``url``."""
    address = _address(url)
    database = urlsplit(url).path.lstrip("/") or "(the user's name)"
    if isinstance(exc, ValueError) and urlsplit(url).scheme not in DATABASE_SCHEMES:
        return str(_scheme_problem(url)), "set IOC_DATABASE_URL=postgresql://user:pass@host/db"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return (
            f'database "{database}" does not exist',
            f"create it (createdb {database}) or fix the database name in the URL",
        )
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return _first_line(exc), "check the user and password in the URL"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return _first_line(exc), "check the user in the URL and the server's pg_hba.conf"
    if isinstance(exc, asyncpg.CannotConnectNowError):
        return _first_line(exc), "the server is starting or stopping: try again shortly"
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return _first_line(exc), "raise max_connections or stop idle clients"
    if isinstance(exc, asyncpg.PostgresError):
        return _first_line(exc), None
    if _refused(exc):
        return (
            f"connection refused: nothing listens on {address}",
            "is PostgreSQL running there, and is the port right?",
        )
    if isinstance(exc, socket.gaierror):
        return f"unknown host {urlsplit(url).hostname!r}", "check the host name in the URL"
    if isinstance(exc, TimeoutError):
        return f"no answer from {address} within {CONNECT_TIMEOUT:g} s", "is a firewall in the way?"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {_first_line(exc)}", "check sslmode and the server's certificate"
    if isinstance(exc, asyncpg.InterfaceError | OSError | ValueError):
        return _first_line(exc), None
    return f"{type(exc).__name__}: {_first_line(exc)}", None


def _scheme_problem(url: str) -> ValueError:
    try:
        check_database_url(url)
    except ValueError as exc:
        return exc
    return ValueError("not a PostgreSQL URL")


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\s+", " ", str(exc)).strip()
    return text or type(exc).__name__


def database_unreachable(exc: BaseException, url: str) -> DatabaseUnreachable:
    cause, hint = describe_database_error(exc, url)
    return DatabaseUnreachable("the database", redact_url(url), cause, hint)


async def connect_database(
    url: str, *, timeout: float = CONNECT_TIMEOUT, **options: Any
) -> asyncpg.Connection:
    """An asyncpg connection to ``url``; any failure raises ``DatabaseUnreachable``."""
    try:
        check_database_url(url)
        return await asyncpg.connect(url, timeout=timeout, **options)
    # OSError covers refused connections, unknown hosts and timeouts (TimeoutError)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as exc:
        raise database_unreachable(exc, url) from exc


async def check_database(url: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect once and close, so that a command says at start when it cannot work: the
    database cannot be reached (``DatabaseUnreachable``), or it uses TimescaleDB on a server
    that does not preload it (``TimescaleDBRefused``: every query of its tables would fail)."""
    conn = await connect_database(url, timeout=timeout)
    try:
        created, preloaded = await conn.fetchrow(
            f"SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'), "
            f"{PRELOADED_SQL}"
        )
    finally:
        await conn.close()
    if created and not preloaded:
        raise TimescaleDBRefused(
            f"the database at {redact_url(url)} uses TimescaleDB but its server does not "
            f"preload it: {PRELOAD_HINT}"
        )


def port_unusable(exc: OSError, setting: str, host: str, port: int) -> SettingUnusable:
    """A port given by ``setting`` that we could not listen on."""
    if exc.errno == errno.EADDRINUSE:
        return SettingUnusable(
            setting,
            port,
            f"port {port} on {host} is already in use",
            f"stop what listens there (ss -ltnp 'sport = :{port}'), or choose another "
            f"port ({setting}=0 turns it off)",
        )
    if exc.errno == errno.EACCES:
        return SettingUnusable(
            setting, port, f"not allowed to listen on port {port}", "choose a port above 1023"
        )
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return SettingUnusable(
            setting, port, f"cannot listen on {host}: {_first_line(exc)}", "check the host"
        )
    return SettingUnusable(setting, port, f"cannot listen on {host}:{port}: {_first_line(exc)}")


def path_unusable(exc: OSError, setting: str, path: object, what: str) -> SettingUnusable:
    """A file or directory named by ``setting`` that could not be read or created."""
    if isinstance(exc, FileNotFoundError):
        cause = f"{what} {path} does not exist"
    elif isinstance(exc, PermissionError):
        cause = f"not allowed to use {what} {path}"
    elif isinstance(exc, IsADirectoryError):
        cause = f"{path} is a directory, not a file"
    elif isinstance(exc, NotADirectoryError):
        cause = f"{path} is not a directory (or a part of its path is a file)"
    else:
        cause = f"cannot use {what} {path}: {exc.strerror or _first_line(exc)}"
    return SettingUnusable(setting, path, cause, f"set {setting} to a {what} that can be used")
