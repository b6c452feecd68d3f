"""Durations: ``30s``, ``5m``, ``1h30m``, ``7d``, ``1y`` (or ``0``), one grammar for the
alert rule and subscriber files and for Grafana's intervals in the dashboards' queries (the
panel bench's ``30d``, ``5m``, ``1y``).

Units ``ms``, ``s``, ``m``, ``h``, ``d``, ``w`` and ``y`` (365 days, as Grafana's), each part
an integer or a decimal, parts in any number. A bare number is refused (is ``300`` seconds or
minutes?); ``0`` alone is accepted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}


def parse_duration(value: Any) -> timedelta:
    """``value`` as a timedelta; a ``ValueError`` saying what a duration looks like if it is
    not one."""
    if isinstance(value, timedelta):
        return value
    if value == 0 or value == "0":
        return timedelta(0)
    if not isinstance(value, str):
        raise ValueError(f"a duration is a string such as '30s', '5m', '1h30m', not {value!r}")
    text = value.strip()
    position, total = 0, timedelta(0)
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration such as '30s', '5m', '1h30m', '7d'")
    return total


def format_duration(value: timedelta) -> str:
    """``timedelta(minutes=90)`` -> ``1h30m``."""
    seconds = value.total_seconds()
    if seconds == 0:
        return "0s"
    if seconds != int(seconds):
        return f"{int(seconds * 1000)}ms"
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration must not be negative")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(lambda v: _non_negative(parse_duration(v))),
    PlainSerializer(format_duration, return_type=str),
]
"""A non-negative duration written ``30s``, ``5m``, ``1h30m``, ``7d``."""
