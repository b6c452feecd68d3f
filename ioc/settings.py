"""Configuration from the environment (prefix ``IOC_``), with safe defaults for local use.

Every setting is listed, with its default and meaning, in ``.env.example``; that file is the
documentation. The defaults are development defaults: a broker and a database on localhost.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

if TYPE_CHECKING:
    from ioc.models import TimeLimits


def default_state_dir() -> Path:
    """Per-user state (embedded database, broker persistence): $XDG_STATE_HOME/ioc, else
    ~/.local/state/ioc; for root /var/lib/ioc, since the database then runs as a system user
    that must reach its directory (and /root should stay closed to it)."""
    import os

    if os.environ.get("XDG_STATE_HOME"):
        return Path(os.environ["XDG_STATE_HOME"]) / "ioc"
    if os.geteuid() == 0:
        return Path("/var/lib/ioc")
    return Path.home() / ".local" / "state" / "ioc"


class MqttUrl:
    """``mqtt://user:pass@host:port`` (``mqtts://`` for TLS), split into its parts."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"MQTT URL scheme must be mqtt or mqtts, not {parts.scheme!r}")
        self.url = url
        self.tls = parts.scheme == "mqtts"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    def __repr__(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"MqttUrl('{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}')"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IOC_", env_file=".env", extra="ignore", validate_default=True
    )

    mqtt_url: SecretStr = Field(
        default=SecretStr("mqtt://127.0.0.1:1883"),
        description="Broker, mqtt://user:pass@host:port (mqtts:// for TLS).",
    )
    mqtt_protocol: int = Field(
        default=4, description="4 = MQTT 3.1.1 (fastest through paho), 5 = MQTT 5."
    )
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle for mqtts://.")
    mqtt_replay_seconds: float = Field(
        default=90.0,
        ge=0,
        description="Publishers keep acknowledged messages this long (longer than the broker's "
        "autosave_interval) and publish them again after a reconnect; 0: no replay.",
    )
    mqtt_replay_max: int = Field(
        default=500_000, ge=1, description="Acknowledged messages kept at most; beyond, wait."
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db; unset: `ioc demo` starts one.",
    )
    state_dir: Path = Field(default_factory=default_state_dir)
    timescaledb: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="`ioc db migrate` on a new database: auto (TimescaleDB when the extension "
        "can be created), on (TimescaleDB or refuse), off (plain PostgreSQL).",
    )

    ingest_client: Literal["fast", "paho"] = Field(
        default="fast",
        description="MQTT receive path: fast (asyncio + ioc.mqtt.wire) or paho (paho-mqtt).",
    )
    ingest_client_id: str = Field(
        default="ioc-ingester-1",
        description="Stable MQTT client id: the broker keeps its session's queue while away.",
    )
    ingest_shared_group: str | None = Field(
        default=None,
        description="Subscribe through $share/<group>/ so several ingesters split one stream.",
    )
    ingest_batch_size: int = Field(default=500, ge=1, le=20_000)
    ingest_flush_ms: int = Field(default=50, ge=1, le=10_000)
    ingest_linger_ms: int = Field(
        default=20,
        ge=0,
        le=10_000,
        description="How long a batch that is not full waits for more messages (0: never).",
    )
    ingest_writers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Batches written at once, one database connection each; acks stay in order.",
    )
    ingest_max_pending: int = Field(
        default=2000,
        ge=1,
        description="Messages received but not yet committed; past it the ingester stops reading.",
    )
    ingest_max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    ingest_earliest: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events with a date before this are dead-lettered (implausible_time).",
    )
    ingest_max_future_hours: float = Field(
        default=24.0,
        gt=0,
        description="occurred_at, submitted_at, reported_at at most this far after arrival.",
    )
    ingest_max_deadline_days: int = Field(
        default=3650, ge=1, description="due_at at most this many days after arrival."
    )
    ingest_metrics_port: int = Field(
        default=9108, ge=0, le=65535, description="0 disables /metrics."
    )
    ingest_metrics_host: str = "127.0.0.1"
    ingest_rollup_refresh_seconds: float = Field(
        default=10.0,
        ge=0.1,
        le=3600.0,
        description="How often the ingester brings the dashboards' rollups up to date.",
    )

    alert_rules: Path | None = Field(
        default=None,
        description="Your rule file, or a directory of *.yml rule files (alerts/rules.yml format).",
    )
    alert_default_rules: bool = Field(
        default=True, description="Also load the shipped alerts/rules.yml."
    )
    alert_subscribers: Path | None = Field(
        default=None,
        description="Subscriber file (alerts/subscribers.example.yml format); unset: no notices.",
    )
    alert_interval_seconds: float = Field(default=15.0, ge=1.0, le=3600.0)
    alert_data_allowance_seconds: float = Field(
        default=10.0,
        ge=0.0,
        le=3600.0,
        description="A pass judges nothing while the stored data is complete only up to "
        "longer ago than this (a backfill in progress, an ingester catching up or stopped).",
    )
    alert_dashboard_url: str = Field(
        default="http://localhost:3000/d/ioc-overview",
        description="The dashboard a notification links to (with ?var-province=...).",
    )
    alert_smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:port (smtps:// for implicit TLS); unset: no e-mail.",
    )
    alert_smtp_starttls: bool = Field(default=False, description="Require STARTTLS on smtp://.")
    alert_smtp_from: str = Field(default="IOC Alerts <ioc-alerts@localhost>")
    alert_mqtt_client_id: str = Field(default="ioc-alerter-1")
    alert_metrics_port: int = Field(default=9109, ge=0, le=65535, description="0 disables.")
    alert_metrics_host: str = "127.0.0.1"

    log_level: str = Field(default="WARNING")

    @field_validator("ingest_earliest")
    @classmethod
    def _check_earliest(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must have a UTC offset, e.g. 2000-01-01T00:00:00+00:00")
        return value

    def time_limits(self) -> TimeLimits:
        from ioc.models import TimeLimits

        return TimeLimits(
            earliest=self.ingest_earliest,
            max_future=timedelta(hours=self.ingest_max_future_hours),
            max_deadline=timedelta(days=self.ingest_max_deadline_days),
        )

    @field_validator("mqtt_protocol")
    @classmethod
    def _check_protocol(cls, value: int) -> int:
        if value not in (4, 5):
            raise ValueError("must be 4 (MQTT 3.1.1) or 5 (MQTT 5)")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: SecretStr) -> SecretStr:
        MqttUrl(value.get_secret_value())
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from ioc.connect import check_database_url

            check_database_url(value.get_secret_value())
        return value

    @field_validator("alert_smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = urlsplit(value.get_secret_value()).scheme
            if scheme not in ("smtp", "smtps"):
                raise ValueError(f"SMTP URL scheme must be smtp or smtps, not {scheme!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Below the environment and .env: a running ``ioc demo``'s URLs (ioc/joining.py)."""
        from ioc.joining import DemoEnvSource

        state_dir = os.environ.get("IOC_STATE_DIR")
        joined = DemoEnvSource(settings_cls, Path(state_dir) if state_dir else default_state_dir())
        return init_settings, env_settings, dotenv_settings, joined, file_secret_settings

    @property
    def mqtt(self) -> MqttUrl:
        return MqttUrl(self.mqtt_url.get_secret_value())

    def dsn(self) -> str:
        if self.database_url is None:
            raise RuntimeError("IOC_DATABASE_URL is not set")
        return self.database_url.get_secret_value()
