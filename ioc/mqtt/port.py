"""The receive seam: MQTT messages in, acknowledgements out, only after the commit.

``MessageSource`` is the port the ingester depends on, ``Received`` what it receives; no
client library's types pass it. ``FastSource`` (``ioc.mqtt.subscriber``, the default) and
``PahoSource`` (``ioc.mqtt.paho``) implement it; a test's source is a small class of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, Self

__all__ = ["MessageSource", "Received"]


@dataclass(slots=True)
class Received:
    """One MQTT message as the rest of the service sees it (no paho types past this module)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int
    received_at: float


class MessageSource(Protocol):
    client_id: str
    state: str | None
    """The connection's state as last logged ("connected", or why not); None at first."""
    connected: bool
    subscribed: bool
    """True once the broker has granted the subscription (SUBACK) on the current connection.

    Until then a persistent session that is new has no subscription, and messages published
    meanwhile are not queued for it: whoever starts publishers should wait for this."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def batch(self, max_size: int, max_wait: float) -> list[Received]:
        """Wait up to ``max_wait`` s for a first message; return it with all that are queued."""
        ...

    def ack(self, messages: Iterable[Received]) -> int:
        """Acknowledge committed messages (and free their slots); returns how many were sent."""
        ...

    def release(self, messages: Iterable[Received]) -> None:
        """Free the slots of messages given up unacknowledged (the broker redelivers them)."""
        ...

    def pending(self) -> int:
        """Messages received and not yet acknowledged or dropped."""
        ...

    def queued(self) -> int:
        """Messages received and not yet taken by ``batch``."""
        ...
