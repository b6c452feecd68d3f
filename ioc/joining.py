"""Joining a running ``ioc demo`` from another terminal.

The demo starts its broker and database on ports of its own, so a second terminal needs
their URLs. While it runs, the demo writes them to ``demo.env`` in the state directory, as
the exact lines it also prints::

    # ioc demo, pid 12345, started 2026-12-01 19:30:00 +07; removed when it stops
    export IOC_MQTT_URL=mqtt://127.0.0.1:41883
    export IOC_DATABASE_URL=postgresql://postgres@127.0.0.1:45432/ioc

``source`` it in a shell, or do nothing: ``DemoEnvSource`` (a pydantic-settings source below
the environment and ``.env``) gives every other command (``ioc``, ``ioc-sim``) these values
when its own are unset, as long as the demo that wrote the file still runs. The ports are
also kept in ``demo-ports.json`` after the demo stops, and the next demo takes the same ones
again when they are free, so the lines stay true from one run to the next.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ioc.leftovers import alive

ENV_FILE = "demo.env"
PORTS_FILE = "demo-ports.json"
JOINED = ("IOC_MQTT_URL", "IOC_DATABASE_URL")


def export_lines(values: dict[str, str]) -> list[str]:
    return [f"export {name}={value}" for name, value in values.items()]


def write_env_file(state_dir: Path, values: dict[str, str], *, pid: int, started: datetime) -> Path:
    path = state_dir / ENV_FILE
    header = f"# ioc demo, pid {pid}, started {started:%Y-%m-%d %H:%M:%S %Z}; removed when it stops"
    path.write_text("\n".join([header, *export_lines(values)]) + "\n")
    path.chmod(0o600)  # the URLs may hold passwords
    return path


def remove_env_file(state_dir: Path, pid: int) -> None:
    """Remove the file if this demo (``pid``) wrote it."""
    path = state_dir / ENV_FILE
    if running_demo(state_dir) in (pid, None):
        path.unlink(missing_ok=True)


def _parse(path: Path) -> tuple[int | None, dict[str, str]]:
    try:
        text = path.read_text()
    except OSError:
        return None, {}
    pid = None
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# ioc demo, pid "):
            try:
                pid = int(line.removeprefix("# ioc demo, pid ").split(",")[0])
            except ValueError:
                pid = None
        elif line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            values[name.strip()] = value.strip()
    return pid, values


def running_demo(state_dir: Path) -> int | None:
    """The pid of the demo whose ``demo.env`` is in ``state_dir``, if it still runs."""
    pid, _ = _parse(state_dir / ENV_FILE)
    return pid if pid is not None and alive(pid, "ioc") else None


def joined_values(state_dir: Path) -> dict[str, str]:
    """The running demo's variables (none when no demo runs on ``state_dir``)."""
    pid, values = _parse(state_dir / ENV_FILE)
    if pid is None or not alive(pid, "ioc"):
        return {}
    return {name: value for name, value in values.items() if name in JOINED}


# -- stable ports -----------------------------------------------------------------------------


def _free(port: int) -> bool:
    with socket.socket() as probe:
        # as the servers bind: a port whose old connections linger in TIME_WAIT is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def preferred_port(state_dir: Path, name: str) -> int | None:
    """The port the previous demo used for ``name``, if it is free now."""
    try:
        port = int(json.loads((state_dir / PORTS_FILE).read_text())[name])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return port if 0 < port < 65536 and _free(port) else None


def remember_ports(state_dir: Path, **ports: int) -> None:
    path = state_dir / PORTS_FILE
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    known.update(ports)
    path.write_text(json.dumps(known, sort_keys=True) + "\n")


# -- the settings source ----------------------------------------------------------------------


class DemoEnvSource(PydanticBaseSettingsSource):
    """IOC_MQTT_URL and IOC_DATABASE_URL from a running demo's ``demo.env``."""

    def __init__(self, settings_cls: type[BaseSettings], state_dir: Path) -> None:
        super().__init__(settings_cls)
        self.state_dir = state_dir

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read at once in __call__

    def __call__(self) -> dict[str, Any]:
        return {
            name.removeprefix("IOC_").lower(): value
            for name, value in joined_values(self.state_dir).items()
        }
