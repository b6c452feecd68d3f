"""The one place where raw MQTT bytes become a validated event or a dead letter.

Nothing past ``decode`` sees raw payloads: the ingester hands it a topic and bytes and gets
back either an ``Event`` or a ``DeadLetter`` that says, in words an operator can act on,
which field is wrong and why. Nothing here raises for bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from pydantic import ValidationError

from ioc.models import DEFAULT_TIME_LIMITS, EVENT_TYPES, Event, TimeLimits
from ioc.topics import FeedTopic, TopicError, parse_feed_topic

log = logging.getLogger(__name__)


_SCHEMA_FEEDS = {
    model.model_fields["schema_name"].default: feed for feed, model in EVENT_TYPES.items()
}


class DeadLetterReason(StrEnum):
    """Why a message was dead-lettered; one metric label value each."""

    OVERSIZED = "oversized"
    UNKNOWN_TOPIC = "unknown_topic"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    SCHEMA = "schema"
    IMPLAUSIBLE_TIME = "implausible_time"
    TOPIC_MISMATCH = "topic_mismatch"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    DB_REJECTED = "db_rejected"
    DECODE_FAILED = "decode_failed"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: DeadLetterReason
    detail: str
    received_at: datetime


def describe_validation_error(error: ValidationError, limit: int = 5) -> str:
    """``field 'a.b': message; ...`` for the first ``limit`` errors of a pydantic error."""
    parts = []
    for item in error.errors(include_url=False)[:limit]:
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"field '{location}': {message}" if location else message)
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more error(s)")
    return "; ".join(parts)


def decode(
    topic: str,
    payload: bytes,
    *,
    received_at: datetime,
    max_payload_bytes: int,
    limits: TimeLimits = DEFAULT_TIME_LIMITS,
) -> Event | DeadLetter:
    """Turn one MQTT message into a validated event, or a dead letter with the reason.

    Never raises: a bug here must cost one message (kept as a dead letter), not the
    ingester, which would otherwise crash on the same redelivered message forever.
    """
    try:
        return _decode(topic, payload, received_at, max_payload_bytes, limits)
    except Exception as exc:
        log.exception("decoding failed", extra={"topic": topic})
        return DeadLetter(
            topic, payload, DeadLetterReason.DECODE_FAILED, f"decoding failed: {exc!r}", received_at
        )


def decode_all(
    messages: Iterable[tuple[str, bytes]],
    *,
    received_at: datetime,
    max_payload_bytes: int,
    limits: TimeLimits = DEFAULT_TIME_LIMITS,
) -> list[Event | DeadLetter]:
    """``decode`` of every (topic, payload) received at one instant, in order, for less CPU.

    A message that passes every check cheaply becomes its event here: topics are parsed once
    per distinct topic, the model's validator is called without ``model_validate_json``'s
    wrapper, and the time limits' bounds are computed once for the batch. Any other message
    (refused by any check, or anything unexpected) goes through ``decode`` itself, so every
    dead letter, its reason and its detail are exactly ``decode``'s; the tests hold the two
    paths to the same results on the fuzz corpus and the property test's inputs.
    """
    plausible = limits.plausible_at(received_at)
    out: list[Event | DeadLetter] = []
    for topic, payload in messages:
        event = None
        try:
            if len(payload) <= max_payload_bytes:
                where = _feed_topic(topic)
                event = _VALIDATORS[where.feed].validate_json(payload)
                if not (
                    event.province == where.province
                    and event.district == where.district
                    and plausible(event)
                ):
                    event = None
        except Exception:  # refused or unexpected: ``decode`` says which, and why
            event = None
        if event is None:
            out.append(
                decode(
                    topic,
                    payload,
                    received_at=received_at,
                    max_payload_bytes=max_payload_bytes,
                    limits=limits,
                )
            )
        else:
            out.append(event)
    return out


_VALIDATORS = {feed: model.__pydantic_validator__ for feed, model in EVENT_TYPES.items()}
"""What ``model_validate_json`` calls, with its defaults (strict as each model says)."""


@lru_cache(maxsize=4096)
def _feed_topic(topic: str) -> FeedTopic:
    """``parse_feed_topic``, once per topic (a province's topics repeat; refusals are not
    kept); bounded, because publishers choose the topics."""
    return parse_feed_topic(topic)


def _decode(
    topic: str, payload: bytes, received_at: datetime, max_payload_bytes: int, limits: TimeLimits
) -> Event | DeadLetter:

    def dead(reason: DeadLetterReason, detail: str) -> DeadLetter:
        return DeadLetter(topic, payload, reason, detail, received_at)

    if len(payload) > max_payload_bytes:
        return dead(
            DeadLetterReason.OVERSIZED,
            f"payload is {len(payload)} bytes, the limit is {max_payload_bytes}",
        )
    try:
        where = parse_feed_topic(topic)
    except TopicError as exc:
        return dead(DeadLetterReason.UNKNOWN_TOPIC, str(exc))
    model = EVENT_TYPES[where.feed]
    try:
        event = model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as utf8_error:
                return dead(DeadLetterReason.NOT_UTF8, f"payload is not UTF-8: {utf8_error}")
            return dead(DeadLetterReason.NOT_JSON, f"payload is not JSON: {first['msg']}")
        if first["type"] == "model_type":
            return dead(DeadLetterReason.NOT_JSON, "payload is not a JSON object")
        claimed = first.get("input")
        if (
            first["loc"] == ("schema_name",)
            and isinstance(claimed, str)
            and claimed in _SCHEMA_FEEDS
        ):
            return dead(
                DeadLetterReason.TOPIC_MISMATCH,
                f"field 'schema_name': payload is a {claimed} event "
                f"but the topic is the {where.feed.value} feed",
            )
        return dead(DeadLetterReason.SCHEMA, describe_validation_error(exc))
    for name, expected in (("province", where.province), ("district", where.district)):
        actual = getattr(event, name)
        if actual != expected:
            return dead(
                DeadLetterReason.TOPIC_MISMATCH,
                f"field '{name}': payload says {actual!r} but the topic says {expected!r}",
            )
    implausible = limits.check(event, received_at)
    if implausible is not None:
        return dead(DeadLetterReason.IMPLAUSIBLE_TIME, implausible)
    return event
