"""The MQTT topic layout.

Feeds publish to ``ioc/v1/{province}/{feed}/{district}``, for example
``ioc/v1/ba-ria-vung-tau/payment/vung-tau``. Alerts go to ``ioc/alerts/v1/{province}/{rule}``
and scenario commands for the simulators to ``ioc/control/v1/scenario``, outside the feed
tree: the ingester subscribes to all of ``ioc/v1/#``, so that a message on a misspelt feed
topic is dead-lettered rather than never seen. The version segment lets a v2 payload live
beside v1 during a migration; the province, feed and district segments let a subscriber (or
an ACL) take exactly what it needs with wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "ioc"
VERSION = "v1"
FEED_FILTER = f"{ROOT}/{VERSION}/#"
"""What the ingester subscribes to: every feed topic, and any malformed topic under it."""
CONTROL_TOPIC = f"{ROOT}/control/{VERSION}/scenario"

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


class Feed(StrEnum):
    """The three feeds: a segment of their topics, and the ``feed`` of each event model."""

    DOSSIER = "dossier"
    PAYMENT = "payment"
    INCIDENT = "incident"


class TopicError(ValueError):
    """A topic that is not part of the layout."""


@dataclass(frozen=True, slots=True)
class FeedTopic:
    province: str
    feed: Feed
    district: str

    def __str__(self) -> str:
        return feed_topic(self.province, self.feed, self.district)


def feed_topic(province: str, feed: Feed | str, district: str) -> str:
    return f"{ROOT}/{VERSION}/{province}/{Feed(feed).value}/{district}"


def alert_topic(province: str, rule: str) -> str:
    return f"{ROOT}/alerts/{VERSION}/{province}/{rule}"


def parse_feed_topic(topic: str) -> FeedTopic:
    """Split a feed topic into its parts, or raise ``TopicError`` saying what is wrong."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != ROOT:
        raise TopicError(f"topic {topic!r} is not {ROOT}/{VERSION}/<province>/<feed>/<district>")
    _, version, province, feed, district = parts
    if version != VERSION:
        raise TopicError(f"topic version {version!r} is not supported (expected {VERSION!r})")
    try:
        feed_value = Feed(feed)
    except ValueError:
        known = ", ".join(f.value for f in Feed)
        raise TopicError(f"unknown feed {feed!r} in topic (known: {known})") from None
    for name, value in (("province", province), ("district", district)):
        if not _SLUG.match(value):
            raise TopicError(f"{name} segment {value!r} of the topic is not a lower-case slug")
    return FeedTopic(province, feed_value, district)
