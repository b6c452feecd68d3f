"""One line for every mistake with a port, a file or a setting: which setting, what is wrong,
what to do; exit status 1, no traceback (IOC_LOG_LEVEL=DEBUG logs it).

The database's own cases (closed port, a mysql:// URL, a missing database, a refused login)
are in test_cli_errors.py; these are the settings around it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from ioc.cli import main
from tests.test_cli_errors import assert_one_line, run_command


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.db
def test_a_taken_ingest_metrics_port_names_the_variable(database, broker, taken_port):
    result = run_command(
        ["ingest"],
        database,
        IOC_MQTT_URL=broker.url,
        IOC_INGEST_METRICS_PORT=str(taken_port),
    )
    assert_one_line(
        result,
        f"IOC_INGEST_METRICS_PORT={taken_port}",
        "already in use",
        "IOC_INGEST_METRICS_PORT=0",
    )


@pytest.mark.db
def test_a_taken_alert_metrics_port_names_the_variable(database, broker, taken_port):
    result = run_command(
        ["alert", "run"], database, IOC_MQTT_URL=broker.url, IOC_ALERT_METRICS_PORT=str(taken_port)
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    notice, error = result.output.strip().splitlines()  # the start's notice, then the error
    assert notice.startswith("no subscribers")
    assert error.startswith(f"Error: IOC_ALERT_METRICS_PORT={taken_port}: port {taken_port}")
    assert "already in use" in error


@pytest.mark.db
@pytest.mark.parametrize("variable", ["IOC_ALERT_RULES", "IOC_ALERT_SUBSCRIBERS"])
def test_a_missing_alert_file_names_the_variable_and_the_file(database, tmp_path, variable):
    missing = tmp_path / "nope.yml"
    result = run_command(["alert", "run", "--once"], database, **{variable: str(missing)})
    assert_one_line(result, f"{variable}={missing}", "does not exist")


def test_a_state_directory_that_cannot_be_made_names_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    state = blocker / "state"
    result = CliRunner().invoke(
        main,
        ["demo", "--duration", "1"],
        env={"IOC_DATABASE_URL": None, "IOC_MQTT_URL": None, "IOC_STATE_DIR": str(state)},
    )
    assert_one_line(result, f"IOC_STATE_DIR={state}", "not a directory")


@pytest.mark.db
def test_debug_logging_shows_the_traceback_too(database, broker, taken_port):
    result = run_command(
        ["ingest"],
        database,
        IOC_MQTT_URL=broker.url,
        IOC_INGEST_METRICS_PORT=str(taken_port),
        IOC_LOG_LEVEL="DEBUG",
    )
    assert result.exit_code == 1
    assert "Traceback" in result.output and "Errno 98" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: IOC_INGEST_METRICS_PORT=")
