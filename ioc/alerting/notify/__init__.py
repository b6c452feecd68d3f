"""The notification pipeline (stages after Alertmanager's) and the notifiers.

base.py      Notification, Notifier (the port every channel implements), NotifyReason
message.py   the words: webhook JSON, e-mail subject and body (one table per language), MQTT
dedup.py     grouping and the pure send-or-hold decision (needs_update)
mute.py      silences and acknowledgements behind one Muter; a Mute says which (MuteKind) and why
retry.py     the retry stage: the only owner of backoff
stages.py    Mute, Dedup, SetNotifies, Multi and Fanout stages
nflog.py     what each channel was told, and the record of every attempt
pipeline.py  routing and grouping per subscriber; one pipeline per subscriber
webhook.py, email.py, mqtt.py   the notifiers
"""

from ioc.alerting.notify.base import Notification, Notifier, NotifyReason
from ioc.alerting.notify.dedup import Decision, Hold, Timing, needs_update
from ioc.alerting.notify.email import EmailNotifier, SmtpServer
from ioc.alerting.notify.mqtt import MqttNotifier, MqttPublisher, state_topic
from ioc.alerting.notify.mute import AckMuter, Mute, MuteKind, Muter, Muters, SilenceMuter
from ioc.alerting.notify.pipeline import Dispatcher
from ioc.alerting.notify.webhook import SIGNATURE_HEADER, WebhookNotifier, sign

__all__ = [
    "SIGNATURE_HEADER",
    "AckMuter",
    "Decision",
    "Dispatcher",
    "EmailNotifier",
    "Hold",
    "MqttNotifier",
    "MqttPublisher",
    "Mute",
    "MuteKind",
    "Muter",
    "Muters",
    "Notification",
    "Notifier",
    "NotifyReason",
    "SilenceMuter",
    "SmtpServer",
    "Timing",
    "WebhookNotifier",
    "needs_update",
    "sign",
    "state_topic",
]
