"""Servers left running by a run that was killed (kill -9, a closed terminal).

``ioc demo`` starts its PostgreSQL and Mosquitto in the state directory. If the demo is
killed, they go on running (each in its own session), and the next start would fail on the
data directory's lock (``pg_ctl: another server might be running``) or share the broker's
persistence file. Each server therefore leaves a pid file with its pid and port (PostgreSQL's
own ``postmaster.pid``; ``mosquitto.pid`` written beside the broker's state), and a start
first looks for one: a process that is still alive and is that server is stopped, and the
caller gets one line saying which (pid, port, directory). A pid file whose process is gone is
stale and ignored.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Leftover:
    pid: int
    port: int | None


def alive(pid: int, name: str) -> bool:
    """True when ``pid`` runs and its command line names ``name`` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return name.encode() in cmdline


def postgres_leftover(data_dir: Path) -> Leftover | None:
    """The PostgreSQL server still running on ``data_dir`` (from its postmaster.pid)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        port: int | None = int(lines[3])
    except (ValueError, IndexError):
        port = None
    return Leftover(pid, port) if alive(pid, "postgres") else None


def write_pid_file(path: Path, pid: int, port: int) -> None:
    path.write_text(f"{pid}\n{port}\n")


def pid_file_leftover(path: Path, name: str) -> Leftover | None:
    """The process of a pid file written by ``write_pid_file``, if it is still ``name``."""
    try:
        pid_text, port_text = path.read_text().split()[:2]
        pid, port = int(pid_text), int(port_text)
    except (OSError, ValueError):
        return None
    return Leftover(pid, port) if alive(pid, name) else None


def terminate(pid: int, name: str, timeout: float = 15.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True once the process is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, name):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    time.sleep(0.5)
    return not alive(pid, name)


def describe(what: str, leftover: Leftover, where: Path) -> str:
    port = f", port {leftover.port}" if leftover.port else ""
    return f"stopped the {what} an earlier run left running (pid {leftover.pid}{port}, {where})"
