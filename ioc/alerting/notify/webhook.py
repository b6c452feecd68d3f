"""Webhook notifier: POST the notification as JSON, signed with HMAC-SHA256.

Headers: ``X-IOC-Signature-256: sha256=<hex HMAC-SHA256 of the exact body bytes>`` with the
subscriber's secret (from the environment variable its channel names), and
``X-IOC-Notification-Id`` (the same for every attempt of one notification, so a receiver can
ignore a retry of something it already took). A receiver verifies with::

    hmac.compare_digest(header, "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest())

Errors: a timeout, a connection error, HTTP 5xx, 408 or 429 is retryable; any other status
outside 2xx (4xx, a redirect) is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from ioc.alerting.errors import PermanentNotifyError, RetryableNotifyError
from ioc.alerting.notify.base import Notification
from ioc.alerting.notify.message import webhook_payload

SIGNATURE_HEADER = "X-IOC-Signature-256"
ID_HEADER = "X-IOC-Notification-Id"
_RETRYABLE_STATUS = frozenset({408, 429})


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    kind = "webhook"

    def __init__(
        self, url: str, secret: bytes, *, client: httpx.AsyncClient, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.secret = secret
        self.client = client
        self.timeout = timeout

    async def notify(self, notification: Notification) -> None:
        body = json.dumps(
            webhook_payload(notification), ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "ioc-alerter/1",
            SIGNATURE_HEADER: sign(self.secret, body),
            ID_HEADER: str(notification.id),
        }
        try:
            response = await self.client.post(
                self.url, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException as exc:
            raise RetryableNotifyError(f"no answer within {self.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise RetryableNotifyError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"HTTP {status} {response.reason_phrase}: {response.text[:200]!r}"
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise RetryableNotifyError(detail)
        raise PermanentNotifyError(detail)
