"""`ioc demo` always stops: --duration, SIGINT and SIGTERM end it in every state, what it
started is stopped, and the servers a killed run left behind are recognised and stopped.
And it can be joined: the exact export lines, a file that the other commands read while the
demo runs, the same ports on the next run when they are free.

Real processes: the `ioc` command with its own state directory (its embedded PostgreSQL and
Mosquitto), signals sent to it, and the processes left on that directory counted with psutil.
The time limits are generous bounds on a hang, not measurements (the figures are printed).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import psutil
import pytest

from ioc.tools.local import free_port

STOP_LIMIT = 45.0
"""Seconds a stopped demo may take to end (it takes a few; this only catches a hang)."""


def demo_env(state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(
        IOC_STATE_DIR=str(state),
        IOC_INGEST_METRICS_PORT="0",
        IOC_ALERT_METRICS_PORT="0",
        IOC_LOG_LEVEL="WARNING",
        COLUMNS="100",
        **extra,
    )
    return env


def start_demo(
    state: Path, *args: str, stdout: TextIO | int = subprocess.PIPE, **env: str
) -> subprocess.Popen[str]:
    """The demo in its own session; its output piped, or to ``stdout`` (a file to read as it
    runs)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ioc.cli", "demo", "--backfill-hours", "0.2", *args],
        env=demo_env(state, **env),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def servers_on(state: Path, *, grace: float = 10.0) -> list[psutil.Process]:
    """The processes (postgres, mosquitto) whose command line names ``state`` and that are
    still there after ``grace`` seconds: ``pg_ctl stop -w`` returns once the postmaster has
    removed its pid file, a moment before the process itself has gone (longer on a busy
    machine)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(state) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    if not grace:
        return found
    _, alive = psutil.wait_procs(found, timeout=grace)
    still = []
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.status() != psutil.STATUS_ZOMBIE:
                still.append(process)
    return still


def wait_for_output(process: subprocess.Popen[str], path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo ended early"
        if text in _read(path):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not shown within {timeout}s")


def running(process: subprocess.Popen[str], path: Path) -> None:
    """Past its start: servers up, schema migrated, backfilling or live (the live view goes
    to a terminal only, so the line printed before it is the sign, then a few seconds)."""
    wait_for_output(process, path, "export IOC_DATABASE_URL=", timeout=120)
    time.sleep(6)
    assert process.poll() is None


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def ended(process: subprocess.Popen[str], started: float) -> tuple[int, str, str, float]:
    stdout, stderr = process.communicate(timeout=STOP_LIMIT)
    took = time.monotonic() - started
    print(f"ended in {took:.1f} s")
    return process.returncode, stdout, stderr, took


@pytest.fixture
def state(tmp_path: Path):
    directory = tmp_path / "state"
    yield directory
    for process in servers_on(directory, grace=0):  # never leave one behind, whatever failed
        process.kill()


def test_duration_ends_it_while_the_broker_is_unreachable(state):
    closed = free_port()
    demo = start_demo(state, "--duration", "20", IOC_MQTT_URL=f"mqtt://127.0.0.1:{closed}")
    started = time.monotonic()
    code, stdout, stderr, _ = ended(demo, started)
    assert code == 1, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(
        f"Error: cannot connect to the MQTT broker at mqtt://127.0.0.1:{closed}"
    )
    assert "Traceback" not in stderr
    assert servers_on(state) == []  # its PostgreSQL was stopped


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_it_while_the_broker_is_unreachable(state, tmp_path, sig):
    out = tmp_path / "out"
    with open(out, "w") as stdout:
        demo = start_demo(state, stdout=stdout, IOC_MQTT_URL=f"mqtt://127.0.0.1:{free_port()}")
        wait_for_output(demo, out, "waiting for the MQTT broker", timeout=60)
        started = time.monotonic()
        demo.send_signal(sig)
        code, _, stderr, _ = ended(demo, started)
    assert code == 1 and "cannot connect to the MQTT broker" in stderr, stderr
    assert "Traceback" not in stderr
    assert servers_on(state) == []


def test_sigterm_ends_it_while_live_and_stops_its_servers(state, tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as stdout:
        demo = start_demo(state, stdout=stdout)
        running(demo, out)
        assert len(servers_on(state, grace=0)) >= 2  # postgres (and its workers), mosquitto
        started = time.monotonic()
        demo.send_signal(signal.SIGTERM)
        code, _, stderr, _ = ended(demo, started)
    assert code == 0, stderr
    assert "stopped cleanly" in _read(out)
    assert servers_on(state) == []


def test_a_killed_runs_servers_are_recognised_and_stopped_by_the_next_run(state, tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as stdout:
        demo = start_demo(state, stdout=stdout)
        running(demo, out)
        demo.kill()  # kill -9: nothing of the demo runs to stop its servers
        demo.communicate(timeout=10)
    left = {p.pid for p in servers_on(state, grace=0)}
    assert left, "kill -9 should have left the servers running"

    again = start_demo(state, "--duration", "5")
    code, stdout, stderr, _ = ended(again, time.monotonic())
    assert code == 0, (stdout, stderr)
    text = " ".join(stdout.split())  # rich wraps long lines
    assert "stopped the Mosquitto an earlier run left running (pid" in text
    assert "stopped the PostgreSQL an earlier run left running (pid" in text
    assert servers_on(state) == []
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in left
    )


EXPORT = re.compile(r"^export (IOC_MQTT_URL|IOC_DATABASE_URL)=(\S+)$", re.MULTILINE)


def command(state, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        env=demo_env(state),  # no IOC_DATABASE_URL, no IOC_MQTT_URL
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_another_terminal_joins_the_demo_and_the_ports_stay(state, tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as stdout:
        demo = start_demo(state, stdout=stdout)
        running(demo, out)
        printed = dict(EXPORT.findall(out.read_text()))
        assert printed["IOC_MQTT_URL"].startswith("mqtt://127.0.0.1:")
        assert printed["IOC_DATABASE_URL"].startswith("postgresql://postgres@127.0.0.1:")
        assert dict(EXPORT.findall((state / "demo.env").read_text())) == printed

        listed = command(state, "ioc.cli", "dead-letters")
        assert listed.returncode == 0, listed.stderr
        assert "by reason" in listed.stdout
        scenario = command(
            state,
            "simulators.cli",
            "scenario",
            "feed-silent",
            "--province",
            "binh-duong",
            "--minutes",
            "1",
        )
        assert scenario.returncode == 0, scenario.stderr

        demo.send_signal(signal.SIGTERM)
        code, _, stderr, _ = ended(demo, time.monotonic())
    assert code == 0, stderr
    assert not (state / "demo.env").exists()
    alone = command(state, "ioc.cli", "dead-letters")
    assert alone.returncode == 1 and "IOC_DATABASE_URL is not set" in alone.stderr

    again = start_demo(state, "--duration", "3")
    code, stdout, stderr, _ = ended(again, time.monotonic())
    assert code == 0, stderr
    assert dict(EXPORT.findall(stdout)) == printed  # the same ports, free again
    assert servers_on(state) == []
