"""Alert labels, their fingerprint, and label matchers (shared by subscribers and silences).

A matcher is written as Alertmanager writes it: ``name=value``, ``name!=value``,
``name=~regex``, ``name!~regex``; the value may be double-quoted. A regular expression must
match the whole value (it is anchored). A label that is absent has the value "" for matching.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

LABEL_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable id of one alert: its rule and the label set it is about."""
    text = json.dumps([rule, sorted(labels.items())], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class MatchOp(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


_MATCHER = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: MatchOp
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        match = _MATCHER.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a matcher such as severity=critical, province!=quang-ninh, "
                f'rule=~"payment-.*"'
            )
        name, op, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        matcher = cls(name, MatchOp(op), value)
        if matcher.op in (MatchOp.RE, MatchOp.NRE):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{text!r}: bad regular expression: {exc}") from None
        return matcher

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op is MatchOp.RE else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
