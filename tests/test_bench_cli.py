"""``ioc bench`` options and report shape, and one tiny real run that the figures are measured
(never their values: benchmarks print figures, tests do not time anything)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

from click.testing import CliRunner

from ioc.cli import main
from ioc.tools.bench import MQB_TABLES, Figures, null_consumer_counts, report


def test_bench_help_lists_the_modes() -> None:
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--rate", "--workers", "--outage", "--compare", "mq-bridge"):
        assert option in result.output


def test_report_names_the_measured_process() -> None:
    figures = Figures(
        published=10,
        stored=9,
        lost=1,
        duplicated=0,
        publish_seconds=1.0,
        store_seconds=2.0,
        latency_p50_ms=1.0,
        latency_p95_ms=2.0,
        latency_p99_ms=3.0,
        peak_rss_mb=50.0,
        cpu_us_per_event=10.0,
        broker_cpu_us_per_event=4.0,
        postgres_cpu_us_per_event=6.0,
    )
    text = report(figures, "title", who="mq-bridge")
    assert "mq-bridge peak RSS" in text and "mq-bridge CPU" in text
    assert "lost                          1" in text
    assert "whole box CPU              20.0 µs/event" in text


def test_mq_bridge_rows_are_matched_by_the_payload_event_id() -> None:
    (table, id_sql, _time_sql) = MQB_TABLES[0]
    assert table == "mqb_messages" and "event_id" in id_sql


def test_the_broker_ceiling_run_counts_lost_and_duplicated_by_event_id(tmp_path) -> None:
    """``mosquitto_sub -F '%U %p'`` lines: arrival time, then the payload."""
    output = tmp_path / "mosquitto_sub.out"
    lines = [(10.5, "a"), (10.7, "b"), (10.9, "b"), (11.25, "x")]
    output.write_bytes(
        b"".join(f'{t} {{"event_id": "{i}", "amount": 1}}\n'.encode() for t, i in lines)
    )
    sent = {"a": 10.0, "b": 10.5, "c": 10.5}
    tally = null_consumer_counts(output, sent)
    assert (tally.received, tally.lost, tally.duplicated, tally.last) == (4, 1, 1, 11.25)
    assert [round(v) for v in tally.latencies_ms] == [200, 400, 500]


def test_a_tiny_real_bench_prints_the_whole_box_cpu_per_event() -> None:
    """``ioc bench`` on a real Mosquitto and PostgreSQL prints broker, PostgreSQL and box CPU.

    Only that each figure is measured (a finite, non-negative number) and that the box is
    their sum; their values are never asserted.
    """
    result = subprocess.run(
        [sys.executable, "-m", "ioc.cli", "bench", "--events", "300", "--publishers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, IOC_LOG_LEVEL="WARNING"),
    )
    assert result.returncode == 0, result.stderr
    figures = {
        name: float(match)
        for name, match in re.findall(
            r"^  (ingester CPU|broker CPU|PostgreSQL CPU|whole box CPU)\s+([\d.,]+) µs/event",
            result.stdout,
            re.MULTILINE,
        )
    }
    assert set(figures) == {"ingester CPU", "broker CPU", "PostgreSQL CPU", "whole box CPU"}
    assert all(math.isfinite(value) and value >= 0 for value in figures.values())
    parts = figures["ingester CPU"] + figures["broker CPU"] + figures["PostgreSQL CPU"]
    assert abs(figures["whole box CPU"] - parts) <= 0.2  # each printed to 0.1 µs
    assert "stored" in result.stdout and "lost                          0" in result.stdout
