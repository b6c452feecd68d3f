"""Errors a user can fix, each said in one line: what is wrong, and what to do.

The command line (``ioc.cli.root``) prints ``str(error)`` of any of these as one line and exits 1,
with no traceback (``--log-level DEBUG`` logs the traceback too). Lower-level errors are mapped
into them where they happen (``raise Mapped(...) from exc``), so that nothing above that
boundary sees an asyncpg or OS error:

    IocError                     base: one line, what is wrong and what to do
    ├── CannotConnect            a server could not be reached, or refused us (ioc/connect.py:
    │   │                        the URL with its password hidden, the cause, what to do)
    │   ├── DatabaseUnreachable  PostgreSQL
    │   └── BrokerUnreachable    the MQTT broker (``ioc demo`` stopped before it answered)
    ├── TimescaleDBRefused       IOC_TIMESCALEDB cannot be honoured on this server or database
    │                            (ioc/storage/migrations.py)
    └── SettingUnusable          a setting names a port that is taken, a file or directory
                                 that cannot be used (ioc/connect.py: the variable, its value,
                                 the cause, what to do)

Another kind of server (the broker), a port or a file gets its own subclass of
``CannotConnect`` (or of ``IocError``) and its mapping function in ``ioc/connect.py``.
"""

from __future__ import annotations


class IocError(Exception):
    """Something the user can fix; ``str()`` is one line that says what and what to do."""


class CannotConnect(IocError):
    """A server could not be reached, or refused the connection."""

    def __init__(self, what: str, url: str, cause: str, hint: str | None = None) -> None:
        self.what = what
        self.url = url
        """With the password hidden."""
        self.cause = cause
        self.hint = hint
        text = f"cannot connect to {what} at {url}: {cause}"
        super().__init__(f"{text} ({hint})" if hint else text)


class DatabaseUnreachable(CannotConnect):
    """PostgreSQL could not be reached, refused the login, or lacks the database."""


class TimescaleDBRefused(IocError):
    """``IOC_TIMESCALEDB`` asks for what this server or this database cannot do."""


class BrokerUnreachable(CannotConnect):
    """The MQTT broker did not answer before the command was stopped."""


class SettingUnusable(IocError):
    """A setting's value cannot be used: a port in use, a file that is not there."""

    def __init__(self, setting: str, value: object, cause: str, hint: str | None = None) -> None:
        self.setting = setting
        self.value = value
        self.cause = cause
        self.hint = hint
        text = f"{setting}={value}: {cause}"
        super().__init__(f"{text} ({hint})" if hint else text)
