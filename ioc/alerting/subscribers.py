"""Subscribers: who wants which alerts, grouped how, through which channels (YAML, strict).

See ``alerts/subscribers.example.yml``, the commented reference of the format. A subscriber
has matchers on the alert labels (``severity``, ``province``, ``rule``, ``gateway``, ...),
Alertmanager's grouping and timing (``group_by``, ``group_wait``, ``group_interval``,
``repeat_interval``, ``send_resolved``) and one or more channels: ``webhook`` (JSON body
signed with HMAC-SHA256, the secret read from the environment variable named by
``secret_env``), ``email`` (over the SMTP server of the IOC_ALERT_SMTP_* settings) and
``mqtt`` (the alert topics of ``ioc.topics.alert_topic``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ioc.alerting.errors import SubscriberFileError
from ioc.alerting.labels import LABEL_NAME, Matcher
from ioc.alerting.yamlfile import error_message, field_path, load_yaml
from ioc.durations import Duration

ALL_LABELS = "..."
"""``group_by: ["..."]``: every alert is its own group (as in Alertmanager)."""

_EMAIL = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _matcher(value: Any) -> Any:
    return Matcher.parse(value) if isinstance(value, str) else value


MatcherField = Annotated[Matcher, BeforeValidator(_matcher)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RetryPolicy(_Strict):
    """Attempts per notification and the backoff between them (only the retry stage uses it).

    After the last attempt fails the notification is given up for this pass; the next pass
    tries again no earlier than the backoff after that failure allows.
    """

    attempts: int = Field(default=3, ge=1, le=10)
    initial: Duration = timedelta(seconds=1)
    maximum: Duration = timedelta(seconds=30)

    def delay(self, failures: int) -> timedelta:
        """Wait after the ``failures``-th consecutive failure: initial, 2x, 4x, ... maximum."""
        return min(self.maximum, self.initial * (2 ** max(0, failures - 1)))


class _Channel(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] | None = None
    retry: RetryPolicy = RetryPolicy()

    @property
    def key(self) -> str:
        return self.name or self.type  # type: ignore[attr-defined]


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: AnyHttpUrl
    secret_env: str = Field(description="Environment variable holding the HMAC secret.")
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _secret_name(self) -> WebhookChannel:
        if not _ENV_NAME.match(self.secret_env):
            raise ValueError(f"secret_env {self.secret_env!r} is not an environment variable name")
        return self

    def secret(self, environ: Mapping[str, str] | None = None) -> bytes:
        value = (os.environ if environ is None else environ).get(self.secret_env, "")
        if not value:
            raise KeyError(self.secret_env)
        return value.encode()


class EmailChannel(_Channel):
    type: Literal["email"]
    to: Annotated[list[str], Field(min_length=1)]

    @model_validator(mode="after")
    def _addresses(self) -> EmailChannel:
        for address in self.to:
            if not _EMAIL.match(address):
                raise ValueError(f"to: {address!r} is not an e-mail address")
        return self


class MqttChannel(_Channel):
    type: Literal["mqtt"]
    retain_state: bool = Field(
        default=True, description="Also keep a retained current-state message per alert."
    )


Channel = Annotated[WebhookChannel | EmailChannel | MqttChannel, Field(discriminator="type")]


class Subscriber(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    matchers: list[MatcherField] = Field(
        default_factory=list, description="All must match (none: every alert)."
    )
    group_by: list[str] = Field(default_factory=lambda: ["rule", "province"])
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = Field(
        default=timedelta(hours=4), description="0: never repeat while still firing."
    )
    send_resolved: bool = True
    language: Literal["vi", "en", "vi+en"] = "vi+en"
    channels: Annotated[list[Channel], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> Subscriber:
        if self.group_by != [ALL_LABELS]:
            for label in self.group_by:
                if label == ALL_LABELS:
                    raise ValueError('group_by: "..." (each alert alone) must stand alone')
                if not LABEL_NAME.match(label):
                    raise ValueError(f"group_by: {label!r} is not a label name")
        keys = [c.key for c in self.channels]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(
                    f"channels: two channels are called {key!r}; give them distinct `name`s"
                )
        return self


class SubscriberFile(_Strict):
    subscribers: list[dict[str, Any]]


def load_subscribers(path: Path, environ: Mapping[str, str] | None = None) -> list[Subscriber]:
    """Load and validate a subscriber file; every webhook's secret must be in ``environ``.

    Raises ``SubscriberFileError`` listing every problem.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    try:
        data = load_yaml(path)
        file = SubscriberFile.model_validate(data)
    except ValueError as exc:  # includes ValidationError
        if isinstance(exc, ValidationError):
            problems += [
                f"{path}: {field_path(e['loc'])}: {error_message(e)}" for e in exc.errors()
            ]
        else:
            problems.append(str(exc))
        raise SubscriberFileError(problems) from None
    subscribers: list[Subscriber] = []
    for index, raw in enumerate(file.subscribers):
        name = raw.get("name")
        label = f"subscriber {name!r} (#{index + 1})" if name else f"subscriber #{index + 1}"
        try:
            subscriber = Subscriber.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                where = field_path(error["loc"], frozenset({"webhook", "email", "mqtt"}))
                prefix = f"{where}: " if where else ""
                problems.append(f"{path}: {label}: {prefix}{error_message(error)}")
            continue
        for channel in subscriber.channels:
            if isinstance(channel, WebhookChannel) and not environ.get(channel.secret_env):
                problems.append(
                    f"{path}: {label}: channels.{channel.key}.secret_env: the environment "
                    f"variable {channel.secret_env} is not set"
                )
        if any(s.name == subscriber.name for s in subscribers):
            problems.append(f"{path}: {label}: name: already used by another subscriber")
        subscribers.append(subscriber)
    if problems:
        raise SubscriberFileError(problems)
    return subscribers
