"""One way to print a time: every command shows the zone it prints in.

Operators read Vietnam time (Asia/Ho_Chi_Minh, +07, no daylight saving), so that is the
default; ``ioc --utc ...`` prints UTC instead, for logs and machines elsewhere. Every printed
time goes through ``show``, which always names the zone: ``2026-12-01 19:30:00 +07`` or
``2026-12-01 12:30:00 UTC``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ioc.models import VN_TZ

_utc = False


def use_utc(enabled: bool) -> None:
    """Print UTC rather than Vietnam time from now on (the ``--utc`` option)."""
    global _utc
    _utc = enabled


def zone_name() -> str:
    return "UTC" if _utc else "Vietnam time (+07)"


def show(moment: datetime | None, *, seconds: bool = True, empty: str = "-") -> str:
    """``moment`` in the chosen zone, with the zone named; ``empty`` for None."""
    if moment is None:
        return empty
    if moment.tzinfo is None:  # PostgreSQL timestamps without zone are UTC here
        moment = moment.replace(tzinfo=UTC)
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    if _utc:
        return f"{moment.astimezone(UTC).strftime(pattern)} UTC"
    return f"{moment.astimezone(VN_TZ).strftime(pattern)} +07"
