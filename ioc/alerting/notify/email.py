"""E-mail notifier over SMTP (aiosmtplib): UTF-8 subject and body, STARTTLS optional.

Errors: an SMTP 4xx reply, a timeout, a refused or dropped connection is retryable; an SMTP
5xx reply or every recipient refused is permanent.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from ioc.alerting.errors import PermanentNotifyError, RetryableNotifyError
from ioc.alerting.notify.base import Notification
from ioc.alerting.notify.message import email_body, email_subject


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    """Implicit TLS from the first byte (smtps://, usually port 465)."""
    start_tls: bool = False
    """Upgrade with STARTTLS after connecting (usually port 587); required when true."""
    timeout: float = 15.0


def build_message(n: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email_subject(n)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(n.created_at)
    message["Message-ID"] = make_msgid(idstring=str(n.id), domain="ioc.alerts")
    message["X-IOC-Notification-Id"] = str(n.id)
    message.set_content(email_body(n), charset="utf-8")
    return message


class EmailNotifier:
    kind = "email"

    def __init__(self, server: SmtpServer, recipients: list[str]) -> None:
        self.server = server
        self.recipients = recipients

    async def notify(self, notification: Notification) -> None:
        s = self.server
        message = build_message(notification, s.sender, self.recipients)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentNotifyError(f"every recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            error = RetryableNotifyError if 400 <= exc.code < 500 else PermanentNotifyError
            raise error(f"SMTP {exc.code}: {exc.message}") from exc
        except (
            TimeoutError,
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPServerDisconnected,
            OSError,
        ) as exc:
            raise RetryableNotifyError(f"{type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:  # STARTTLS or AUTH not supported: config
            raise PermanentNotifyError(f"{type(exc).__name__}: {exc}") from exc
