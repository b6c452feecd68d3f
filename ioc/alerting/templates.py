"""Annotation templates: ``{value}``, ``{threshold}``, ``{province_name}``, ... in vi and en.

A template is ``str.format`` syntax limited to plain names (no ``{a.b}`` or ``{a[0]}``: a
template must not reach into Python objects), checked when the rule file is loaded against
the names the rule can provide. A format spec is allowed (``{value:.1%}``); without one a
value is shown in its KPI's unit (a ratio as a percentage, a factor as ``3.2x``) and a time
in local time (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ioc.alerting.kpis import Unit
from ioc.domain.geo import PROVINCES
from ioc.domain.names import LABEL_KINDS, name_of
from ioc.models import VN_TZ

_FORMATTER = string.Formatter()

NO_DATA = {"vi": "không có dữ liệu", "en": "no data"}


def placeholders(template: str) -> list[str]:
    """The names a template uses; ``ValueError`` when it is not a plain-name template."""
    names = []
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"bad template {template!r}: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(
                f"placeholder {{{name}}} in {template!r} is not a plain name "
                "(use {value}, {province_name}, ...)"
            )
        if conversion is not None or (spec and "{" in spec):
            raise ValueError(f"placeholder {{{name}}} in {template!r}: no !r/!s or nested {{}}")
        names.append(name)
    return names


def check_template(template: str, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    unknown = [n for n in placeholders(template) if n not in allowed]
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}} in {template!r}; available: "
            + ", ".join(sorted(allowed))
        )


class Number:
    """A value shown in its unit unless the template gives a format spec."""

    def __init__(self, value: float | None, unit: Unit, language: str) -> None:
        self.value, self.unit, self.language = value, unit, language

    def __format__(self, spec: str) -> str:
        if self.value is None:
            return NO_DATA[self.language]
        if spec:
            return format(self.value, spec)
        if self.unit is Unit.RATIO:
            return f"{self.value * 100:.1f}%"
        if self.unit is Unit.FACTOR:
            return f"{self.value:.1f}x"
        if self.unit is Unit.POINTS:
            return f"{self.value:.1f} điểm" if self.language == "vi" else f"{self.value:.1f} points"
        return f"{self.value:g}" if self.value != int(self.value) else f"{int(self.value)}"

    def __str__(self) -> str:
        return format(self, "")


class Moment:
    def __init__(self, value: datetime | None, language: str) -> None:
        self.value, self.language = value, language

    def __format__(self, spec: str) -> str:
        if self.value is None:
            return "—"
        return self.value.astimezone(VN_TZ).strftime(spec or "%H:%M %d/%m/%Y")


class Missing:
    """A context value the query did not return: "—" whatever the format spec."""

    def __format__(self, spec: str) -> str:
        return "—"


_UNITS = {
    "vi": (("ngày", 86400), ("giờ", 3600), ("phút", 60), ("giây", 1)),
    "en": (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)),
}


def human_duration(value: timedelta, language: str) -> str:
    """``timedelta(minutes=90)`` -> ``1 giờ 30 phút`` / ``1 h 30 min``."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNITS[language]:
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts) or f"0 {_UNITS[language][-1][0]}"


def label_names(labels: Mapping[str, str], language: str) -> dict[str, str]:
    """``{label}_name`` for each label whose values have display names (``ioc.domain.names``):
    ``feed=payment`` gives ``feed_name`` = ``thanh toán`` / ``payment``."""
    return {
        f"{label}_name": name_of(kind, labels[label], language)
        for label, kind in LABEL_KINDS.items()
        if label in labels
    }


def place_names(labels: Mapping[str, str], language: str) -> dict[str, str]:
    """``province_name`` (and ``district_name`` when there is a district) in ``language``."""
    code = labels.get("province", "")
    province = PROVINCES.get(code)
    names = {"province_name": code if province is None else province.name_vi}
    if province is not None and language != "vi":
        names["province_name"] = province.name
    if "district" in labels:
        names["district_name"] = labels["district"]
        if province is not None:
            for district in province.districts:
                if district.code == labels["district"]:
                    names["district_name"] = district.name_vi if language == "vi" else district.name
    return names


def _wrap(value: Any, language: str) -> Any:
    if isinstance(value, datetime):
        return Moment(value, language)
    if isinstance(value, timedelta):
        return human_duration(value, language)
    if value is None:
        return Missing()
    return value


def render(template: str, fields: Mapping[str, Any], language: str) -> str:
    """Fill ``template``; a name missing from ``fields`` (checked at load) shows as ``?``."""
    values = {name: _wrap(value, language) for name, value in fields.items()}

    class _Fields(dict):
        def __missing__(self, key: str) -> str:
            return "?"

    try:
        return template.format_map(_Fields(values))
    except (ValueError, TypeError) as exc:  # a spec that does not fit the value
        return f"{template} [{exc}]"
